"""Appending to the keyed chain: `record()` adds one event in the caller's transaction.

Appends are serialised so the chain never forks: the head row (`setting` audit.head) is locked until
commit (PostgreSQL: SELECT ... FOR UPDATE; SQLite: every write transaction starts with BEGIN IMMEDIATE,
db.py). Every audited change in the desk queues on that one row, so the time it is held is the
throughput of all audited writes together; on PostgreSQL it is held from the lock to the commit, and
every round trip in between (each a wake-up of the server and of the client on a busy machine) counts.

So the usual append is two statements with the lock held: the locked read of the head, whose value
names the newest event (seq, hash) and is trusted for that only when its HMAC verifies with this key;
then one statement that inserts the event and rewrites the head (on SQLite, two statements in the one
write transaction). The newest event is read from the events table instead, as before, when the head
is missing, unsigned or signed with another key (a chain older than its key is then anchored first), and
when the event the head names is not the newest (the insert meets an existing seq or hash: a head
put back by hand): the chain is then continued from its real end, so it still never forks.

A transaction whose audited change is its last write can go one step further (`at_commit`, used by the
label submit, the busiest audited write): record() only notes the event, and `commit_with_events` writes
it at the end. On PostgreSQL that is the locked read of the head, then the event, the head rewrite and
the COMMIT sent together in one pipelined round trip (psycopg pipeline mode), so the lock is held across
one client wake-up instead of two. That insert has no skip-on-conflict: a head that is not the newest
event makes it fail, the whole transaction rolls back (nothing half-written) and HeadNotNewest tells the
caller to run it again the usual way, which continues from the real end as above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, text, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from review_store.audit import keys
from review_store.audit.chain import (
    ANCHOR_ACTION,
    GENESIS_HASH,
    HEAD_KEY,
    event_body,
    event_text,
    head_mac,
    keyed_hash,
    plain_hash,
    url_of,
)
from review_store.audit.keys import AuditKey
from review_store.hashing import canonical_json
from review_store.models import AuditEvent, Setting, utcnow
from review_store.permissions import Actor

_PENDING = "audit.pending"  # session.info key: the events record() left for commit_with_events
_PG_LOCK_KEY = 7_204_118  # any constant; serialises the appends that find no head row yet
_COLUMNS = ("seq", "ts", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash")


def record(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: Any = "",
    payload: dict[str, Any] | None = None,
    key: AuditKey | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (the caller commits).

    The key comes from `keys.require` (laptop mode creates it; team mode raises AuditKeyMissing, so the
    caller's whole change rolls back). An unkeyed tail left by an older version is anchored first.
    """
    key = key or keys.require(url_of(session))
    actor_name = actor if isinstance(actor, str) else actor.username
    fields = {
        "actor": actor_name,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "payload": canonical_json(_with_origin(actor, actor_name, payload) or {}),
    }
    pg = session.get_bind().dialect.name == "postgresql"
    pending = session.info.get(_PENDING)
    if pending is not None and pg:
        event = AuditEvent(**fields)  # seq, ts and hashes are given when it is written at commit
        pending.append((key, fields, event))
        return event
    tip = _signed_tip(key, _locked_head_value(session, pg))
    if tip is not None:
        event = _event(key, *tip, **fields)
        if _write_fast(session, pg, key, event):
            return event
    return _record_from_events(session, pg, key, fields)


class HeadNotNewest(Exception):
    """The pipelined append found an event at the seq after the head (the head was put back): nothing was
    written; run the transaction again without at_commit."""


@contextmanager
def at_commit(session: Session) -> Iterator[None]:
    """Within this block record() only notes its events on PostgreSQL; the caller ends its transaction
    with `commit_with_events` (and writes nothing after it). SQLite appends as usual."""
    session.info[_PENDING] = []
    try:
        yield
    finally:
        session.info.pop(_PENDING, None)


