"""Rubric versions: a used version is immutable, editing creates the next one, labels keep their version."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from review_store import queue, rubrics, sampling
from review_store.db import session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.models import Label, Rubric
from review_store.permissions import SYSTEM
from tests.factories import make_trace, make_user

ANSWERS = {"correctness": 5, "groundedness": 4, "tone": 4, "issue_type": "none"}


def test_editing_a_used_rubric_creates_a_new_version(engine):
    with session_scope(engine) as session:
        lead, reviewer = make_user(session, role="lead"), make_user(session)
        v1 = rubrics.create_rubric(session, actor=lead, name="support", questions=RUBRIC_QUESTIONS)
        make_trace(session)
        sampling.sample(session, actor=SYSTEM, strategy="random", n=1, overlap_k=2)
    edited = [dict(q) for q in RUBRIC_QUESTIONS]
    edited[2] = {
        **edited[2],
        "max": 4,
        "guidelines": "4-point scale now",
        "anchors": {"1": "Rude", "4": "Good"},
    }
    with session_scope(engine) as session:  # unused: changed in place, same version
        same = rubrics.edit_rubric(session, actor=lead, rubric_id=v1.id, questions=edited)
        assert (same.id, same.version) == (v1.id, 1)
        with pytest.raises(PermissionDenied):
            rubrics.edit_rubric(session, actor=reviewer, rubric_id=v1.id, questions=RUBRIC_QUESTIONS)
    with session_scope(engine) as session:
        item = queue.next_item(session, actor=reviewer)
        queue.submit_label(session, actor=reviewer, item_id=item.id, rubric_id=v1.id, answers=ANSWERS)
    with session_scope(engine) as session:
        assert rubrics.is_used(session, v1.id)
        v2 = rubrics.edit_rubric(session, actor=lead, rubric_id=v1.id, questions=RUBRIC_QUESTIONS)
        assert v2.version == 2 and v2.id != v1.id
        assert queue.active_rubric(session).id == v2.id
    with Session(engine) as session:
        old = session.get(Rubric, v1.id)
        assert old.questions[2]["max"] == 4  # the used version is untouched
        assert session.exec(select(Label.rubric_id)).one() == v1.id


def test_answers_validated_against_their_version(engine):
    with session_scope(engine) as session:
        spec = rubrics.spec_of(
            rubrics.create_rubric(session, actor=SYSTEM, name="s", questions=RUBRIC_QUESTIONS)
        )
    assert spec.check_answers(ANSWERS)["notes"] is None
    with pytest.raises(ValidationFailed, match="issue_type: 'bad' is not one of"):
        spec.check_answers({**ANSWERS, "issue_type": "bad"})
    with pytest.raises(ValidationFailed, match="correctness: an answer is required"):
        spec.check_answers({k: v for k, v in ANSWERS.items() if k != "correctness"})


RATING = {"key": "groundedness", "kind": "rating", "min": 1, "max": 5, "prompt": "Supported?"}


def _spec(**question) -> rubrics.RubricSpec:
    first = {"key": "tone", "kind": "rating"}
    return rubrics.RubricSpec.from_dicts("s", [first, {**RATING, **question}])


def test_anchors_parse_from_json_keys_and_round_trip():
    spec = _spec(anchors={"5": " Fully supported by the cited context ", "1": "Unsupported", 3: "Partly"})
    q = spec.question("groundedness")
    assert q.anchors == ((1, "Unsupported"), (3, "Partly"), (5, "Fully supported by the cited context"))
    assert q.anchor(3) == "Partly" and q.anchor(2) is None
    stored = q.to_dict()
    assert stored["anchors"] == {
        "1": "Unsupported",
        "3": "Partly",
        "5": "Fully supported by the cited context",
    }
    assert rubrics.Question.from_dict(stored) == q
    assert "anchors" not in spec.question("tone").to_dict()  # no anchors: the stored shape is as before


@pytest.mark.parametrize(
    ("anchors", "message"),
    [
        ({"7": "Beyond the scale"}, "question 2 'groundedness': anchors.7: outside 1..5"),
        ({"0": "Below"}, "question 2 'groundedness': anchors.0: outside 1..5"),
        ({"3": "  "}, "question 2 'groundedness': anchors.3: the meaning must be non-empty text"),
        ({"3": ""}, "question 2 'groundedness': anchors.3: the meaning must be non-empty text"),
        ({"3": None}, "question 2 'groundedness': anchors.3: the meaning must be non-empty text"),
        ({"3": "x" * 121}, "question 2 'groundedness': anchors.3: 121 characters; keep an anchor to 120"),
        ({"high": "Good"}, "question 2 'groundedness': anchors.high: 'high' is not a whole scale point"),
        ({"2.5": "Half"}, "question 2 'groundedness': anchors.2.5: '2.5' is not a whole scale point"),
        ({2.5: "Half"}, "question 2 'groundedness': anchors.2.5: 2.5 is not a whole scale point"),
        ({True: "Yes"}, "question 2 'groundedness': anchors.True: True is not a whole scale point"),
        ({"3": "a", 3: "b"}, "question 2 'groundedness': anchors.3: scale point 3 repeats"),
        (["1", "Bad"], "question 2 'groundedness': anchors must be an object"),
    ],
)
def test_bad_anchors_are_refused_naming_question_and_field(anchors, message):
    with pytest.raises(ValidationFailed) as err:
        _spec(anchors=anchors)
    assert str(err.value).startswith(message), str(err.value)


def test_anchors_only_on_rating_questions():
    with pytest.raises(ValidationFailed, match="question 2 'kind': anchors: only rating questions"):
        rubrics.RubricSpec.from_dicts(
            "s", [RATING, {"key": "kind", "kind": "label", "options": ["a", "b"], "anchors": {"1": "A"}}]
        )
    assert _spec(anchors={}).question("groundedness").anchors == ()


def test_changing_anchors_of_a_used_rubric_makes_a_new_version(engine):
    plain = [q for q in RUBRIC_QUESTIONS]
    with session_scope(engine) as session:
        lead, reviewer = make_user(session, role="lead"), make_user(session)
        v1 = rubrics.create_rubric(session, actor=lead, name="support", questions=plain)
        make_trace(session)
        sampling.sample(session, actor=SYSTEM, strategy="random", n=1, overlap_k=2)
    with session_scope(engine) as session:
        item = queue.next_item(session, actor=reviewer)
        queue.submit_label(session, actor=reviewer, item_id=item.id, rubric_id=v1.id, answers=ANSWERS)
    reworded = [dict(q) for q in RUBRIC_QUESTIONS]
    reworded[1] = {**reworded[1], "anchors": {**reworded[1]["anchors"], "3": "Some claims supported"}}
    with session_scope(engine) as session:
        same = rubrics.edit_rubric(session, actor=lead, rubric_id=v1.id, questions=plain)
        assert same.id == v1.id  # unchanged content: no new version
        v2 = rubrics.edit_rubric(session, actor=lead, rubric_id=v1.id, questions=reworded)
        assert (v2.version, v2.content_hash != v1.content_hash) == (2, True)
        assert v2.questions[1]["anchors"]["3"] == "Some claims supported"
    with Session(engine) as session:
        assert session.get(Rubric, v1.id).questions[1]["anchors"]["3"] == "Partly supported"


def test_a_rubric_stored_without_anchors_keeps_working_and_its_hash(engine):
    """A version saved before anchors existed (no `anchors` key) reads as a rubric without anchors, and
    saving the same questions again is no change (the stored shape and hash are as they were)."""
    legacy = [{k: v for k, v in q.items() if k != "anchors"} for q in RUBRIC_QUESTIONS]
    with session_scope(engine) as session:
        stored = [rubrics.Question.from_dict(q).to_dict() for q in legacy]
        row = Rubric(name="old", questions=stored, content_hash=rubrics.content_hash(stored))
        session.add(row)
        session.flush()
        spec = rubrics.spec_of(row)
        assert all(q.anchors == () for q in spec.questions)
        assert rubrics.create_rubric(session, actor=SYSTEM, name="old", questions=legacy).id == row.id
