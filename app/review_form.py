"""The rubric form of the Review page, its digit keys, and the after-submit judge comparison.

Keyboard: digits answer the focused question (a rating takes the digit as its value, a label question
takes its n-th option, a pairwise question takes 1 A better, 2 B better, 3 tie) and move focus to the
next one; Ctrl+Enter submits; S skips, F flags, E escalates.
These use Streamlit's native `shortcut=` on buttons, no hand-written JavaScript. Streamlit draws a button's
shortcut as a key badge beside its label, so a label never repeats its key: a digit button is labelled with
what it picks for the focused question (the scale anchor or the option), the others with their action.
A rating's options read "1 · Wrong or harmful" where the rubric anchors that point.

The form draws only the questions the item asks (`asked`, from the store: on an item with a shadow pair
only the pairwise question, elsewhere every other one). A pairwise question's three choices name screen
positions (A, B), never releases, and it asks for a reason.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from review_store.desk.review_views import AfterSubmit
from review_store.desk.rubrics import PAIRWISE, PAIRWISE_CHOICES, QuestionView

FOCUS = "review_focus"  # index of the question digits answer
SUBMIT_SHORTCUT = "Ctrl+Enter"
KEY_LABEL_CHARS = 28  # a digit button's label is cut to this (the radio shows the whole anchor)
PAIR_LABELS = {"a": "A better", "b": "B better", "tie": "Tie"}  # a pairwise choice as a reviewer reads it


def widget_key(item_id: int, question_key: str) -> str:
    return f"review_q_{item_id}_{question_key}"


def reason_key(item_id: int, question_key: str) -> str:
    """The widget key of a pairwise question's reason box."""
    return f"review_pr_{item_id}_{question_key}"


def _keyed(questions: tuple[QuestionView, ...], asked: tuple[str, ...]) -> list[QuestionView]:
    return [q for q in questions if q.kind in ("rating", "label", PAIRWISE) and q.key in asked]


def _options(q: QuestionView) -> list:
    return list(PAIRWISE_CHOICES) if q.kind == PAIRWISE else list(q.choices)


