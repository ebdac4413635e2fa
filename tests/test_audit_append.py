"""Appending to the chain: the usual append trusts the signed head for the newest event (audit/append.py);
a head that does not name the newest event never forks the chain, and concurrent writers never fork it."""

from __future__ import annotations

import threading

from sqlmodel import select

from review_store import audit
from review_store.audit import chain
from review_store.db import make_engine, read_session, session_scope
from review_store.models import AuditEvent, Setting
from review_store.permissions import SYSTEM


def _record(engine, i: int) -> AuditEvent:
    """The appended event, as a plain copy (read before its session closes)."""
    with session_scope(engine) as session:
        event = audit.record(session, actor=SYSTEM, action="thing.change", entity="thing", entity_id=i)
        return AuditEvent(seq=event.seq, prev_hash=event.prev_hash, hash=event.hash, actor=event.actor,
                          action=event.action, entity=event.entity, entity_id=event.entity_id)  # fmt: skip


def _head(engine) -> dict:
    with read_session(engine) as session:
        return session.get(Setting, chain.HEAD_KEY).value


def _verify(engine):
    with read_session(engine) as session:
        return audit.verify(session)


def test_each_append_links_to_the_previous_event_and_signs_the_head(engine):
    events = [_record(engine, i) for i in range(4)]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    head = _head(engine)
    assert head["seq"] == 4 and head["hash"] == events[-1].hash and head["mac"]
    result = _verify(engine)
    assert result.ok and result.checked == 4 and result.keyed == 4


def test_two_events_in_one_transaction_and_a_head_read_before_them(engine):
    with session_scope(engine) as session:
        loaded = session.get(Setting, chain.HEAD_KEY)  # none yet: the first append creates it
        first = audit.record(session, actor=SYSTEM, action="a", entity="thing")
        loaded = session.get(Setting, chain.HEAD_KEY)
        second = audit.record(session, actor=SYSTEM, action="b", entity="thing")
        session.refresh(loaded)
        assert loaded.value["seq"] == second.seq == first.seq + 1
        assert second.prev_hash == first.hash
    assert _verify(engine).ok


def test_a_put_back_head_does_not_fork_the_chain(engine):
    """A genuine older head restored by hand (its signature holds) names an event that is not the newest:
    the next append continues from the real end of the chain instead of reusing a seq."""
    for i in range(3):
        _record(engine, i)
    saved = _head(engine)
    for i in range(3, 5):
        _record(engine, i)
    with session_scope(engine) as session:
        head = session.get(Setting, chain.HEAD_KEY)
        head.value = saved
        session.add(head)
    event = _record(engine, 5)
    assert event.seq == 6
    with read_session(engine) as session:
        fifth = session.exec(select(AuditEvent.hash).where(AuditEvent.seq == 5)).one()
    assert event.prev_hash == fifth
    assert _head(engine)["seq"] == 6
    assert _verify(engine).ok


def test_an_unsigned_head_is_not_trusted(engine):
    for i in range(2):
        _record(engine, i)
    with session_scope(engine) as session:  # a head pointing past the chain, with no valid signature
        head = session.get(Setting, chain.HEAD_KEY)
        head.value = {**head.value, "seq": 9, "mac": "0" * 64}
        session.add(head)
    assert _record(engine, 2).seq == 3
    assert _verify(engine).ok


def test_concurrent_writers_never_fork_the_chain(db_url):
    shared = make_engine(db_url, workers=6)
    _record(shared, -1)  # the head exists, so every writer takes the usual (signed head) path
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            for i in range(8):
                _record(shared, w * 100 + i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    result = _verify(shared)
    shared.dispose()
    assert result.ok and result.checked == 49, result
