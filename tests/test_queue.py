"""The review queue under concurrency, leases, skip/escalate, idempotent submit, adjudication, human_answers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from review_store import escalations, golden, queue, rubrics, sampling
from review_store.config import get_settings
from review_store.db import make_engine, session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.errors import ConflictError, ValidationFailed
from review_store.models import Adjudication, Assignment, AuditEvent, Label, ReviewItem, utcnow
from review_store.permissions import SYSTEM
from tests.factories import make_trace, make_user

GOOD = {"correctness": 5, "groundedness": 5, "tone": 4, "issue_type": "none", "notes": ""}


def _world(engine, *, traces: int, reviewers: int, k: int):
    with session_scope(engine) as session:
        rubric = rubrics.create_rubric(session, actor=SYSTEM, name="support", questions=RUBRIC_QUESTIONS)
        people = [make_user(session) for _ in range(reviewers)]
        lead = make_user(session, role="lead")
        for _ in range(traces):
            make_trace(session)
        sampling.sample(session, actor=SYSTEM, strategy="random", n=traces, overlap_k=k)
    return rubric.id, people, lead


def test_twenty_reviewers_drain_500_items_with_overlap_two(engine, db_url):
    rubric_id, people, _ = _world(engine, traces=500, reviewers=20, k=2)
    errors: list[BaseException] = []
    shared = make_engine(db_url, workers=len(people))  # one pooled connection per reviewer thread

    def work(actor) -> None:
        try:
            while True:
                with session_scope(shared) as session:
                    item = queue.next_item(session, actor=actor)
                    item_id = item.id if item else None
                if item_id is None:
                    return
                with session_scope(shared) as session:
                    queue.submit_label(
                        session,
                        actor=actor,
                        item_id=item_id,
                        rubric_id=rubric_id,
                        answers=GOOD,
                        seconds_spent=3,
                    )
        except BaseException as exc:  # noqa: BLE001 - the test reports every escaped exception
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.dispose()
    assert errors == []
    with Session(engine) as session:
        labels = session.exec(select(Label.item_id, Label.reviewer_id)).all()
        items = session.exec(select(ReviewItem)).all()
    assert len(labels) == 1000
    per_item = Counter(item_id for item_id, _ in labels)
    assert set(per_item.values()) == {2} and len(per_item) == 500
    assert len(set(labels)) == 1000  # no (item, reviewer) twice
    assert {i.status for i in items} == {"done"} and {i.labels_done for i in items} == {2}


def test_expired_lease_returns_the_item_to_the_queue(engine):
    rubric_id, (a, b), _ = _world(engine, traces=1, reviewers=2, k=1)
    t0 = utcnow()
    with session_scope(engine) as session:
        item = queue.next_item(session, actor=a, now=t0)
        assert item is not None
        assert queue.next_item(session, actor=b, now=t0) is None  # the one slot is leased
    later = t0 + timedelta(minutes=get_settings().lease_minutes + 1)
    with session_scope(engine) as session:
        again = queue.next_item(session, actor=b, now=later)
        assert again is not None and again.id == item.id
    with session_scope(engine) as session, pytest.raises(ConflictError, match="expired"):
        queue.submit_label(session, actor=a, item_id=item.id, rubric_id=rubric_id, answers=GOOD, now=later)
    with session_scope(engine) as session:
        queue.submit_label(session, actor=b, item_id=item.id, rubric_id=rubric_id, answers=GOOD, now=later)
    with session_scope(engine) as session:
        assert queue.next_item(session, actor=a, now=later) is None  # never the same item twice


def test_submit_is_idempotent_and_validated(engine):
    rubric_id, (a, _), _ = _world(engine, traces=1, reviewers=2, k=2)
    with session_scope(engine) as session:
        item_id = queue.next_item(session, actor=a).id
    with session_scope(engine) as session, pytest.raises(ValidationFailed, match="outside 1..5"):
        queue.submit_label(
            session, actor=a, item_id=item_id, rubric_id=rubric_id, answers={**GOOD, "correctness": 9}
        )
    for _ in range(2):  # a retry after a lost response
        with session_scope(engine) as session:
            label = queue.submit_label(
                session, actor=a, item_id=item_id, rubric_id=rubric_id, answers=GOOD, seconds_spent=12.3
            )
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Label)).one() == 1
        assert session.exec(select(ReviewItem.labels_done)).one() == 1
        stored = session.get(Label, label.id)
        assert stored.seconds_spent == 12.3 and stored.rubric_id == rubric_id
    with session_scope(engine) as session, pytest.raises(ConflictError, match="already labelled"):
        queue.submit_label(
            session, actor=a, item_id=item_id, rubric_id=rubric_id, answers={**GOOD, "tone": 1}
        )


def test_queue_order_escalations_then_priority_then_age_and_skip_escalate(engine):
    rubric_id, (a, b), lead = _world(engine, traces=3, reviewers=2, k=1)
    with session_scope(engine) as session:
        items = session.exec(select(ReviewItem).order_by(ReviewItem.id)).all()
        items[2].priority = 5
        session.add(items[2])
        ids = [i.id for i in items]
    with session_scope(engine) as session:
        assert queue.next_item(session, actor=a).id == ids[2]  # highest priority first
        queue.skip(session, actor=a, item_id=ids[2])
    with session_scope(engine) as session:
        first = queue.next_item(session, actor=a).id
        assert first == ids[0]  # then the oldest
        queue.escalate(session, actor=a, item_id=first, reason="possible PII leak")
    with session_scope(engine) as session:
        assert [e["item_id"] for e in escalations.escalations(session)] == [ids[0]]
        escalations.resolve_escalation(
            session, actor=lead, item_id=ids[0], decision="return_to_queue", note="fine to label"
        )
    with session_scope(engine) as session:
        # b never saw these items; the returned escalation now outranks the skipped high-priority item
        assert queue.next_item(session, actor=b).id == ids[0]
    with Session(engine) as session:
        skipped = session.exec(select(Assignment).where(Assignment.item_id == ids[2])).one()
        assert skipped.status == "skipped"
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("review_item.skip") == 1 and actions.count("escalation.resolve") == 1


def _label_pair(engine, rubric_id, people, answers_a, answers_b) -> int:
    with session_scope(engine) as session:
        item_id = queue.next_item(session, actor=people[0]).id
        queue.submit_label(session, actor=people[0], item_id=item_id, rubric_id=rubric_id, answers=answers_a)
    with session_scope(engine) as session:
        assert queue.next_item(session, actor=people[1]).id == item_id
        queue.submit_label(session, actor=people[1], item_id=item_id, rubric_id=rubric_id, answers=answers_b)
    return item_id


def test_disagreement_goes_to_adjudication_and_the_adjudicated_label_wins(engine):
    rubric_id, people, lead = _world(engine, traces=2, reviewers=2, k=2)
    agreed = _label_pair(engine, rubric_id, people, GOOD, {**GOOD, "correctness": 4})  # 1 point apart: agree
    split = _label_pair(
        engine, rubric_id, people, GOOD, {**GOOD, "correctness": 2, "issue_type": "wrong_policy"}
    )
    with Session(engine) as session:
        assert session.get(ReviewItem, agreed).status == "done"
        assert session.get(ReviewItem, split).status == "adjudication"
        assert [row["item_id"] for row in escalations.adjudication_list(session)] == [split]
    with session_scope(engine) as session:
        golden.promote(session, actor=people[0], item_id=split)  # before adjudication: the promoter's label
    final = {**GOOD, "correctness": 3, "issue_type": "wrong_policy"}
    with session_scope(engine) as session:
        with pytest.raises(Exception, match="may not adjudicate"):
            escalations.adjudicate(session, actor=people[0], item_id=split, answers=final)
    with session_scope(engine) as session:
        escalations.adjudicate(session, actor=lead, item_id=split, answers=final, note="policy says 30 days")
    with Session(engine) as session:
        assert session.get(ReviewItem, split).status == "done"
        labels = session.exec(select(Label).where(Label.item_id == split).order_by(Label.id)).all()
        assert [lb.answers["correctness"] for lb in labels] == [5, 2]  # individual labels intact
        assert session.exec(select(Adjudication)).one().answers["correctness"] == 3
        rows = escalations.human_answers(session, question_key="correctness")
        examples = golden.list_examples(session)
    assert [(r.item_id, r.rater, r.value, r.adjudicated) for r in rows if r.item_id == split] == [
        (split, "adjudicated", 3, True)
    ]
    assert sorted(r.value for r in rows if r.item_id == agreed) == [4, 5]
    assert examples[0]["expected_labels"]["correctness"] == 3
    assert examples[0]["expected_labels"]["issue_type"] == "wrong_policy"


def test_facade_review_flow_blind_judge_sla_ages_and_no_claim_audit(engine):
    """desk.review end to end: a claim is not audited, the judge's verdict is refused before the label,
    escalation ages come from the desk's clock (amber after 24 h, red after 48 h by default)."""
    from datetime import datetime

    from review_store.desk import ConflictError as DeskConflict
    from review_store.desk import Desk, FixedClock

    rubric_id, (a, b), lead = _world(engine, traces=3, reviewers=2, k=1)
    t0 = datetime(2026, 6, 1, 9, 0)
    clock = FixedClock(t0)
    desk = Desk(engine, clock=clock)
    with Session(engine) as session:
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    claim = desk.review.claim(actor=a)
    assert claim.item is not None and claim.rubric.id == rubric_id
    assert desk.review.claim(actor=a).item.item.id == claim.item.item.id  # a reload keeps the lease
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events
    item_id = claim.item.item.id
    with pytest.raises(DeskConflict, match="only after you label"):
        desk.review.after_submit(actor=a, item_id=item_id)
    label = desk.review.submit(actor=a, item_id=item_id, rubric_id=rubric_id, answers=GOOD)
    assert label.reviewer == a.username and dict((x.key, x.value) for x in label.answers)["correctness"] == 5
    shown = desk.review.after_submit(actor=a, item_id=item_id)
    assert shown.item_id == item_id and shown.judge == ()  # no judge ran on these traces
    with pytest.raises(DeskConflict):
        desk.review.after_submit(actor=b, item_id=item_id)  # b never labelled it: still blind
    other = desk.review.claim(actor=b).item.item.id
    desk.review.escalate(actor=b, item_id=other, reason="customer threatens legal action")
    for hours, colour in ((5, "green"), (30, "amber"), (50, "red")):
        clock.set(t0 + timedelta(hours=hours))
        (row,) = desk.review.escalations().rows
        assert (row.item_id, row.age_hours, row.sla) == (other, float(hours), colour)
    desk.review.resolve_escalation(actor=lead, item_id=other, decision="no_problem", note="checked")
    assert desk.review.escalations().rows == ()
    assert [r.status for r in desk.review.escalations(include_resolved=True).rows] == ["resolved"]
