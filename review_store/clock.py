"""Time as an input: the one place in the store that reads the wall clock.

Everything below the facade asks `clock.now()` for the time. That answers with the clock the facade
(or a test, or the demo builder) activated for the current call with `clock.using(...)`, else the
process default, which is the wall clock in production. Tests pin the default (see tests/conftest.py),
so no result of the store depends on the date a test happens to run.

Times are naive UTC datetimes, as stored (see models.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with now() -> naive UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock. The only reader of the real time in review_store."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that says what it is told: tests, `--as-of`, the demo builder. Thread-safe."""

    def __init__(self, at: datetime) -> None:
        self._at = _naive_utc(at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = _naive_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by a timedelta or timedelta keywords (seconds=5); returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._at = self._at + step
            return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


SYSTEM_CLOCK = SystemClock()
_default: Clock = SYSTEM_CLOCK
_active: ContextVar[Clock | None] = ContextVar("review_store_clock", default=None)


def current() -> Clock:
    """The clock in force here: the one activated for this call, else the process default."""
    return _active.get() or _default


def now() -> datetime:
    """Naive UTC now, from the clock in force."""
    return current().now()


def today() -> date:
    return now().date()


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the one in force for this block (this thread/task only)."""
    token = _active.set(clock)
    try:
        yield clock
    finally:
        _active.reset(token)


def set_default(clock: Clock) -> Clock:
    """Replace the process default (tests do this); returns the previous default."""
    global _default
    previous, _default = _default, clock
    return previous


def parse_instant(text: str, *, field: str = "as_of") -> datetime:
    """'2026-06-01' or '2026-06-01T08:00:00[Z|+02:00]' -> naive UTC; ValueError naming the field."""
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not an ISO 8601 date or time (e.g. 2026-06-01)") from None
    return _naive_utc(value)


class OffsetClock:
    """The wall clock shifted to start at `start`: time still runs (leases expire), from a chosen date.

    REVIEW_DESK_NOW=2026-06-01T08:00:00 runs the app or the CLI as if started then (demos, e2e tests).
    """

    def __init__(self, start: datetime) -> None:
        self._offset = _naive_utc(start) - SYSTEM_CLOCK.now()

    def now(self) -> datetime:
        return SYSTEM_CLOCK.now() + self._offset