def short(text: str, limit: int = KEY_LABEL_CHARS) -> str:
    """An anchor or option cut for a key button: up to a colon ("Unsupported: contradicts..." reads
    "Unsupported"), then to the last whole word within `limit` characters, with an ellipsis."""
    head = text.split(":", 1)[0].strip() or text.strip()
    if len(head) <= limit:
        return head
    cut = head[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;") + "…"


def key_label(q: QuestionView, digit: int) -> str | None:
    """What pressing `digit` picks for question `q`, in words (the key itself is the button's badge);
    None when the digit picks nothing there. An unanchored rating point reads by its place on the scale."""
    options = _options(q)
    if q.kind == PAIRWISE:
        return PAIR_LABELS[options[digit - 1]] if 1 <= digit <= len(options) else None
    if q.kind == "label":
        return short(str(options[digit - 1])) if 1 <= digit <= len(options) else None
    if digit not in options:
        return None
    if meaning := q.anchor(digit):
        return short(meaning)
    if digit == q.min:
        return "Lowest"
    return "Highest" if digit == q.max else "In between"


def _full_meaning(q: QuestionView, digit: int, label: str) -> str | None:
    """The whole anchor or option as the button's tooltip, when its label had to be cut."""
    if q.kind == PAIRWISE:
        return None  # "A better" is the whole meaning
    full = str(_options(q)[digit - 1]) if q.kind == "label" else q.anchor(digit)
    return full if full and full != label else None


def _press(item_id: int, questions: tuple[QuestionView, ...], digit: int, asked: tuple[str, ...]) -> None:
    keyed = _keyed(questions, asked)
    if not keyed:
        return
    focus = st.session_state.get(FOCUS, 0) % len(keyed)
    q = keyed[focus]
    options = _options(q)
    if q.kind == "rating" and digit in options:
        st.session_state[widget_key(item_id, q.key)] = digit
    elif q.kind in ("label", PAIRWISE) and 1 <= digit <= len(options):
        st.session_state[widget_key(item_id, q.key)] = options[digit - 1]
    else:
        return
    st.session_state[FOCUS] = (focus + 1) % len(keyed)


def digit_keys(item_id: int, questions: tuple[QuestionView, ...], asked: tuple[str, ...]) -> None:
    """A row of digit buttons (keys 1-9) that answer the focused question, each labelled with what it
    picks there; a digit that picks nothing has no button. `asked`: the keys the item asks (the store's)."""
    keyed = _keyed(questions, asked)
    if not keyed:
        return
    focus = st.session_state.get(FOCUS, 0) % len(keyed)
    question = keyed[focus]
    st.caption(f"Number keys answer: {question.prompt}")
    with st.container(horizontal=True, gap="small", key="review_digit_row"):
        for digit in range(1, 10):
            label = key_label(question, digit)
            if label is None:
                continue
            st.button(
                label,
                key=f"review_digit_{digit}",
                shortcut=str(digit),
                on_click=_press,
                args=(item_id, questions, digit, asked),
                type="tertiary",
                help=_full_meaning(question, digit, label),
            )


def _pairwise(item_id: int, q: QuestionView) -> dict[str, str] | None:
    """A pairwise question: three choices by screen position and the reason. None while nothing is
    picked (the store says an answer is required); a missing reason goes to the store, which names it."""
    choice = st.radio(
        q.prompt,
        _options(q),
        index=None,
        horizontal=True,
        key=widget_key(item_id, q.key),
        help=q.guidelines or None,
        format_func=PAIR_LABELS.get,
    )
    reason = st.text_area(
        f"Why? What made the difference ({q.key})",
        key=reason_key(item_id, q.key),
        height=68,
        placeholder="Required: what made one output better, or why they are equally good",
    )
    return None if choice is None else {"choice": choice, "reason": reason}


def rubric_form(
    item_id: int,
    questions: tuple[QuestionView, ...],
    chunk_ids: tuple[str, ...] = (),
    *,
    asked: tuple[str, ...],
) -> tuple[bool, dict[str, Any], str, bool]:
    """The form; returns (submitted, answers, correction, add_to_golden). Only the questions in `asked`
    (the store's keys for this item) are drawn and answered. A "chunks" question lists the trace's
    retrieved chunk ids (`chunk_ids`, rank order) to mark relevant; none marked is an answer. A pairwise
    question is answered {"choice", "reason"}."""
    answers: dict[str, Any] = {}
    with st.form(f"review_form_{item_id}", enter_to_submit=False):
        for q in questions:
            key = widget_key(item_id, q.key)
            if q.key not in asked:
                continue
            if q.kind == PAIRWISE:
                answers[q.key] = _pairwise(item_id, q)
            elif q.kind in ("rating", "label"):
                answers[q.key] = st.radio(
                    q.prompt,
                    _options(q),
                    index=None,
                    horizontal=True,
                    key=key,
                    help=q.guidelines or None,
                    format_func=q.choice_label,
                )
            elif q.kind == "multi_label":
                answers[q.key] = st.multiselect(q.prompt, list(q.options), key=key, help=q.guidelines or None)
            elif q.kind == "chunks":
                answers[q.key] = st.multiselect(
                    q.prompt,
                    list(chunk_ids),
                    key=key,
                    help=q.guidelines
                    or "The retrieved chunks (ids as in the context above) that were relevant.",
                    placeholder="None relevant" if chunk_ids else "No retrieved chunk with an id",
                )
            else:
                answers[q.key] = st.text_area(q.prompt, key=key, height=68, help=q.guidelines or None)
        correction = st.text_area(
            "Correction: what the assistant should have said (optional)", key=f"review_corr_{item_id}"
        )
        golden = st.checkbox("Add to golden set", key=f"review_golden_{item_id}")
        submitted = st.form_submit_button(
            "Submit label", type="primary", shortcut=SUBMIT_SHORTCUT, key="review_submit"
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
