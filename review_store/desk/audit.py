"""desk.audit: verify the keyed chain, read and export its events, sign checkpoints, create the key."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from review_store.audit import append as audit_append
from review_store.audit import chain, keys
from review_store.audit import checkpoint as checkpoints
from review_store.audit.export import event_rows, to_csv, to_jsonl
from review_store.desk.base import Part, ReadModel
from review_store.errors import ConflictError, ValidationFailed
from review_store.permissions import BUILTIN_ROLES, SYSTEM, Actor, refresh_actor, require


class ChainReport(ReadModel):
    """The verdict of `verify`: ok, or the first bad seq and what is wrong with it."""

    ok: bool
    checked: int
    keyed: int
    first_bad_seq: int | None
    problem: str | None
    key_id: str | None
    checkpoint_seq: int | None

    @property
    def summary(self) -> str:
        if self.ok:
            against = f"; holds checkpoint seq {self.checkpoint_seq}" if self.checkpoint_seq else ""
            return f"audit chain intact: {self.checked} events ({self.keyed} keyed){against}"
        where = f" at seq {self.first_bad_seq}" if self.first_bad_seq else ""
        return f"audit chain BROKEN{where}: {self.problem}"


class AuditEventView(ReadModel):
    seq: int
    ts: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    payload: str
    prev_hash: str
    hash: str


class CheckpointView(ReadModel):
    """A signed checkpoint; `text` is the JSON to keep outside the database."""

    seq: int
    hash: str
    created_at: str
    key_id: str
    text: str


class KeyStatus(ReadModel):
    """Where the audit key is (or would be) and whether state changes can run."""

    source: str
    key_id: str | None
    team_mode: bool
    created: bool
    anchored_seq: int | None
    problem: str | None


class DateWindow(ReadModel):
    first: date
    last: date


class AuditPart(Part):
    def verify(
        self, *, actor: Actor, checkpoint_text: str | None = None, source: str = "checkpoint"
    ) -> ChainReport:
        """Walk the whole chain with the key; with a checkpoint (its file's text), also prove the chain
        still holds it (truncation, wipe and rewrite below the checkpoint show). Bad checkpoint files
        raise ValidationFailed naming `source`."""
        cp = checkpoints.parse(checkpoint_text, where=source) if checkpoint_text is not None else None
        with self._read() as session:
            require(refresh_actor(session, actor), "view_audit")
            result = chain.verify(session, checkpoint=cp)
            return ChainReport(**result.as_dict())

    def events(
        self,
        *,
        actor: Actor,
        who: str | None = None,
        action: str | None = None,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> tuple[AuditEventView, ...]:
        """Events newest first, filtered by actor name (`who`), action, entity and time [since, until)."""
        with self._read() as session:
            require(refresh_actor(session, actor), "view_audit")
            events = chain.list_events(
                session, actor=who, action=action, entity=entity, since=since, until=until, limit=limit
            )
            return tuple(AuditEventView.model_validate(e, from_attributes=True) for e in events)

    def export(
        self,
        *,
        actor: Actor,
        format: Literal["csv", "jsonl"],
        who: str | None = None,
        action: str | None = None,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> str:
        """Filtered events OLDEST first with their hashes, as CSV (formula cells neutralised) or JSONL."""
        if format not in ("csv", "jsonl"):
            raise ValidationFailed(f"format: expected csv or jsonl, got {format!r}")
        with self._read() as session:
            require(refresh_actor(session, actor), "view_audit")
            rows = event_rows(
                session, actor=who, action=action, entity=entity, since=since, until=until, limit=limit
            )
        rows.reverse()
        return to_csv(rows) if format == "csv" else to_jsonl(rows)

    def checkpoint(self, *, actor: Actor) -> CheckpointView:
        """Sign the current head (seq, hash, time) with the key; refused when the chain does not verify."""
        with self._read() as session:
            require(refresh_actor(session, actor), "view_audit")
            key = keys.load(chain.url_of(session))
            if key is None:
                raise keys.AuditKeyMissing("no audit key: a checkpoint is signed with it; " + _how(self))
            result = chain.verify(session, key=key)
            if not result.ok:
                raise ConflictError(f"refusing to checkpoint a broken chain (seq {result.first_bad_seq}: "
                                    f"{result.problem})")  # fmt: skip
            last = chain.last_event(session)
            cp = checkpoints.make(
                key, seq=(last.seq or 0) if last else 0, digest=last.hash if last else chain.GENESIS_HASH,
                at=self._now(),
            )  # fmt: skip
            return CheckpointView(
                seq=cp.seq, hash=cp.hash, created_at=cp.created_at, key_id=cp.key_id, text=cp.to_json()
            )

    def key_status(self) -> KeyStatus:
        """Is there a key for this database? `problem` says why state changes are refused (team mode)."""
        url = self._desk.url
        team = keys.is_team_mode(url)
        key = keys.load(url, create=not team)
        path = keys.key_path(url)
        source = key.source if key else str(path)
        problem = None if key else keys.missing_message(url)
        return KeyStatus(source=source, key_id=key.key_id if key else None, team_mode=team,
                         created=False, anchored_seq=None, problem=problem)  # fmt: skip

    def init_key(self, *, actor: Actor = SYSTEM) -> KeyStatus:
        """Create the key file where this database's processes will look (mode 0600) and anchor the chain.

        An existing key is kept, never overwritten. When the chain has unkeyed events (written before
        keys), an `audit.anchor` event keys it from here on; a new key is recorded as `audit.key_init`.
        Operators only (the system actor: whoever has the shell and the key file).
        """
        if actor.role not in BUILTIN_ROLES:
            raise ConflictError(
                "the audit key is created by an operator with shell access (system), not by a user"
            )
        url = self._desk.url
        path = keys.key_path(url)
        created = path is not None and not path.exists() and keys.write_key_file(path)
        key = keys.load(url)
        if key is None:  # pragma: no cover - write_key_file made it or it existed
            raise keys.AuditKeyMissing(keys.missing_message(url))
        anchored = None
        with self._write(actor) as (session, who):
            last = chain.last_event(session)
            keyed = last is None or chain.keyed_hash(key, last.prev_hash, chain.event_text(last)) == last.hash
            if created or not keyed:
                event = audit_append.record(session, actor=who or actor, action="audit.key_init", entity="audit",
                                     entity_id="key", payload={"key_id": key.key_id, "created": created},
                                     key=key)  # fmt: skip
                anchored = event.seq
        return KeyStatus(source=key.source, key_id=key.key_id, team_mode=keys.is_team_mode(url),
                         created=bool(created), anchored_seq=anchored, problem=None)  # fmt: skip

    def default_window(self, *, days: int = 365) -> DateWindow:
        """The last `days` days up to today by the desk's clock (the Audit page's default date range)."""
        today = self._now().date()
        return DateWindow(first=today - timedelta(days=days), last=today)

    def _now(self) -> datetime:
        with self._clock():
            from review_store import clock

            return clock.now()


def _how(part: AuditPart) -> str:
    return keys.missing_message(part.desk.url)
