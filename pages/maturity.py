"""Maturity: the level 0-4 computed from evidence in the store, each criterion's evidence, and what is next."""

import streamlit as st

from app import charts, formatting, session, widgets
from review_store.desk import ReviewStoreError
from review_store.desk.dashboards import LEVELS as levels

actor = session.require_actor()
st.title("Maturity")
report = session.desk().dashboards.maturity()  # as of the desk's clock now
st.metric("Level", f"{report.level} · {report.name}", border=True)
st.caption(
    "A level counts only when all its criteria and those of every lower level hold: climb one at a time."
)
if report.next_steps:
    st.subheader(f"To reach level {report.next_level} ({report.next_name})")
    for step in report.next_steps:
        st.checkbox(step, value=False, disabled=True, key=f"mat_step_{step[:40]}")
st.subheader("Criteria and evidence")
for level in sorted({c.level for c in report.criteria}):
    st.markdown(f"**Level {level} · {levels.get(level, '')}**")
    for c in (c for c in report.criteria if c.level == level):
        icon = ":material/check_circle:" if c.met else ":material/radio_button_unchecked:"
        todo = "" if c.met else f" To do: {formatting.inert(formatting.sentence(c.missing))}"
        st.markdown(
            f"{icon} {formatting.inert(c.label)}: {formatting.inert(formatting.sentence(c.evidence, capitalise=False))}{todo}"
        )
table = charts.frame(report.criteria).drop(columns=["key"])
table["met"] = table["met"].map({True: "yes", False: "no"})
with st.expander("Criteria as a table"):
    widgets.table_with_download(
        table.rename(columns={"label": "criterion"}), key="maturity_criteria", file_name="maturity.csv"
    )
st.subheader("Questionnaire (what the store cannot see)")
can_answer = actor.can("answer_maturity")
with st.form("maturity_questions"):
    picked = {}
    for q in report.questions:
        picked[q.key] = st.radio(
            q.question,
            ["yes", "no"],
            index=None if q.answer is None else (0 if q.answer else 1),
            key=f"mat_q_{q.key}",
            horizontal=True,
            disabled=not can_answer,
            help=None
            if q.answered_by is None
            else f"answered by {q.answered_by} at {q.answered_at:%Y-%m-%d}",
        )
    submitted = st.form_submit_button("Save answers", disabled=not can_answer)
if submitted:
    try:
        session.desk().dashboards.answer_maturity(
            actor=actor, answers={key: value == "yes" for key, value in picked.items() if value is not None}
        )
    except ReviewStoreError as exc:
        st.error(str(exc))
    else:
        st.session_state["maturity_saved"] = True
        st.rerun()
if st.session_state.pop("maturity_saved", False):
    st.success("Answers saved and audited.")
