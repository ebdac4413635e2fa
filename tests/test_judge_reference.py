"""The one reference-answer rule and the one disagreement rule (review_store.reference)."""

from __future__ import annotations

import pytest

from review_store.reference import (
    answers_disagree,
    disagreeing_questions,
    reference_answer,
    reference_answers,
)
from review_store.rubrics import Question, RubricSpec

RATING = Question(key="score", prompt="Score", kind="rating", min=1, max=5)
LABEL = Question(key="kind", prompt="Kind", kind="label", options=("ok", "wrong", "risky"))
MULTI = Question(key="tags", prompt="Tags", kind="multi_label", options=("a", "b", "c"))
TEXT = Question(key="note", prompt="Note", kind="text")


@pytest.mark.parametrize(
    ("question", "answers", "adjudicated", "expected"),
    [
        (RATING, [4, 3], None, 3.5),  # a half-point median stays its own value
        (RATING, [4, 2, 5], None, 4),  # whole medians are ints
        (RATING, [4, None, ""], None, 4),  # blanks are not opinions
        (RATING, [1, 5], 2, 2),  # the adjudicated answer wins
        (RATING, [], None, None),
        (LABEL, ["ok", "wrong", "ok"], None, "ok"),
        (LABEL, ["ok", "wrong"], None, None),  # a tie has no reference, never an arbitrary pick
        (LABEL, ["ok", "wrong"], "wrong", "wrong"),
        (MULTI, [["a", "b"], ["b", "a"], ["c"]], None, ["a", "b"]),  # a multi-label answer is a set
        (TEXT, ["same", "same"], None, "same"),
    ],
)
def test_reference_answer(question, answers, adjudicated, expected):
    got = reference_answer(question, answers, adjudicated=adjudicated)
    assert got == expected and type(got) is type(expected)


def test_reference_answer_refuses_a_non_numeric_rating():
    with pytest.raises(ValueError, match="'score'.*'high' is not a number"):
        reference_answer(RATING, [3, "high"])


@pytest.mark.parametrize(
    ("question", "answers", "disagree"),
    [
        (RATING, [3, 4], False),  # adjacent points are a near miss
        (RATING, [3, 5], True),
        (RATING, [3, 4, 5], True),
        (RATING, [3], False),
        (RATING, [3, None], False),
        (LABEL, ["ok", "ok"], False),
        (LABEL, ["ok", "wrong"], True),
        (MULTI, [["a", "b"], ["b", "a"]], False),
        (MULTI, [["a"], ["a", "b"]], True),
        (TEXT, ["yes", "no"], False),  # free text never disagrees
    ],
)
def test_answers_disagree(question, answers, disagree):
    assert answers_disagree(question, answers) is disagree


def test_whole_items():
    spec = RubricSpec(name="r", questions=(RATING, LABEL, TEXT))
    labels = [{"score": 2, "kind": "ok", "note": "x"}, {"score": 4, "kind": "wrong", "note": "y"}]
    assert disagreeing_questions(spec, labels) == ["score", "kind"]
    assert reference_answers(spec, labels) == {"score": 3}  # label tie and text split: no reference
    assert reference_answers(spec, labels, adjudicated={"kind": "wrong"}) == {"score": 3, "kind": "wrong"}
