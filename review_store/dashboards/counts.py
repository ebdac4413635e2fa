"""Traces and guardrail events per time bucket (and per group): the numerators and denominators of the
guardrail rates and of the anomaly rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from review_store.dashboards.common import (
    STEP,
    Filters,
    bucket_expr,
    bucket_grid,
    bucket_start,
    event_conditions,
    trace_conditions,
)
from review_store.models import GuardrailEvent, Trace


def traffic_query(session: Session, filters: Filters, bucket: str, by: str = "all") -> Any:
    """Traces per bucket (and per segment/release when grouping by them): the rates' denominator."""
    b = bucket_expr(session, Trace.ts, bucket)
    keys = [b] + ([getattr(Trace, by)] if by in ("segment", "release") else [])
    return select(*keys, func.count()).where(*trace_conditions(filters)).group_by(*keys)


def event_query(session: Session, filters: Filters, bucket: str, by: str = "all", **only: str | None) -> Any:
    b = bucket_expr(session, GuardrailEvent.ts, bucket)
    keys = [b] + ([getattr(GuardrailEvent, by)] if by != "all" else [])
    return select(*keys, func.count()).where(*event_conditions(filters, **only)).group_by(*keys)


# One range count per bucket beats one GROUP BY over a truncated timestamp at scale: each is an index range
# walk with no per-row truncation and no sort (a million traces over 51 days: ~70 ms instead of ~500 ms).
# Many small buckets (hours of a month) would mean hundreds of round trips, so those keep the GROUP BY.
MAX_BUCKET_QUERIES = 100


def per_bucket(session: Session, filters: Filters, bucket: str, grouped, single) -> dict[tuple, int]:
    """{(bucket start, *group keys): count}: `single(filters)` per bucket when there are few buckets,
    else `grouped` (a statement whose first column is the bucket expression)."""
    grid = bucket_grid(filters.start, filters.end, bucket)
    out: dict[tuple, int] = {}
    if len(grid) > MAX_BUCKET_QUERIES:
        for *keys, n in session.exec(grouped).all():
            out[(bucket_start(keys[0]), *keys[1:])] = n
        return out
    for start in grid:
        end = min(start + STEP[bucket], filters.end)
        span = Filters(max(start, filters.start), end, filters.release, filters.segment)
        for *keys, n in session.connection().execute(single(span)).all():
            if n:
                out[(start, *keys)] = n
    return out


def traffic_counts(session: Session, filters: Filters, bucket: str, by: str = "all") -> dict[tuple, int]:
    """{(bucket start,) or (bucket start, segment/release): traces}."""
    keys = [getattr(Trace, by)] if by in ("segment", "release") else []

    def single(span: Filters) -> Any:
        return select(*keys, func.count()).where(*trace_conditions(span)).group_by(*keys)

    return per_bucket(session, filters, bucket, traffic_query(session, filters, bucket, by), single)


def event_counts(
    session: Session, filters: Filters, bucket: str, keys: list[Any], **only: str | None
) -> dict[tuple, int]:
    """{(bucket start, *keys): guardrail events}."""
    b = bucket_expr(session, GuardrailEvent.ts, bucket)
    count = func.count()
    grouped = select(b, *keys, count).where(*event_conditions(filters, **only)).group_by(b, *keys)

    def single(span: Filters) -> Any:
        return select(*keys, count).where(*event_conditions(span, **only)).group_by(*keys)

    return per_bucket(session, filters, bucket, grouped, single)
