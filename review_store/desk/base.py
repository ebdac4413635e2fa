"""What every part of the facade shares: frozen read models and transactions owned by the call.

A part method is the unit of work: it opens its own session, activates the desk's clock, re-reads the
acting user from the database (state changes only), commits on success and rolls back on any error,
and hands back frozen read models built before the session closed. Nothing mutable or bound to a
session crosses the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from review_store import clock
from review_store.audit import append
from review_store.db import read_session, session_scope
from review_store.permissions import Actor, refresh_actor

if TYPE_CHECKING:
    from pathlib import Path

    from review_store.desk import Desk


T = TypeVar("T")


class ReadModel(BaseModel):
    """A frozen view of committed state. Collections inside are tuples, so nothing can be edited."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data (ISO dates), for `--json` output and the HTTP API."""
        return self.model_dump(mode="json")


class Part:
    """One noun of the facade. Subclasses add public methods; each owns its transaction."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk

    @property
    def desk(self) -> Desk:
        return self._desk

    @contextmanager
    def _clock(self) -> Iterator[None]:
        with ExitStack() as stack:
            if self._desk.clock is not None:
                stack.enter_context(clock.using(self._desk.clock))
            yield

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read-only session (no write lock on SQLite) with the desk's clock in force."""
        with self._clock(), read_session(self._desk.engine) as session:
            yield session

    @contextmanager
    def _write(self, actor: Actor | None) -> Iterator[tuple[Session, Actor | None]]:
        """One transaction; yields the session and the actor as the database knows them NOW.

        The actor handed in is only a claim: its role and active flag are re-read (refresh_actor), so a
        deactivated or demoted user, or a forged Actor, is refused before anything is written.
        """
        with self._clock(), session_scope(self._desk.engine) as session:
            fresh = refresh_actor(session, actor) if actor is not None else None
            yield session, fresh

    def _write_audited_last(self, actor: Actor, work: Callable[[Session, Actor], T]) -> tuple[T, Actor]:
        """`work` in one transaction whose audit event is its last write (audit/append.py: on PostgreSQL
        the event goes with the COMMIT in one round trip, the audit head held across one wake-up less).
        Run once more the usual way if the head was not the newest event (nothing of the first run is
        kept). Returns work's result and the actor as re-read."""
        try:
            with self._write(actor) as (session, who), append.at_commit(session):
                result = work(session, who)
                append.commit_with_events(session)
                return result, who
        except append.HeadNotNewest:
            with self._write(actor) as (session, who):
                return work(session, who), who


def encode_cursor(last_id: int) -> str:
    """An opaque paging cursor for "after id N" (clients pass it back unchanged)."""
    import base64

    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a cursor resumes after (0 without one); ValidationFailed for anything not made here."""
    import base64
    import binascii

    from review_store.errors import ValidationFailed

    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, raw = text.partition(":")
        value = int(raw)
        if kind != "id" or value < 0 or str(value) != raw:
            raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "cursor: not a cursor this API returned (pass next_cursor unchanged)"
        ) from None
    return value


def read_text_file(path: Path) -> str:
    """A file the caller named (a manifest, an eval job's outputs), as UTF-8 text; ValidationFailed says
    which file and what is wrong with it."""
    from review_store.errors import ValidationFailed

    if not path.is_file():
        raise ValidationFailed(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
