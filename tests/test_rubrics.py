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
    edited[2] = {**edited[2], "max": 4, "guidelines": "4-point scale now"}
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
