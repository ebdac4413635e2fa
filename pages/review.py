"""Review: label the next item against the rubric, blind to the judge until the label is submitted."""

import time

import pandas as pd
import streamlit as st

from app import pair_view, review_form, session, state, trace_card, widgets
from review_store.desk import ReviewStoreError

actor = session.require_actor()
desk = session.desk()
st.title("Review")


def _progress() -> None:
    numbers = desk.review.progress(actor)
    c1, c2 = st.columns(2)
    c1.metric("Done today", numbers.done_today, border=True)
    c2.metric("Left in queue", numbers.left_in_queue, border=True)


def _act(action, message: str, **kwargs) -> None:
    try:
        action(actor=actor, **kwargs)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    st.session_state[state.FLASH] = message
    st.rerun()


if flash := st.session_state.pop(state.FLASH, None):
    st.success(flash)

submitted = st.session_state.get(state.REVIEW_SUBMITTED)
if submitted is not None:
    _progress()
    shown = desk.review.after_submit(actor=actor, item_id=submitted)
    st.success(f"Label saved for {shown.trace} (rubric version {shown.rubric_version}).")
    if shown.pair is not None:
        pair_view.reveal(shown.pair)
    review_form.judge_comparison(shown)
    if st.button("Next item", type="primary", shortcut="N", key="review_next"):
        st.session_state.pop(state.REVIEW_SUBMITTED, None)
        st.rerun()
    st.stop()

try:
    claim = desk.review.claim(actor=actor)
except ReviewStoreError as exc:
    st.error(str(exc))
    st.stop()

_progress()
card, rubric = claim.item, claim.rubric
if card is None:
    st.success("Nothing left in your queue. Thank you!")
else:
    item_id = card.item.id
    if st.session_state.get(state.REVIEW_ITEM) != item_id:
        st.session_state[state.REVIEW_ITEM] = item_id
        st.session_state[state.REVIEW_STARTED] = time.time()
        st.session_state[review_form.FOCUS] = 0
    paired = card.pair is not None
    if paired:  # A and B side by side across the page, no release named; the form below them
        pair_view.blind_card(card)
        form_area = st.container()
    else:
        card_area, form_area = st.columns([3, 2])
        with card_area:
            trace_card.render(card)
    with form_area:
        blind = "the judge's verdict" + (" and the releases behind A and B are" if paired else " is")
        st.caption(f"Rubric {rubric.label} · {blind} shown after you submit")
        review_form.digit_keys(item_id, rubric.questions, claim.asked)
        sent, answers, correction, add_golden = review_form.rubric_form(
            item_id, rubric.questions, card.trace.markable, asked=claim.asked
        )
        reason = st.text_input("Reason (for flag or escalate)", key="review_reason")
        c1, c2, c3 = st.columns(3)
        if c1.button("Skip", shortcut="S", key="review_skip"):
            _act(desk.review.skip, "Skipped.", item_id=item_id)
        if c2.button("Flag", shortcut="F", key="review_flag"):
            _act(desk.review.flag, "Flagged for the escalation list.", item_id=item_id, note=reason)
        if c3.button("Escalate", shortcut="E", key="review_escalate"):
            _act(
                desk.review.escalate,
                "Escalated.",
                item_id=item_id,
                reason=reason or "escalated by a reviewer",
            )
    if sent:
        seconds = time.time() - st.session_state.get(state.REVIEW_STARTED, time.time())
        try:
            desk.review.submit(
                actor=actor,
                item_id=item_id,
                rubric_id=rubric.id,
                answers=answers,
                correction=correction,
                seconds_spent=seconds,
            )
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            if add_golden:
                try:
                    desk.golden.promote(actor=actor, item_id=item_id, expected_output=correction or None)
                except ReviewStoreError as exc:
                    st.session_state[state.FLASH] = f"Label saved, but not added to the golden set: {exc}"
            st.session_state[state.REVIEW_SUBMITTED] = item_id
            st.rerun()

if actor.can("adjudicate"):
    with st.expander("Team progress"):
        team = desk.review.team_progress(actor=actor)
        per_reviewer = pd.DataFrame([r.to_json() for r in team.reviewers])
        per_queue = pd.DataFrame([q.to_json() for q in team.queues])
        widgets.table_with_download(
            per_reviewer, key="progress_reviewer", file_name="progress_by_reviewer.csv"
        )
        widgets.table_with_download(per_queue, key="progress_queue", file_name="progress_by_queue.csv")
