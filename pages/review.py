"""Review: label the next item against the rubric, blind to the judge until the label is submitted."""

import time

import pandas as pd
import streamlit as st

from app import review_form, session, state, trace_card, widgets
from review_store import escalations, golden, judge, queue
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError

actor = session.require_actor()
engine = session.engine()
st.title("Review")


def _progress() -> None:
    with read_session(engine) as db:
        numbers = queue.progress(db, actor=actor)
    c1, c2 = st.columns(2)
    c1.metric("Done today", numbers["done_today"], border=True)
    c2.metric("Left in queue", numbers["left_in_queue"], border=True)


def _act(fn, message: str, **kwargs) -> None:
    try:
        with session_scope(engine) as db:
            fn(db, actor=actor, **kwargs)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    st.session_state[state.FLASH] = message
    st.rerun()


if flash := st.session_state.pop(state.FLASH, None):
    st.success(flash)

submitted = st.session_state.get(state.REVIEW_SUBMITTED)
if submitted:
    _progress()
    st.success(f"Label saved for {submitted['trace']} (rubric version {submitted['rubric_version']}).")
    with read_session(engine) as db:
        verdicts = judge.verdicts_for_trace(db, trace_id=submitted["trace_id"])
    review_form.judge_comparison(submitted["questions"], submitted["answers"], verdicts)
    if st.button("Next item (N)", type="primary", shortcut="N", key="review_next"):
        st.session_state.pop(state.REVIEW_SUBMITTED, None)
        st.rerun()
    st.stop()

try:
    with session_scope(engine) as db:
        item = queue.next_item(db, actor=actor)
        item_id = item.id if item else None
        rubric = queue.active_rubric(db)
        rubric_id, rubric_version, questions = rubric.id, rubric.version, list(rubric.questions)
        view = queue.item_view(db, item_id=item_id) if item_id else None
except ReviewStoreError as exc:
    st.error(str(exc))
    st.stop()

_progress()
if item_id is None:
    st.success("Nothing left in your queue. Thank you!")
else:
    if st.session_state.get(state.REVIEW_ITEM) != item_id:
        st.session_state[state.REVIEW_ITEM] = item_id
        st.session_state[state.REVIEW_STARTED] = time.time()
        st.session_state[review_form.FOCUS] = 0
    left, right = st.columns([3, 2])
    with left:
        trace_card.render(view)
    with right:
        st.caption(f"Rubric {rubric.name} v{rubric_version} · the judge's verdict is shown after you submit")
        review_form.digit_keys(item_id, questions)
        sent, answers, correction, add_golden = review_form.rubric_form(item_id, questions)
        reason = st.text_input("Reason (for flag or escalate)", key="review_reason")
        c1, c2, c3 = st.columns(3)
        if c1.button("Skip (S)", shortcut="S", key="review_skip"):
            _act(queue.skip, "Skipped.", item_id=item_id)
        if c2.button("Flag (F)", shortcut="F", key="review_flag"):
            _act(queue.flag, "Flagged for the escalation list.", item_id=item_id, note=reason)
        if c3.button("Escalate (E)", shortcut="E", key="review_escalate"):
            _act(queue.escalate, "Escalated.", item_id=item_id, reason=reason or "escalated by a reviewer")
    if sent:
        seconds = time.time() - st.session_state.get(state.REVIEW_STARTED, time.time())
        try:
            with session_scope(engine) as db:
                queue.submit_label(
                    db,
                    actor=actor,
                    item_id=item_id,
                    rubric_id=rubric_id,
                    answers=answers,
                    correction=correction,
                    seconds_spent=seconds,
                )
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            if add_golden:
                try:
                    with session_scope(engine) as db:
                        golden.promote(db, actor=actor, item_id=item_id, expected_output=correction or None)
                except ReviewStoreError as exc:
                    st.session_state[state.FLASH] = f"Label saved, but not added to the golden set: {exc}"
            st.session_state[state.REVIEW_SUBMITTED] = {
                "item_id": item_id,
                "trace_id": view["trace"]["id"],
                "trace": view["trace"]["external_id"],
                "rubric_version": rubric_version,
                "questions": questions,
                "answers": {k: v for k, v in answers.items()},
            }
            st.rerun()

if actor.can("adjudicate"):
    with st.expander("Team progress"):
        with read_session(engine) as db:
            per_reviewer = pd.DataFrame(escalations.progress_by_reviewer(db))
            per_queue = pd.DataFrame(escalations.progress_by_queue(db))
        widgets.table_with_download(
            per_reviewer, key="progress_reviewer", file_name="progress_by_reviewer.csv"
        )
        widgets.table_with_download(per_queue, key="progress_queue", file_name="progress_by_queue.csv")
