"""Traces and guardrail events per time bucket (and per group): the numerators and denominators of the
guardrail rates and of the anomaly rule, read from the hourly rollups. traffic_query/event_query are the
same counts as raw SQL statements (kept for the query-plan tests and ad-hoc checks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from review_store.dashboards.common import (
    Filters,
    bucket_expr,
    event_conditions,
    trace_conditions,
)
from review_store.models import GuardrailEvent, Trace
from review_store.rollups import read


def traffic_query(session: Session, filters: Filters, bucket: str, by: str = "all") -> Any:
    """Traces per bucket (and per segment/release when grouping by them): the rates' denominator."""
    b = bucket_expr(session, Trace.ts, bucket)
    keys = [b] + ([getattr(Trace, by)] if by in ("segment", "release") else [])
    return select(*keys, func.count()).where(*trace_conditions(filters)).group_by(*keys)


def event_query(session: Session, filters: Filters, bucket: str, by: str = "all", **only: str | None) -> Any:
    b = bucket_expr(session, GuardrailEvent.ts, bucket)
    keys = [b] + ([getattr(GuardrailEvent, by)] if by != "all" else [])
    return select(*keys, func.count()).where(*event_conditions(filters, **only)).group_by(*keys)


def traffic_counts(session: Session, filters: Filters, bucket: str, by: str = "all") -> dict[tuple, int]:
    """{(bucket start,) or (bucket start, segment/release): traces}, from the traffic rollup."""
    keys = (by,) if by in ("segment", "release") else ()
    sums = read.totals(session, "traffic", filters, by=keys, bucket=bucket)
    return {key: values[0] for key, values in sums.items() if values[0]}


def event_counts(
    session: Session, filters: Filters, bucket: str, keys: list[Any], **only: str | None
) -> dict[tuple, int]:
    """{(bucket start, *keys): guardrail events}, from the guardrail rollup (keys: GuardrailEvent columns
    or their names among segment, release, name, stage, action)."""
    names = tuple(k if isinstance(k, str) else k.key for k in keys)
    where = {k: v for k, v in only.items() if v}
    sums = read.totals(session, "guard", filters, by=names, bucket=bucket, where=where)
    return {key: values[0] for key, values in sums.items() if values[0]}
