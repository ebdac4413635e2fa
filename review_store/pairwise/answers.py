"""Pairwise answers on review items: where a pairwise question applies, and what an answer means.

A pairwise question (rubrics.PAIRWISE) applies to an item whose trace has a shadow pair
(`pairs.pair_for_trace`): there it is answered (required unless the rubric says otherwise); on an item
without a pair it is left blank, and an answer is refused. The stored answer is what the reviewer picked
on screen, {"choice": "a" | "b" | "tie", "reason": ...}; `outcome_of` maps it to the candidate's outcome
("a" candidate better, "b" baseline better, "tie", as review_store.pairwise.stats counts) when it is
read, so a layout never needs rewriting. A judge verdict stores the bare choice with its reason as the
rationale; `choice_of` reads both shapes.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from review_store.errors import ValidationFailed
from review_store.pairwise.pairs import TracePair, candidate_outcome, pair_for_trace
from review_store.rubrics import PAIRWISE, RubricSpec


def pairwise_keys(spec: RubricSpec) -> tuple[str, ...]:
    """The rubric's pairwise question keys, in rubric order."""
    return tuple(q.key for q in spec.questions if q.kind == PAIRWISE)


def choice_of(value: Any) -> str | None:
    """The screen choice of a stored answer: a reviewer's {"choice", "reason"} or a judge's bare choice."""
    if isinstance(value, dict):
        value = value.get("choice")
    return value if isinstance(value, str) and value else None


def reason_of(value: Any) -> str:
    return str(value.get("reason") or "") if isinstance(value, dict) else ""


def outcome_of(value: Any, pair: TracePair) -> str | None:
    """The candidate's outcome of an answer on this pair (None for a blank)."""
    choice = choice_of(value)
    return None if choice is None else candidate_outcome(choice, candidate_is_a=pair.pair.candidate_is_a)


def check_applies(session: Session, spec: RubricSpec, answers: dict[str, Any], *, trace_id: int) -> None:
    """ValidationFailed when a pairwise question is answered on an item without a shadow pair, or left
    blank (and required) on one with a pair. `answers` are already checked by the rubric."""
    keys = pairwise_keys(spec)
    if not keys:
        return
    pair = pair_for_trace(session, trace_id=trace_id)
    for q in spec.questions:
        if q.kind != PAIRWISE:
            continue
        given = answers.get(q.key) is not None
        if pair is None and given:
            raise ValidationFailed(
                f"{q.key}: this item has no shadow pair (no candidate release answered the same input); "
                "leave the pairwise question blank"
            )
        if pair is not None and not given and q.required:
            raise ValidationFailed(
                f"{q.key}: an answer is required: A better, B better or tie, with a reason"
            )
