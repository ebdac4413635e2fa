"""The audit event that goes with the COMMIT (audit/append.py `at_commit`, used by the label submit): on
PostgreSQL the event, the head rewrite and the COMMIT are one pipelined round trip; the chain is the same
as the usual append's, a put-back head never forks it and never leaves a change unaudited, and many
reviewers submitting at once never fork it either."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlmodel import select

from review_store import audit, rubrics, sampling
from review_store.audit import append, chain
from review_store.db import make_engine, read_session, session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.desk import Desk
from review_store.models import AuditEvent, Label, ReviewItem, Setting
from review_store.permissions import SYSTEM
from tests.factories import make_trace, make_user

GOOD = {"correctness": 5, "groundedness": 5, "tone": 4, "issue_type": "none", "notes": ""}


def _verify(engine):
    with read_session(engine) as session:
        return audit.verify(session)


def _events(engine) -> list[tuple[int, str, str, str]]:
    with read_session(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        return [(e.seq, e.action, e.prev_hash, e.hash) for e in rows]


def _head(engine) -> dict:
    with read_session(engine) as session:
        return session.get(Setting, chain.HEAD_KEY).value


def _record_usual(engine, i: int) -> None:
    with session_scope(engine) as session:
        audit.record(session, actor=SYSTEM, action="thing.change", entity="thing", entity_id=i)


def _record_at_commit(engine, *actions: str, also=None) -> list[AuditEvent]:
    """Events noted in one transaction and written with its commit; `also(session)` writes something else
    in the same transaction first."""
    with session_scope(engine) as session, append.at_commit(session):
        if also is not None:
            also(session)
        events = [audit.record(session, actor=SYSTEM, action=a, entity="thing") for a in actions]
        append.commit_with_events(session)
        return [AuditEvent(seq=e.seq, prev_hash=e.prev_hash, hash=e.hash, action=e.action) for e in events]


def test_events_written_at_commit_chain_like_the_usual_append(engine):
    _record_usual(engine, 0)
    first, second = _record_at_commit(engine, "a", "b")
    _record_usual(engine, 1)
    events = _events(engine)
    assert [seq for seq, *_ in events] == [1, 2, 3, 4]
    assert (first.seq, second.seq) == (2, 3)  # the caller's event objects are filled in
    assert first.prev_hash == events[0][3] and second.prev_hash == first.hash
    assert [a for _, a, _, _ in events] == ["thing.change", "a", "b", "thing.change"]
    head = _head(engine)
    assert head["seq"] == 4 and head["hash"] == events[-1][3] and head["mac"]
    result = _verify(engine)
    assert result.ok and result.checked == 4 and result.keyed == 4


def test_the_first_event_of_a_chain_at_commit_creates_the_head(engine):
    (event,) = _record_at_commit(engine, "first")
    assert event.seq == 1 and event.prev_hash == chain.GENESIS_HASH
    assert _head(engine)["seq"] == 1 and _verify(engine).ok


def test_a_put_back_head_at_commit_keeps_nothing_on_postgresql_and_never_forks(engine):
    """A genuine older head restored by hand: on PostgreSQL the pipelined insert meets the taken seq, the
    whole transaction rolls back (its other write too) and HeadNotNewest says so; SQLite appends the usual
    way and continues from the real end. Either way the chain never forks."""
    for i in range(3):
        _record_usual(engine, i)
    saved = _head(engine)
    for i in range(3, 5):
        _record_usual(engine, i)
    with session_scope(engine) as session:
        head = session.get(Setting, chain.HEAD_KEY)
        head.value = saved
        session.add(head)

    def also(session) -> None:
        session.add(Setting(key="probe", value={"written": True}, updated_by="test"))

    if engine.dialect.name == "postgresql":
        with pytest.raises(append.HeadNotNewest):
            _record_at_commit(engine, "c", also=also)
        with read_session(engine) as session:
            assert session.get(Setting, "probe") is None  # nothing of the transaction was kept
        assert len(_events(engine)) == 5
        _record_usual(engine, 5)  # the usual append continues from the real end
    else:
        (event,) = _record_at_commit(engine, "c", also=also)
        assert event.seq == 6
    events = _events(engine)
    assert [seq for seq, *_ in events] == [1, 2, 3, 4, 5, 6]
    assert events[5][2] == events[4][3]
    assert _head(engine)["seq"] == 6 and _verify(engine).ok


def _queue_world(engine, *, traces: int, reviewers: int):
    with session_scope(engine) as session:
        rubric = rubrics.create_rubric(session, actor=SYSTEM, name="support", questions=RUBRIC_QUESTIONS)
        people = [make_user(session) for _ in range(reviewers)]
        for _ in range(traces):
            make_trace(session)
        sampling.sample(session, actor=SYSTEM, strategy="random", n=traces, overlap_k=2)
    return rubric.id, people


def test_a_label_submitted_over_a_put_back_head_is_stored_once_and_audited(engine):
    """The facade's submit runs again the usual way when the pipelined append meets a put-back head: the
    label is stored once, with one audit event, and the chain verifies."""
    rubric_id, (reviewer,) = _queue_world(engine, traces=2, reviewers=1)
    desk = Desk(engine)
    first = desk.review.claim(actor=reviewer).item.item.id
    desk.review.submit(actor=reviewer, item_id=first, rubric_id=rubric_id, answers=GOOD)
    saved = _head(engine)
    second = desk.review.claim(actor=reviewer).item.item.id
    _record_usual(engine, 1)
    with session_scope(engine) as session:
        head = session.get(Setting, chain.HEAD_KEY)
        head.value = saved
        session.add(head)
    view = desk.review.submit(actor=reviewer, item_id=second, rubric_id=rubric_id, answers=GOOD)
    assert view.item_id == second
    with read_session(engine) as session:
        labels = session.exec(select(Label.item_id)).all()
    assert sorted(labels) == sorted([first, second])
    actions = [a for _, a, _, _ in _events(engine)]
    assert actions.count("label.create") == 2
    assert _verify(engine).ok


def test_reviewers_submitting_at_once_never_fork_the_chain(engine, db_url):
    """Eight reviewer threads drain 60 items (overlap 2) through the facade: every label is stored once,
    each with its audit event, and the chain verifies."""
    rubric_id, people = _queue_world(engine, traces=60, reviewers=8)
    shared = Desk(make_engine(db_url, workers=len(people)))
    errors: list[BaseException] = []

    def work(actor) -> None:
        try:
            while (claim := shared.review.claim(actor=actor)).item is not None:
                shared.review.submit(
                    actor=actor, item_id=claim.item.item.id, rubric_id=rubric_id, answers=GOOD
                )
        except BaseException as exc:  # noqa: BLE001 - the test reports every escaped exception
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.engine.dispose()
    assert errors == []
    with read_session(engine) as session:
        labels = session.exec(select(Label.item_id, Label.reviewer_id)).all()
        statuses = set(session.exec(select(ReviewItem.status)).all())
    assert len(labels) == 120 and len(set(labels)) == 120
    assert set(Counter(item for item, _ in labels).values()) == {2} and statuses == {"done"}
    events = _events(engine)
    assert [a for _, a, _, _ in events].count("label.create") == 120
    assert [seq for seq, *_ in events] == list(range(1, len(events) + 1))
    result = _verify(engine)
    assert result.ok and result.checked == len(events)


def test_a_connection_lost_in_the_pipelined_commit_is_reported_and_keeps_nothing(
    pg_database_url, monkeypatch
):
    """The backend is terminated after the head is locked, before the event and the COMMIT go out: the
    reviewer is told to resubmit (DatabaseUnavailable, as for any lost connection), nothing is kept, and
    the resubmit saves once."""
    from sqlalchemy import create_engine, text

    from review_store.errors import DatabaseUnavailable
    from tests.conftest import _reset_pg

    engine = _reset_pg(pg_database_url)
    rubric_id, (reviewer,) = _queue_world(engine, traces=1, reviewers=1)
    desk = Desk(engine)
    item_id = desk.review.claim(actor=reviewer).item.item.id
    killer = create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    signed_tip = append._signed_tip

    def kill_then_read(key, value):
        with killer.connect() as conn:  # every other backend of this database: the submit's among them
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        return signed_tip(key, value)

    monkeypatch.setattr(append, "_signed_tip", kill_then_read)
    with pytest.raises(DatabaseUnavailable, match="resubmit"):
        desk.review.submit(actor=reviewer, item_id=item_id, rubric_id=rubric_id, answers=GOOD)
    monkeypatch.setattr(append, "_signed_tip", signed_tip)
    killer.dispose()
    with read_session(engine) as session:
        assert session.exec(select(Label)).all() == []
    for _ in range(2):  # the resubmit, and a double click after it: one label
        desk.review.submit(actor=reviewer, item_id=item_id, rubric_id=rubric_id, answers=GOOD)
    with read_session(engine) as session:
        assert len(session.exec(select(Label)).all()) == 1
    assert _verify(engine).ok
    engine.dispose()
