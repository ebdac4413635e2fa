"""Reading the rollups for any time range, exactly.

A range [start, end) is read as its whole hours from the rollup tables plus, when start or end falls
inside an hour, that partial hour's raw rows (at most two hours of raw rows, through the time indexes),
rolled up on the fly by the same functions the writers use. So a dashboard number read here equals the
number the raw rows give, for any range, while its cost depends on the number of hours and groups, not
on the number of traces. After a prune, the raw rows of old partial hours are gone: ranges over pruned
time should start and end on whole hours (the dashboards' day ranges do).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from review_store.dashboards.common import Filters, floor_time
from review_store.models import GuardrailEvent, JudgeVerdict, Trace
from review_store.rollups import maintain as m
from review_store.rollups.tables import RollupGuardrail, RollupTraffic, RollupValue, RollupVerdict

HOUR = timedelta(hours=1)
# kind -> (rollup table, key names, sum names, Deltas attribute, raw table, raw time column, raw columns)
_KINDS: dict[str, tuple[Any, ...]] = {
    "traffic": (RollupTraffic, m.TRAFFIC_KEYS, m.TRAFFIC_SUMS, "traffic", Trace, "ts"),
    "guard": (RollupGuardrail, m.GUARD_KEYS, ("events",), "guard", GuardrailEvent, "ts"),
    "verdict": (RollupVerdict, m.VERDICT_KEYS, m.VERDICT_SUMS, "verdict", JudgeVerdict, "trace_ts"),
    "value": (RollupValue, m.VALUE_KEYS, ("n",), "value", Trace, "ts"),
}
_RAW_COLUMNS = {
    "traffic": (
        "ts", "app", "segment", "release", "model", "prompt_version", "task_success", "cache_hit",
        "latency_ms", "tokens_in", "tokens_out", "cost_usd", "input_chars", "top_retrieval_score", "cost_source", "shadow_of",
    ),
    "guard": ("ts", "segment", "release", "name", "stage", "action"),
    "verdict": (
        "trace_ts", "segment", "release", "judge_config_id", "question_key", "score", "cost_usd", "error",
    ),
}  # fmt: skip
_RAW_COLUMNS["value"] = _RAW_COLUMNS["traffic"]


def split(filters: Filters) -> tuple[tuple[datetime, datetime] | None, list[Filters]]:
    """The whole hours of the range, and the partial hours at its edges (as filters on raw rows)."""
    lo = floor_time(filters.start, "hour")
    if lo < filters.start:
        lo += HOUR
    hi = floor_time(filters.end, "hour")
    if lo >= hi:
        return None, [filters]
    edges = []
    if filters.start < lo:
        edges.append(Filters(filters.start, lo, filters.release, filters.segment))
    if hi < filters.end:
        edges.append(Filters(hi, filters.end, filters.release, filters.segment))
    return (lo, hi), edges


def totals(
    session: Session,
    kind: str,
    filters: Filters,
    *,
    by: Sequence[str] = (),
    bucket: str | None = None,
    where: dict[str, Any] | None = None,
) -> dict[tuple, list[int]]:
    """{(bucket start if bucket, *values of `by`): [sums]} over the range, for rows whose key columns
    equal `where` (and the filter's release and segment). Sums in the order of the kind's sum names."""
    table, keys, sums, _, _, _ = _KINDS[kind]
    where = {**(where or {})}
    if filters.release:
        where["release"] = filters.release
    if filters.segment:
        where["segment"] = filters.segment
    out: dict[tuple, list[int]] = {}

    def bump(key: tuple, values: Iterable[int]) -> None:
        current = out.setdefault(key, [0] * len(sums))
        for i, v in enumerate(values):
            current[i] += int(v or 0)

    whole, edges = split(filters)
    if whole is not None:
        t = table.__table__
        group = ([t.c.hour] if bucket else []) + [t.c[k] for k in by]
        conditions = [t.c.hour >= whole[0], t.c.hour < whole[1], *(t.c[k] == v for k, v in where.items())]
        stmt = select(*group, *(func.sum(t.c[s]) for s in sums)).where(and_(*conditions))
        for row in session.connection().execute(stmt.group_by(*group) if group else stmt).all():
            head = row[: len(group)]
            if bucket:
                head = (floor_time(_hour(head[0]), bucket), *head[1:])
            if not group and row[0] is None:  # no rows: sum() of nothing
                continue
            bump(tuple(head), row[len(group) :])
    for edge in edges:
        deltas = raw_deltas(session, kind, edge)
        for key, values in getattr(deltas, _KINDS[kind][3]).items():
            named = dict(zip(keys, key, strict=True))
            if any(named[k] != v for k, v in where.items()):
                continue
            head = tuple(named[k] for k in by)
            bump(((floor_time(named["hour"], bucket), *head) if bucket else head), values)
    return out


def raw_deltas(session: Session, kind: str, edge: Filters) -> m.Deltas:
    """The rollup of the raw rows of a partial hour (bounded: one hour at most)."""
    _, _, _, _, raw, time_column = _KINDS[kind]
    t = raw.__table__
    conditions = [t.c[time_column] >= edge.start, t.c[time_column] < edge.end]
    if edge.release:
        conditions.append(t.c.release == edge.release)
    if edge.segment:
        conditions.append(t.c.segment == edge.segment)
    if kind == "verdict":
        conditions.append(t.c.error.is_(None))
    if raw is Trace:  # shadow traces are not production traffic (as Deltas.add_trace)
        conditions.append(t.c.shadow_of.is_(None))
    if kind == "guard":  # nor are their guardrail events
        conditions.append(t.c.trace_id.not_in(select(Trace.id).where(Trace.shadow_of.is_not(None))))
    columns = [t.c[c] for c in _RAW_COLUMNS[kind]]
    deltas = m.Deltas()
    add = {"guard": deltas.add_event, "verdict": deltas.add_verdict}.get(kind, deltas.add_trace)
    for row in session.connection().execute(select(*columns).where(and_(*conditions))).mappings():
        add(row)
    return deltas


def _hour(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def traffic_sum(name: str) -> int:
    """The position of a traffic sum (m.TRAFFIC_SUMS) in the lists `totals` returns."""
    return m.TRAFFIC_SUMS.index(name)


def one(sums: dict[tuple, list[int]], kind: str) -> list[int]:
    """The single row of an ungrouped `totals` (zeros when the range is empty)."""
    return sums.get((), [0] * len(_KINDS[kind][2]))


def cost_usd(nanos: int, known: int) -> float | None:
    """Dollars from nanodollars; None when no row had a cost (as SQL's sum of only NULLs)."""
    return nanos / 1e9 if known else None


def percentile_of(hist: dict[int, int], q: float, *, value=m.latency_value) -> float | None:
    """Nearest-rank percentile from {bucket: count}; the bucket's value (within 1 % for latency)."""
    n = sum(hist.values())
    if not n:
        return None
    rank, seen = max(1, math.ceil(q * n)), 0  # as dashboards.common.percentile
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return value(bucket)
    return value(max(hist))


def distinct(session: Session, model: Any, column: str) -> list[Any]:
    """The distinct values of a rollup key column (small tables: no scan of raw rows)."""
    c = model.__table__.c[column]
    return [v for v in session.connection().execute(select(c).distinct().order_by(c)).scalars()]
