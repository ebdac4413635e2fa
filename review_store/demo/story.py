"""The demo's time line: one clock for the whole build, set to each event's moment, and an audit trail
written in time order.

The build runs under `clock.using(story.clock)`. Store functions run at their story moment, either at once
(`story.call(session, when, fn, ...)`) or queued (`story.later(when, fn, ...)`) and run by `flush` in time
order; either way they take their timestamps (created_at, the audit event's ts) from that clock, so
nothing in the world is stamped with the machine's time. Rows written in bulk (traces, verdicts, labels)
carry times computed from the world's end date, and their audit events are queued with those times
(`story.audit`); `flush` appends queued events and runs queued calls oldest first, so the audit chain is
in time order whatever order the builder wrote things in.
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
        self._queued: list[tuple[datetime, int, Callable[..., Any], dict[str, Any]]] = []
        self._written = start - timedelta(days=365)  # the latest moment run so far

    def day(self, days: float, **delta: float) -> datetime:
        """The moment `days` (and hours=, minutes=...) after the world's start."""
        return self.start + timedelta(days=days, **delta)

    def audit(self, when: datetime, **event: Any) -> None:
        """Queue an audit event (audit.record keywords) that happened at `when`."""
        self.later(when, audit.record, **event)

    def later(self, when: datetime, fn: Callable[..., Any], **kwargs: Any) -> None:
        """Queue the store call `fn(session, **kwargs)` to run at `when` (by `flush`, in time order)."""
        self._queued.append((when, len(self._queued), fn, kwargs))

    def flush(self, session: Session, until: datetime | None = None) -> None:
        """Run the queued events and calls up to `until` (all by default), oldest first, each at its moment."""
        self._queued.sort(key=lambda e: (e[0], e[1]))
        while self._queued and (until is None or self._queued[0][0] <= until):
            when, _, fn, kwargs = self._queued.pop(0)
            self._at(when, fn)
            fn(session, **kwargs)

    def call(self, session: Session, when: datetime, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run a store function at `when` (earlier queued events first), so it stamps that moment."""
        self.flush(session, until=when)
        self._at(when, fn)
        return fn(session, **kwargs)

    def _at(self, when: datetime, fn: Callable[..., Any]) -> None:
        """Set the clock to `when`; refuse to go back in time (the audit chain must stay in time order)."""
        if when < self._written:
            raise RuntimeError(
                f"demo story: {getattr(fn, '__name__', fn)} at {when.isoformat()} would run after "
                f"{self._written.isoformat()}; queue it (story.later) instead of calling it now"
            )
        self._written = when
        self.clock.set(when)
