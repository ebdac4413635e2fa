"""Adjudication: a lead sees every answer of a disagreeing item side by side and records the final label."""

import pandas as pd
import streamlit as st

from app import pair_view, review_form, session, trace_card
from review_store.desk import ReviewStoreError

actor = session.require_actor()
desk = session.desk()
st.title("Adjudication")

pending = desk.review.adjudication_queue()
if not pending:
    st.success("No disagreements waiting.")
    st.stop()
st.caption(
    f"{len(pending)} items whose reviewers disagreed (a rating 2+ points apart or different labels). "
    "The final label is stored apart; the individual labels stay as they are."
)
by_id = {case.item_id: case for case in pending}
item_id = st.selectbox("Item", list(by_id), format_func=lambda i: f"#{i} · {by_id[i].trace}", key="adj_item")
case = by_id[item_id]
card = desk.review.item(item_id)
if card.pair is not None:  # a shadow pair: the outputs in the positions the reviewers answered about
    pair_view.blind_card(card)
    right = st.container()
else:
    left, right = st.columns([3, 2])
    with left:
        trace_card.render(card)
with right:
    side = pd.DataFrame({lab.reviewer: {a.key: str(a.value) for a in lab.answers} for lab in case.labels})
    side.insert(0, "disagree", ["differs" if k in case.disagree else "" for k in side.index])
    st.dataframe(side, width="stretch")
    for lab in case.labels:
        if lab.correction:
            st.caption(f"Correction by {lab.reviewer}")
            st.code(lab.correction, language=None, wrap_lines=True)
    sent, answers, _, _ = review_form.rubric_form(item_id, case.rubric.questions, asked=case.asked)
    note = st.text_area("Adjudication note", key=f"adj_note_{item_id}")
    if sent:
        try:
            desk.review.adjudicate(
                actor=actor, item_id=item_id, answers=answers, note=note, rubric_id=case.rubric.id
            )
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.rerun()
