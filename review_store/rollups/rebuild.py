"""Rebuilding the rollups of whole hours from the raw rows (after a bulk load that bypassed them, a bug,
or to check them): the rollup rows of [start, end) are deleted and recomputed by the same functions the
writers use, so a rebuild of correct rollups changes nothing (tests/test_rollups.py).

Raw rows pruned by retention are gone, so a rebuild over pruned hours would lose their history: the
caller (desk.rollups) refuses a range that reaches before the oldest raw trace kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, inspect, select

from review_store.models import GuardrailEvent, JudgeVerdict, Trace
from review_store.rollups.maintain import NO_TS, Deltas, apply, hour_of
from review_store.rollups.tables import TABLES

CHUNK = 20_000
_TRACE_COLUMNS = (
    "ts", "app", "segment", "release", "model", "prompt_version", "task_success", "cache_hit", "latency_ms",
    "tokens_in", "tokens_out", "cost_usd", "input_chars", "top_retrieval_score", "cost_source", "shadow_of",
)  # fmt: skip
_EVENT_COLUMNS = ("ts", "segment", "release", "name", "stage", "action")
_VERDICT_COLUMNS = (
    "trace_ts",
    "segment",
    "release",
    "judge_config_id",
    "question_key",
    "score",
    "cost_usd",
    "error",
)


@dataclass(frozen=True)
class RebuildCounts:
    traces: int
    events: int
    verdicts: int
    rows: int  # rollup rows after the rebuild, in the range


def _span(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) widened to whole hours."""
    lo = hour_of(start) if start else None
    hi = None
    if end is not None:
        hi = hour_of(end)
        if hi < end:
            hi += timedelta(hours=1)
    return lo, hi


def _in(column: Any, lo: datetime | None, hi: datetime | None) -> list[Any]:
    out = []
    if lo is not None:
        out.append(column >= lo)
    if hi is not None:
        out.append(column < hi)
    return out


def _stream(conn: Any, table: Any, columns: tuple[str, ...], where: list[Any], order: Any) -> Any:
    """The rows in chunks by id (keyset), so a rebuild of millions of traces holds one chunk at a time."""
    last = 0
    while True:
        rows = (
            conn.execute(
                select(table.c.id, *(table.c[c] for c in columns))
                .where(and_(table.c.id > last, *where))
                .order_by(order)
                .limit(CHUNK)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        last = rows[-1]["id"]
        yield rows


def rebuild(conn: Any, *, start: datetime | None = None, end: datetime | None = None) -> RebuildCounts:
    """Delete and recompute every rollup row of the hours overlapping [start, end) (all without bounds)."""
    lo, hi = _span(start, end)
    schema = inspect(conn)
    present = {
        name: {c["name"] for c in schema.get_columns(name)}
        for name in (*(m.__table__.name for m in TABLES), "trace")
    }
    for model in TABLES:
        table = model.__table__
        conn.execute(delete(table).where(*_in(table.c.hour, lo, hi)))
    counts = {"traces": 0, "events": 0, "verdicts": 0}
    trace, event, verdict = Trace.__table__, GuardrailEvent.__table__, JudgeVerdict.__table__
    verdict_where = [verdict.c.error.is_(None), *_in(verdict.c.trace_ts, lo, hi)]
    if lo is None:  # verdicts without a trace time live at NO_TS
        verdict_where = [verdict.c.error.is_(None), *_in(func.coalesce(verdict.c.trace_ts, NO_TS), lo, hi)]
    event_where = _in(event.c.ts, lo, hi)
    if "shadow_of" in present["trace"]:  # a shadow trace's guardrail events are not rolled up
        shadows = select(trace.c.id).where(trace.c.shadow_of.is_not(None))
        event_where.append(event.c.trace_id.not_in(shadows))
    for table, columns, where, kind in (
        (trace, tuple(c for c in _TRACE_COLUMNS if c in present["trace"]), _in(trace.c.ts, lo, hi), "traces"),
        (event, _EVENT_COLUMNS, event_where, "events"),
        (verdict, _VERDICT_COLUMNS, verdict_where, "verdicts"),
    ):
        for rows in _stream(conn, table, columns, where, table.c.id):
            deltas = Deltas()
            add = {"traces": deltas.add_trace, "events": deltas.add_event, "verdicts": deltas.add_verdict}[
                kind
            ]
            for r in rows:
                add(r)
            apply(conn, deltas, present=present)
            counts[kind] += len(rows)
    rows = sum(
        conn.execute(
            select(func.count()).select_from(m.__table__).where(*_in(m.__table__.c.hour, lo, hi))
        ).scalar_one()
        for m in TABLES
    )
    return RebuildCounts(rows=rows, **counts)


def backfill_traffic_sums(conn: Any, deltas: Deltas) -> int:
    """Add the traffic rollup of every stored trace to `deltas` (streamed in chunks); returns the traces."""
    trace, n = Trace.__table__, 0
    present = {c["name"] for c in inspect(conn).get_columns("trace")}  # a migration's own revision
    for rows in _stream(conn, trace, tuple(c for c in _TRACE_COLUMNS if c in present), [], trace.c.id):
        for r in rows:
            deltas.add_trace(r)
        n += len(rows)
    return n
