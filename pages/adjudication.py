"""Adjudication: a lead sees every answer of a disagreeing item side by side and records the final label."""

import pandas as pd
import streamlit as st

from app import review_form, session, trace_card
from review_store import escalations, queue, rubrics
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError

actor = session.require_actor()
engine = session.engine()
st.title("Adjudication")

with read_session(engine) as db:
    pending = escalations.adjudication_list(db)
if not pending:
    st.success("No disagreements waiting.")
    st.stop()
st.caption(
    f"{len(pending)} items whose reviewers disagreed (a rating 2+ points apart or different labels). "
    "The final label is stored apart; the individual labels stay as they are."
)
by_id = {row["item_id"]: row for row in pending}
item_id = st.selectbox(
    "Item", list(by_id), format_func=lambda i: f"#{i} · {by_id[i]['trace']}", key="adj_item"
)
row = by_id[item_id]
with read_session(engine) as db:
    view = queue.item_view(db, item_id=item_id)
    rubric = rubrics.get(db, row["labels"][-1]["rubric_id"])
    rubric_id, questions = rubric.id, list(rubric.questions)
    disagree = escalations.disagreement_of(db, item_id=item_id)
left, right = st.columns([3, 2])
with left:
    trace_card.render(view)
with right:
    side = pd.DataFrame(
        {lab["reviewer"]: {k: str(v) for k, v in lab["answers"].items()} for lab in row["labels"]}
    )
    side.insert(0, "disagree", ["⚠️" if k in disagree else "" for k in side.index])
    st.dataframe(side, width="stretch")
    for lab in row["labels"]:
        if lab["correction"]:
            st.caption(f"Correction by {lab['reviewer']}")
            st.code(lab["correction"], language=None, wrap_lines=True)
    sent, answers, _, _ = review_form.rubric_form(item_id, questions)
    note = st.text_area("Adjudication note", key=f"adj_note_{item_id}")
    if sent:
        try:
            with session_scope(engine) as db:
                escalations.adjudicate(
                    db, actor=actor, item_id=item_id, answers=answers, note=note, rubric_id=rubric_id
                )
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.rerun()
