"""The rubric form of the Review page, its digit keys, and the after-submit judge comparison.

Keyboard: digits answer the focused question (a rating takes the digit as its value, a label question
takes its n-th option) and move focus to the next one; Ctrl+Enter submits; S skips, F flags, E escalates.
These use Streamlit's native `shortcut=` on buttons, no hand-written JavaScript.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from review_store.desk.review_views import AfterSubmit
from review_store.desk.rubrics import QuestionView

FOCUS = "review_focus"  # index of the question digits answer
SUBMIT_SHORTCUT = "Ctrl+Enter"


def widget_key(item_id: int, question_key: str) -> str:
    return f"review_q_{item_id}_{question_key}"


def _keyed(questions: tuple[QuestionView, ...]) -> list[QuestionView]:
    return [q for q in questions if q.kind in ("rating", "label")]


def _options(q: QuestionView) -> list:
    return list(q.choices)


def _press(item_id: int, questions: tuple[QuestionView, ...], digit: int) -> None:
    keyed = _keyed(questions)
    if not keyed:
        return
    focus = st.session_state.get(FOCUS, 0) % len(keyed)
    q = keyed[focus]
    options = _options(q)
    if q.kind == "rating" and digit in options:
        st.session_state[widget_key(item_id, q.key)] = digit
    elif q.kind == "label" and 1 <= digit <= len(options):
        st.session_state[widget_key(item_id, q.key)] = options[digit - 1]
    else:
        return
    st.session_state[FOCUS] = (focus + 1) % len(keyed)


def digit_keys(item_id: int, questions: tuple[QuestionView, ...]) -> None:
    """A row of digit buttons (keys 1-9) that answer the focused question."""
    keyed = _keyed(questions)
    if not keyed:
        return
    focus = st.session_state.get(FOCUS, 0) % len(keyed)
    top = max(len(_options(q)) if q.kind == "label" else q.max for q in keyed)
    st.caption(f"Keys 1-{min(top, 9)} answer: {keyed[focus].prompt}")
    cols = st.columns(min(top, 9) + 2)
    for digit in range(1, min(top, 9) + 1):
        cols[digit - 1].button(
            str(digit),
            key=f"review_digit_{digit}",
            shortcut=str(digit),
            on_click=_press,
            args=(item_id, questions, digit),
            type="tertiary",
        )


def rubric_form(item_id: int, questions: tuple[QuestionView, ...]) -> tuple[bool, dict[str, Any], str, bool]:
    """The form; returns (submitted, answers, correction, add_to_golden)."""
    answers: dict[str, Any] = {}
    with st.form(f"review_form_{item_id}", enter_to_submit=False):
        for q in questions:
            key = widget_key(item_id, q.key)
            if q.kind in ("rating", "label"):
                answers[q.key] = st.radio(
                    q.prompt, _options(q), index=None, horizontal=True, key=key, help=q.guidelines or None
                )
            elif q.kind == "multi_label":
                answers[q.key] = st.multiselect(q.prompt, list(q.options), key=key, help=q.guidelines or None)
            else:
                answers[q.key] = st.text_area(q.prompt, key=key, height=68, help=q.guidelines or None)
        correction = st.text_area(
            "Correction: what the assistant should have said (optional)", key=f"review_corr_{item_id}"
        )
        golden = st.checkbox("Add to golden set", key=f"review_golden_{item_id}")
        submitted = st.form_submit_button(
            "Submit label (Ctrl+Enter)", type="primary", shortcut=SUBMIT_SHORTCUT, key="review_submit"
        )
    return submitted, answers, correction, golden


def judge_comparison(shown: AfterSubmit) -> None:
    """After submit: the judge's verdict and rationale beside the reviewer's answer, agreement marked
    (the store decides agreement with its one disagreement rule)."""
    rows = [
        {
            "question": v.question,
            "your answer": v.your_answer,
            "judge": v.judge,
            "judge answer": v.judge_answer,
            "confidence": v.confidence,
            "agreement": v.agreement,
            "rationale": v.rationale,
        }
        for v in shown.judge
    ]
    st.subheader("Judge verdict")
    if not rows:
        st.info("No judge verdict on this trace.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="review_judge_table")
