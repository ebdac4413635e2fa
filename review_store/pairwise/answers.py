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
from review_store.rubrics import PAIRWISE, Question, RubricSpec


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


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def asked_questions(spec: RubricSpec, *, paired: bool) -> tuple[Question, ...]:
    """The one rule of which rubric questions an item asks. On an item with a shadow pair (`paired`) only
    the pairwise question(s): the others ask about "the answer", and the blind A/B view cannot say which
    output that is without naming the releases. Elsewhere every question but the pairwise ones. A rubric
    without a pairwise question asks all its questions everywhere (it has nothing else to ask)."""
    pairwise = tuple(q for q in spec.questions if q.kind == PAIRWISE)
    if paired and pairwise:
        return pairwise
    return tuple(q for q in spec.questions if q.kind != PAIRWISE)


def asked_keys(session: Session, spec: RubricSpec, *, trace_id: int) -> tuple[str, ...]:
    """The keys of the questions an item on this trace asks, in rubric order (see asked_questions)."""
    paired = bool(pairwise_keys(spec)) and pair_for_trace(session, trace_id=trace_id) is not None
    return tuple(q.key for q in asked_questions(spec, paired=paired))


def check_item_answers(session: Session, spec: RubricSpec, answers: dict[str, Any], *, trace_id: int) -> dict:
    """The answers of a label or adjudication on an item of this trace, normalised (every rubric key, a
    question not asked stored blank); ValidationFailed names the question when an answer is missing or
    bad, when a question the item does not ask is answered (a rating on a shadow pair, a pairwise choice
    on an item without one), or when a key is not in the rubric."""
    unknown = set(answers) - {q.key for q in spec.questions}
    if unknown:
        raise ValidationFailed(f"answers: unknown question(s) {', '.join(sorted(unknown))}")
    asked = set(asked_keys(session, spec, trace_id=trace_id))
    clean: dict[str, Any] = {}
    for q in spec.questions:
        value = answers.get(q.key)
        if q.key in asked:
            clean[q.key] = q.check_answer(value)
            if q.kind == PAIRWISE and clean[q.key] is None and q.required:
                raise ValidationFailed(
                    f"{q.key}: an answer is required: A better, B better or tie, with a reason"
                )
            continue
        if not _blank(value):
            if q.kind == PAIRWISE:
                raise ValidationFailed(
                    f"{q.key}: this item has no shadow pair (no candidate release answered the same input); "
                    "leave the pairwise question blank"
                )
            only = ", ".join(k for k in pairwise_keys(spec) if k in asked)
            raise ValidationFailed(
                f"{q.key}: not asked on this item: it has a shadow pair (outputs A and B), so only the "
                f"pairwise question ({only}) is answered; leave {q.key} blank"
            )
        clean[q.key] = None
    return clean
