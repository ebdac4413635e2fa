"""The append-only, hash-chained audit trail: what changed, who did it, and proof nobody edited history.

Every state-changing store function calls `record()` inside its own transaction, so the change and its
audit event commit or roll back together. Each event's hash is sha256(prev_hash + canonical JSON of the
event); the chain head (last seq and hash) is mirrored in the `setting` table so that deleting the newest
events is detected too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from review_store.hashing import canonical_json
from review_store.models import AuditEvent, Setting, utcnow
from review_store.permissions import Actor

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit.head"
_PG_LOCK_KEY = 7_204_118  # any constant; serialises appends so the chain never forks


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "ts": ts.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_LOCK_KEY))
    # SQLite: every write transaction starts with BEGIN IMMEDIATE (db.py), so appends are serialised.


def record(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: Any = "",
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (the caller commits)."""
    _lock_chain(session)
    actor_name = actor if isinstance(actor, str) else actor.username
    payload = _with_origin(actor, actor_name, payload)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    seq = (last.seq if last else 0) + 1
    prev_hash = last.hash if last else GENESIS_HASH
    ts = utcnow()
    body = canonical_json(payload or {})
    digest = event_hash(
        prev_hash=prev_hash,
        seq=seq,
        ts=ts,
        actor=actor_name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        payload=body,
    )
    event = AuditEvent(
        seq=seq,
        ts=ts,
        actor=actor_name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        payload=body,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    head = session.get(Setting, HEAD_KEY)
    if head is None:
        session.add(Setting(key=HEAD_KEY, value={"seq": seq, "hash": digest}, updated_by="audit"))
    else:
        head.value = {"seq": seq, "hash": digest}
        head.updated_at = ts
        session.add(head)
    session.flush()
    return event


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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def _stream(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(col(AuditEvent.seq)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(session: Session) -> VerifyResult:
    """Walk the whole chain; report the first event whose seq, link or hash does not hold."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in _stream(session):
        if event.seq != expected_seq:
            bad = min(event.seq, expected_seq)
            return VerifyResult(False, checked, bad, f"seq {expected_seq} is missing (next is {event.seq})")
        if event.prev_hash != prev_hash:
            return VerifyResult(
                False, checked, event.seq, f"seq {event.seq}: prev_hash does not link to seq {event.seq - 1}"
            )
        digest = event_hash(
            prev_hash=event.prev_hash,
            seq=event.seq,
            ts=event.ts,
            actor=event.actor,
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            payload=event.payload,
        )
        if digest != event.hash:
            return VerifyResult(
                False, checked, event.seq, f"seq {event.seq}: content does not match its hash"
            )
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(Setting, HEAD_KEY)
    if head is not None and checked:
        if head.value.get("seq") != expected_seq - 1 or head.value.get("hash") != prev_hash:
            bad = min(int(head.value.get("seq") or 0), expected_seq - 1) + 1
            return VerifyResult(
                False,
                checked,
                bad,
                f"chain ends at seq {expected_seq - 1} but the recorded head is seq {head.value.get('seq')}",
            )
    elif head is not None and not checked:
        return VerifyResult(False, 0, 1, "events were recorded but none are left")
    return VerifyResult(True, checked)


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[AuditEvent]:
    """Newest first, filtered in SQL."""
    query = select(AuditEvent)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if since:
        query = query.where(AuditEvent.ts >= since)
    if until:
        query = query.where(AuditEvent.ts < until)
    return list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit)).all())


def count_events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()
