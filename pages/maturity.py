"""Maturity: the level 0-4 computed from evidence in the store, each criterion's evidence, and what is next."""

import pandas as pd
import streamlit as st

from app import session, widgets
from review_store.dashboards import maturity
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError

actor = session.require_actor()
st.title("Maturity")
with read_session(session.engine()) as db:
    report = maturity.assess(db)
    answers = maturity.latest_answers(db)
st.metric("Level", f"{report.level} · {report.name}", border=True)
st.caption(
    "A level counts only when all its criteria and those of every lower level hold: climb one at a time."
)
if report.next_steps:
    st.subheader(f"To reach level {report.level + 1} ({maturity.LEVELS[report.level + 1]})")
    for step in report.next_steps:
        st.checkbox(step, value=False, disabled=True, key=f"mat_step_{step[:40]}")
frame = pd.DataFrame(
    [
        {
            "level": c.level,
            "criterion": c.label,
            "met": "yes" if c.met else "no",
            "evidence": c.evidence,
            "missing": c.missing,
        }
        for c in report.criteria
    ]
)
st.subheader("Criteria and evidence")
widgets.table_with_download(frame, key="maturity_criteria", file_name="maturity.csv")
st.subheader("Questionnaire (what the store cannot see)")
can_answer = actor.can("answer_maturity")
with st.form("maturity_questions"):
    picked = {}
    for key, question in maturity.QUESTIONS.items():
        current = answers.get(key, {}).get("value")
        picked[key] = st.radio(
            question,
            ["yes", "no"],
            index=None if current is None else (0 if current else 1),
            key=f"mat_q_{key}",
            horizontal=True,
            disabled=not can_answer,
        )
    submitted = st.form_submit_button("Save answers", disabled=not can_answer)
if submitted:
    try:
        with session_scope(session.engine()) as db:
            for key, value in picked.items():
                if value is not None and (answers.get(key, {}).get("value") != (value == "yes")):
                    maturity.answer(db, actor=actor, question_key=key, value=value == "yes")
        st.success("Answers saved and audited.")
        st.rerun()
    except ReviewStoreError as exc:
        st.error(str(exc))
