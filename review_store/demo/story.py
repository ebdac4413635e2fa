"""The demo's time line: one clock for the whole build, set to each event's moment, and an audit trail
written in time order.

The build runs under `clock.using(story.clock)`; store functions called through `story.call(when, ...)` take
their timestamps (created_at, the audit event's ts) from that clock, so nothing in the world is stamped
with the machine's time. Rows written in bulk (traces, verdicts, labels) carry times computed from the
world's end date, and their audit events are queued with those times and appended in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session

from review_store import audit
from review_store.clock import FixedClock

__all__ = ["Story"]

T = TypeVar("T")


class Story:
    def __init__(self, *, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.clock = FixedClock(start)
        self._queued: list[tuple[datetime, int, dict[str, Any]]] = []

    def day(self, days: float, **delta: float) -> datetime:
        """The moment `days` (and hours=, minutes=...) after the world's start."""
        return self.start + timedelta(days=days, **delta)

    def audit(self, when: datetime, **event: Any) -> None:
        """Queue an audit event (audit.record keywords) that happened at `when`."""
        self._queued.append((when, len(self._queued), event))

    def flush(self, session: Session, until: datetime | None = None) -> None:
        """Append the queued events up to `until` (all by default) to the audit chain, oldest first."""
        self._queued.sort(key=lambda e: (e[0], e[1]))
        while self._queued and (until is None or self._queued[0][0] <= until):
            when, _, event = self._queued.pop(0)
            self.clock.set(when)
            audit.record(session, **event)

    def call(self, session: Session, when: datetime, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run a store function at `when` (earlier queued events first), so it stamps that moment."""
        self.flush(session, until=when)
        self.clock.set(when)
        return fn(session, **kwargs)
