"""The human reference answer of a review item, and whether two or more answers disagree.

One rule each, used by the queue (an item goes to adjudication), the escalations page, the golden set,
judge-vs-human agreement and the judge trust verdict, and the review form (the judge's verdict beside
the reviewer's answer):

- reference answer: the adjudicated answer when a lead settled the item; otherwise the median of the
  labels for a rating question (a half-point median stays its own value: 3.5 between 3 and 4), the
  majority for any other kind (a tie has no reference: None, never an arbitrary pick);
- disagreement: rating answers 2 or more points apart (adjacent points are a near miss, not a
  disagreement), any other answers not all equal (a pairwise answer by its choice, a / b / tie, not its
  reason); free text and chunk relevance marks (scored by review_store.retrieval, a chunk per chunk)
  never disagree.

Blank answers (None, "") are not opinions: they are ignored by both rules.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from review_store.hashing import canonical_json
from review_store.rubrics import Question, RubricSpec

RATING_DISAGREEMENT = 2  # points between two rating answers that count as a disagreement


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(question: Question, value: Any) -> str:
    """Equality key of an answer: a multi-label answer is a set (order does not matter)."""
    if question.kind in ("multi_label", "chunks") and isinstance(value, list | tuple):
        value = sorted({canonical_json(v) for v in value})
    if question.kind == "pairwise":  # the choice, not the reason: {"choice": "a", ...} agrees with "a"
        value = value.get("choice") if isinstance(value, dict) else value
    return canonical_json(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def reference_answer(question: Question, answers: Iterable[Any], *, adjudicated: Any = None) -> Any:
    """The human reference for one question of one item: adjudicated, else median / majority (or None).

    `answers` are the reviewers' answers to this question (blanks ignored). A rating median is an int
    when whole (4), else a float (3.5); a non-numeric rating answer raises ValueError naming the question.
    """
    if not is_blank(adjudicated):
        return adjudicated
    values = [v for v in answers if not is_blank(v)]
    if not values:
        return None
    if question.kind == "rating":
        numbers = [_number(v) for v in values]
        if any(n is None for n in numbers):
            bad = next(v for v, n in zip(values, numbers, strict=True) if n is None)
            raise ValueError(f"question {question.key!r}: rating answer {bad!r} is not a number")
        median = float(statistics.median(n for n in numbers if n is not None))
        return int(median) if median.is_integer() else median
    counts = Counter(_key(question, v) for v in values)
    (top, n_top), *rest = counts.most_common()
    if rest and rest[0][1] == n_top:
        return None
    return next(v for v in values if _key(question, v) == top)


def reference_answers(
    spec: RubricSpec, labels: Sequence[Mapping[str, Any]], *, adjudicated: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every question's reference answer for one item (questions without one are left out)."""
    out = {}
    for q in spec.questions:
        settled = (adjudicated or {}).get(q.key)
        value = reference_answer(q, [(a or {}).get(q.key) for a in labels], adjudicated=settled)
        if not is_blank(value):
            out[q.key] = value
    return out


def answers_disagree(question: Question, answers: Iterable[Any]) -> bool:
    """True when these answers to one question disagree (see the module docstring for the rule)."""
    values = [v for v in answers if not is_blank(v)]
    if len(values) < 2 or question.kind in ("text", "chunks"):  # chunk marks: review_store.retrieval
        return False
    if question.kind == "rating":
        numbers = [_number(v) for v in values]
        if any(n is None for n in numbers):
            return True  # not comparable on the scale: a lead must look
        return max(numbers) - min(numbers) >= RATING_DISAGREEMENT  # type: ignore[type-var, operator]
    return len({_key(question, v) for v in values}) > 1


def disagreeing_questions(spec: RubricSpec, labels: Sequence[Mapping[str, Any]]) -> list[str]:
    """The question keys (rubric order) on which these labels of one item disagree."""
    return [q.key for q in spec.questions if answers_disagree(q, [(a or {}).get(q.key) for a in labels])]