def commit_with_events(session: Session) -> None:
    """Write the noted events and COMMIT (PostgreSQL: the events and the COMMIT in one round trip after
    the locked head read). Falls back to the usual append (the caller's commit then ends the transaction)
    when the head is missing or not signed with this key. HeadNotNewest when the head is not the newest
    event: the transaction is rolled back by the caller, nothing of it is kept."""
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = None  # record() appends as usual from here on
    if not pending:
        return
    key = pending[0][0]
    session.flush()
    tip = _signed_tip(key, _locked_head_value(session, True))
    if tip is None or any(k.key_id != key.key_id for k, _, _ in pending):
        for k, fields, event in pending:
            _copy_into(event, _record_from_events(session, True, k, fields))
        return
    written, rows = [], []
    for _, fields, event in pending:
        chained = _event(key, *tip, **fields)
        rows.append({name: getattr(chained, name) for name in _COLUMNS} | {"head": _head_value(key, chained)})
        written.append((event, chained))
        tip = (chained.seq or 0, chained.hash)
    _pipelined_commit(session, rows)
    for event, chained in written:
        _copy_into(event, chained)


def _pipelined_commit(session: Session, rows: list[dict[str, Any]]) -> None:
    import psycopg
    from psycopg.types.json import Json

    raw = session.connection().connection.dbapi_connection
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            for row in rows:
                cursor.execute(_PIPELINED_SQL, row | {"head": Json(row["head"]), "head_key": HEAD_KEY})
            raw.commit()
    except psycopg.errors.UniqueViolation as exc:
        raise HeadNotNewest(str(exc)) from exc
    except psycopg.OperationalError as exc:  # the connection was lost: as session_scope reports it
        from sqlalchemy.exc import DBAPIError

        session.connection().invalidate(exc)
        raise DBAPIError.instance(
            _PIPELINED_SQL, None, exc, psycopg.Error, connection_invalidated=True
        ) from exc
    stale = session.identity_map.get(session.identity_key(Setting, HEAD_KEY))
    if stale is not None:
        session.expire(stale)


# The event and the head rewrite (only if the event went in), as _fast_statements but with no skip on a
# taken seq or hash: the insert fails instead, so the COMMIT sent behind it never keeps a label unaudited.
_PIPELINED_SQL = (
    "WITH added AS (INSERT INTO auditevent (seq, ts, actor, action, entity, entity_id, payload, prev_hash, "
    "hash) VALUES (%(seq)s, %(ts)s, %(actor)s, %(action)s, %(entity)s, %(entity_id)s, %(payload)s, "
    "%(prev_hash)s, %(hash)s) RETURNING seq) "
    "UPDATE setting SET value = %(head)s, updated_at = %(ts)s "
    "WHERE key = %(head_key)s AND EXISTS (SELECT 1 FROM added)"
)


def _copy_into(event: AuditEvent, written: AuditEvent) -> None:
    for name in _COLUMNS:
        setattr(event, name, getattr(written, name))


def _locked_head_value(session: Session, pg: bool) -> Any:
    """The head row's value, the row locked until commit on PostgreSQL (None when there is no head)."""
    query = core_select(Setting.value).where(col(Setting.key) == HEAD_KEY)
    if pg:
        query = query.with_for_update()
    row = session.execute(query).first()
    return None if row is None else row[0]


def _signed_tip(key: AuditKey, value: Any) -> tuple[int, str] | None:
    """(seq, hash) of the newest event as the head records it, if the head is signed with this key."""
    if not isinstance(value, dict) or value.get("key_id") != key.key_id:
        return None
    seq, digest = value.get("seq"), value.get("hash")
    if not isinstance(seq, int) or not isinstance(digest, str):
        return None
    return (seq, digest) if key.check("head", f"{seq}:{digest}", value.get("mac")) else None


def _event(key: AuditKey, last_seq: int, prev_hash: str, **fields: str) -> AuditEvent:
    seq, ts = last_seq + 1, utcnow()
    body = event_body(seq=seq, ts=ts, **fields)
    return AuditEvent(seq=seq, ts=ts, prev_hash=prev_hash, hash=keyed_hash(key, prev_hash, body), **fields)


def _head_value(key: AuditKey, event: AuditEvent) -> dict[str, Any]:
    seq = event.seq or 0
    return {"seq": seq, "hash": event.hash, "key_id": key.key_id, "mac": head_mac(key, seq, event.hash)}


