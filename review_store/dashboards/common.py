"""What every dashboard query shares: the filter (range, release, segment), time buckets in SQL on both
backends, the conditions a filter puts on traces and guardrail events, rates and SQL percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column
from sqlmodel import Session, select

from review_store.models import GuardrailEvent, Trace

BUCKETS = ("hour", "day", "week")
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
_SQLITE_PREFIX = {"hour": 13, "day": 10}
_SQLITE_BUCKET = {
    "hour": ("%Y-%m-%d %H:00:00",),
    "day": ("%Y-%m-%d 00:00:00",),
    "week": ("%Y-%m-%d 00:00:00", "weekday 0", "-6 days"),  # back to Monday, as PostgreSQL's ISO week
}


@dataclass(frozen=True)
class Filters:
    """What a dashboard's filter bar selects: [start, end) and optionally one release and one segment."""

    start: datetime
    end: datetime
    release: str | None = None
    segment: str | None = None

    def previous(self) -> Filters:
        """The period of equal length just before this one (same release and segment)."""
        span = self.end - self.start
        return Filters(self.start - span, self.start, self.release, self.segment)


def bucket_expr(session: Session, column: Any, bucket: str) -> Any:
    """The SQL expression that truncates a timestamp column to its hour, day or (Monday) week.

    SQLite has no date_trunc: strftime formats the start of the bucket (and 'weekday 0', '-6 days' walks a
    date back to its Monday); PostgreSQL uses date_trunc. Parse the values with `bucket_start()`.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{bucket}'"), column)
    if bucket in _SQLITE_PREFIX:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff': a prefix is the bucket, cheaply
        return func.substr(column, 1, _SQLITE_PREFIX[bucket])
    fmt, *modifiers = _SQLITE_BUCKET[bucket]
    return func.strftime(fmt, column, *modifiers)


def bucket_start(value: Any) -> datetime:
    """A bucket value from either backend (a string on SQLite, a timestamp on PostgreSQL) as a datetime."""
    if isinstance(value, datetime):
        return value
    text = str(value)
    return datetime.fromisoformat(text + ":00" if len(text) == 13 else text)  # 'YYYY-MM-DD HH' (hour)


def floor_time(ts: datetime, bucket: str) -> datetime:
    """Python's twin of bucket_expr, for building the full grid of buckets (empty ones included)."""
    if bucket == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if bucket == "day" else day - timedelta(days=day.weekday())


def bucket_grid(start: datetime, end: datetime, bucket: str) -> list[datetime]:
    """Every bucket start that overlaps [start, end), whether or not it holds data."""
    out, current = [], floor_time(start, bucket)
    while current < end:
        out.append(current)
        current += STEP[bucket]
    return out


def trace_conditions(filters: Filters) -> list[Any]:
    """The filter's conditions on trace rows."""
    conditions = [Trace.ts >= filters.start, Trace.ts < filters.end]
    if filters.release:
        conditions.append(Trace.release == filters.release)
    if filters.segment:
        conditions.append(Trace.segment == filters.segment)
    return conditions


def event_conditions(
    filters: Filters, name: str | None = None, stage: str | None = None, action: str | None = None
) -> list[Any]:
    """The filter's conditions on guardrail events (release and segment are copied onto each event),
    optionally narrowed to one guardrail name, stage or action."""
    conditions = [GuardrailEvent.ts >= filters.start, GuardrailEvent.ts < filters.end]
    for column, value in (
        (GuardrailEvent.release, filters.release),
        (GuardrailEvent.segment, filters.segment),
        (GuardrailEvent.name, name),
        (GuardrailEvent.stage, stage),
        (GuardrailEvent.action, action),
    ):
        if value:
            conditions.append(column == value)
    return conditions


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def percentile(
    session: Session, column: Any, conditions: list[Any], q: float, *, n: int | None = None
) -> float | None:
    """Nearest-rank percentile in SQL (ORDER BY ... OFFSET), the same on SQLite and PostgreSQL.

    For an upper percentile the rows are walked from the top (ORDER BY DESC, offset n - rank), so the
    database keeps a small top-N heap instead of sorting every row. `n` (the non-null count) may be
    passed when the caller already has it.
    """
    if n is None:
        n = session.exec(select(func.count(column)).where(*conditions, column.is_not(None))).one()
    if not n:
        return None
    rank = max(1, math.ceil(q * n))  # 1-based, ascending
    order, offset = (column.desc(), n - rank) if rank > n // 2 else (column, rank - 1)
    value = session.exec(
        select(column).where(*conditions, column.is_not(None)).order_by(order).offset(offset).limit(1)
    ).one()
    return float(value)
