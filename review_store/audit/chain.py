"""The keyed hash chain: what an event's hash covers, and verifying the whole chain (append.py appends).

Each event's hash is HMAC-SHA256(chain key, prev_hash + canonical JSON of the event); the head (last
seq, its hash, the key id) is mirrored in the `setting` table with its own HMAC, so deleting the newest
events, or all of them, shows. Chains written before the key existed (plain sha256) stay verifiable:
their events form an unkeyed prefix, and the first keyed event after them is an `audit.anchor` event
whose HMAC covers the whole prefix. After a keyed event, an unkeyed one is a failure; an unkeyed chain
with no keyed event at all is reported as not anchored (anyone with database access can rewrite it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from review_store.audit import keys
from review_store.audit.keys import AuditKey
from review_store.hashing import canonical_json
from review_store.models import AuditEvent, Setting

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit.head"
ANCHOR_ACTION = "audit.anchor"


def event_body(
    *, seq: int, ts: datetime, actor: str, action: str, entity: str, entity_id: str, payload: str
) -> str:
    """The canonical text of one event that its hash covers (after the previous hash)."""
    fields = {"seq": seq, "ts": ts.isoformat(timespec="microseconds"), "actor": actor, "action": action}
    return canonical_json(fields | {"entity": entity, "entity_id": entity_id, "payload": payload})


def event_text(event: AuditEvent) -> str:
    return event_body(
        seq=event.seq or 0,
        ts=event.ts,
        actor=event.actor,
        action=event.action,
        entity=event.entity,
        entity_id=event.entity_id,
        payload=event.payload,
    )


def plain_hash(prev_hash: str, body: str) -> str:
    """The unkeyed hash of chains written before the key existed."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def keyed_hash(key: AuditKey, prev_hash: str, body: str) -> str:
    return key.mac("chain", prev_hash + body)


def head_mac(key: AuditKey, seq: int, digest: str) -> str:
    return key.mac("head", f"{seq}:{digest}")


def url_of(session: Session) -> str:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    return engine.url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    keyed: int = 0  # events checked with the key (the rest are an anchored unkeyed prefix)
    key_id: str | None = None
    checkpoint_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "keyed": self.keyed,
            "key_id": self.key_id,
            "checkpoint_seq": self.checkpoint_seq,
        }


def stream(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    """Every event in seq order, read in batches."""
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(col(AuditEvent.seq)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq or 0


@dataclass
class _Walk:
    checked: int = 0
    keyed: int = 0
    prev_hash: str = GENESIS_HASH
    hashes_at: dict[int, str] | None = None


def verify(session: Session, *, key: AuditKey | None = None, checkpoint: Any = None) -> VerifyResult:
    """Walk the whole chain; report the first event whose seq, link or hash does not hold, then the head.

    `key` defaults to the database's key (never created here). `checkpoint` (audit.checkpoint.Checkpoint)
    additionally proves the chain still holds the checkpointed event: truncation and wipes show.
    """
    key = key or keys.load(url_of(session))
    key_id = key.key_id if key else None
    walk = _Walk(hashes_at={})
    wanted = {checkpoint.seq} if checkpoint is not None else set()

    def bad(seq: int | None, problem: str) -> VerifyResult:
        return VerifyResult(False, walk.checked, seq, problem, walk.keyed, key_id)

    for event in stream(session):
        seq = event.seq or 0
        if seq != walk.checked + 1:
            return bad(walk.checked + 1, f"seq {walk.checked + 1} is missing (next is {seq})")
        if event.prev_hash != walk.prev_hash:
            return bad(seq, f"seq {seq}: prev_hash does not link to seq {seq - 1}")
        body = event_text(event)
        if key is not None and keyed_hash(key, event.prev_hash, body) == event.hash:
            walk.keyed += 1
        elif walk.keyed == 0 and plain_hash(event.prev_hash, body) == event.hash:
            pass  # the unkeyed prefix of a chain older than its key
        elif key is None:
            return bad(seq, f"seq {seq}: keyed event and no audit key to check it ({keys.ENV_KEY_FILE})")
        else:
            return bad(seq, f"seq {seq}: content does not match its keyed hash (edited, or another key)")
        walk.prev_hash, walk.checked = event.hash, seq
        if seq in wanted:
            walk.hashes_at[seq] = event.hash  # type: ignore[index]
    problem = _head_problem(session, key, walk) or _anchor_problem(key, walk) or _wipe_problem(session, walk)
    if problem:
        return bad(*problem)
    if checkpoint is not None:
        from review_store.audit.checkpoint import check_against

        cp_problem = check_against(checkpoint, key, last_seq=walk.checked, hashes_at=walk.hashes_at or {})
        if cp_problem:
            return bad(*cp_problem)
    return VerifyResult(True, walk.checked, None, None, walk.keyed, key_id, checkpoint and checkpoint.seq)


def _head_problem(session: Session, key: AuditKey | None, walk: _Walk) -> tuple[int, str] | None:
    head = session.get(Setting, HEAD_KEY)
    last = walk.checked
    if head is None:
        if last:
            return last + 1, (
                f"the chain head ({HEAD_KEY}) is missing: {last} events are present, so newer events "
                "and the head may have been deleted"
            )
        return None
    value = head.value if isinstance(head.value, dict) else {}
    head_seq = value.get("seq")
    if not last:
        return 1, f"events were recorded (head at seq {head_seq}) but none are left"
    if head_seq != last or value.get("hash") != walk.prev_hash:
        first = min(int(head_seq) if isinstance(head_seq, int) else 0, last) + 1
        return first, f"chain ends at seq {last} but the recorded head is seq {head_seq}"
    if walk.keyed and key is not None and not key.check("head", f"{last}:{walk.prev_hash}", value.get("mac")):
        return last, f"the chain head ({HEAD_KEY}) is not signed with the audit key: it was rewritten"
    return None


def _anchor_problem(key: AuditKey | None, walk: _Walk) -> tuple[int, str] | None:
    if walk.checked and not walk.keyed:
        how = "run `review-desk audit init-key` to anchor it" if key is None else "anchor it with a change"
        return 1, (
            f"none of the {walk.checked} events is keyed: anyone with database access could have "
            f"rewritten this chain ({how})"
        )
    return None


def _wipe_problem(session: Session, walk: _Walk) -> tuple[int, str] | None:
    """No events and no head, yet data that only audited changes write: the trail was wiped."""
    if walk.checked:
        return None
    for table in SQLModel.metadata.sorted_tables:
        if table.name == AuditEvent.__tablename__:
            continue
        query = select(func.count()).select_from(table)
        if table.name == Setting.__tablename__:
            query = query.where(table.c.key != HEAD_KEY)
        rows = session.exec(query).one()
        if rows:
            return 1, f"the audit trail is empty but table {table.name!r} holds {rows} rows: it was wiped"
    return None


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


def last_event(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