@cache
def _fast_statements(pg: bool) -> tuple[Any, ...]:
    """The insert of one event (skipped, not failed, when its seq or hash exists) and the head rewrite;
    on PostgreSQL one statement (the head is rewritten only if the event went in)."""
    events, settings = AuditEvent.__table__, Setting.__table__
    row = {name: bindparam(name, type_=events.c[name].type) for name in _COLUMNS}
    head = update(settings).where(settings.c.key == HEAD_KEY)
    head = head.values(value=bindparam("head", type_=settings.c.value.type), updated_at=row["ts"])
    if not pg:
        return (sqlite_insert(events).values(row).on_conflict_do_nothing(), head)
    added = pg_insert(events).values(row).on_conflict_do_nothing().returning(events.c.seq).cte("added")
    return (head.where(exists(core_select(added.c.seq))).returning(settings.c.key),)


def _write_fast(session: Session, pg: bool, key: AuditKey, event: AuditEvent) -> bool:
    """Insert the event after the signed head and rewrite the head; False if the event's seq or hash is
    already taken (the head is not the newest event: nothing was written)."""
    params = {name: getattr(event, name) for name in _COLUMNS} | {"head": _head_value(key, event)}
    conn = session.connection()
    if pg:
        (statement,) = _fast_statements(True)
        written = conn.execute(statement, params).first() is not None
    else:
        insert_event, rewrite_head = _fast_statements(False)
        written = conn.execute(insert_event, params).rowcount == 1
        if written:
            conn.execute(rewrite_head, params)
    if written:  # an ORM copy of the head row loaded earlier in this session is stale now
        stale = session.identity_map.get(session.identity_key(Setting, HEAD_KEY))
        if stale is not None:
            session.expire(stale)
    return written


def _record_from_events(session: Session, pg: bool, key: AuditKey, fields: dict[str, str]) -> AuditEvent:
    """The append when the head cannot name the newest event: read it from the events table (anchoring an
    unkeyed tail first), then write the events and the head through the session."""
    head = _lock_head(session, pg)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    if last is not None and _is_unkeyed(key, last):
        anchor = canonical_json({"key_id": key.key_id, "unkeyed_events": last.seq})
        last = _event(key, last.seq or 0, last.hash, actor="system", action=ANCHOR_ACTION, entity="audit",
                      entity_id="chain", payload=anchor)  # fmt: skip
        session.add(last)
    tip = ((last.seq or 0), last.hash) if last is not None else (0, GENESIS_HASH)
    event = _event(key, *tip, **fields)
    session.add(event)
    if head is None:
        head = Setting(key=HEAD_KEY, value=_head_value(key, event), updated_by="audit")
    else:
        head.value = _head_value(key, event)
        head.updated_at = event.ts
    session.add(head)
    session.flush()
    return event


def _lock_head(session: Session, pg: bool) -> Setting | None:
    """The head row through the session, locked (None before the first event). Only before the head exists
    is there no row to lock: then a transaction-level advisory lock serialises the appenders, and the head
    is read again once it is held (the one we waited for may have written it)."""
    query = select(Setting).where(Setting.key == HEAD_KEY).execution_options(populate_existing=True)
    if not pg:
        return session.exec(query).first()
    query = query.with_for_update()
    head = session.exec(query).first()
    if head is None:
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_LOCK_KEY))
        head = session.exec(query).first()
    return head


def _with_origin(
    actor: Actor | str, actor_name: str, payload: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Where a call came from when not the browser: a CLI token's prefix, or the OS user and host of a
    credential-less command (recorded as "system")."""
    from review_store.permissions import presented

    origin = None if isinstance(actor, str) else actor.origin
    if origin is None and actor_name == "system":
        shown = presented()
        origin = shown.origin if shown else None
    if origin is None or (payload and "origin" in payload):
        return payload
    return {**(payload or {}), "origin": origin}


def _is_unkeyed(key: AuditKey, event: AuditEvent) -> bool:
    body = event_text(event)
    return keyed_hash(key, event.prev_hash, body) != event.hash and (
        plain_hash(event.prev_hash, body) == event.hash
    )
