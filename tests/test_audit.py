"""The audit chain: every event links to the previous one, and any edit, deletion or insertion shows."""

from __future__ import annotations

from sqlalchemy import text

from review_store import audit
from review_store.db import read_session, session_scope
from review_store.permissions import SYSTEM


def _write_events(engine, n=5):
    for i in range(n):
        with session_scope(engine) as session:
            audit.record(
                session, actor=SYSTEM, action="thing.change", entity="thing", entity_id=i, payload={"i": i}
            )


def _verify(engine):
    with read_session(engine) as session:
        return audit.verify(session)


def test_untouched_chain_verifies(engine):
    _write_events(engine)
    result = _verify(engine)
    assert result.ok and result.checked == 5


def test_edited_payload_is_named_by_seq(engine):
    _write_events(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET payload = :p WHERE seq = 3"), {"p": '{"i":99}'})
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 3


def test_deleted_event_is_named_by_seq(engine):
    _write_events(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE seq = 2"))
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 2


def test_deleting_the_newest_event_is_caught_by_the_head(engine):
    _write_events(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE seq = 5"))
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 5


def test_inserted_event_is_named_by_seq(engine):
    _write_events(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO auditevent (seq, ts, actor, action, entity, entity_id, payload, prev_hash, hash) "
                "VALUES (6, '2026-01-01 00:00:00', 'mallory', 'release.approve', 'release', 'r9', '{}', :p, :h)"
            ),
            {"p": "0" * 64, "h": "f" * 64},
        )
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 6


def test_a_rolled_back_change_leaves_no_event(engine):
    try:
        with session_scope(engine) as session:
            audit.record(session, actor=SYSTEM, action="thing.change", entity="thing")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with read_session(engine) as session:
        assert audit.count_events(session) == 0
