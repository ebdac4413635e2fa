"""The counts behind the rollback rule's rates, read from the hourly rollups.

A window [start, end] (end inclusive: the release's newest trace) is read as its whole hours from the
rollups plus, at its partial edge hours, the raw rows of that release (at most two hours, through
ix_trace_release_ts), so the counts equal what the raw rows give and their cost depends on the number of
hours, not of traces. Two definitions follow the rollups:
- a guardrail event is in the window when its own time is (as on the Guardrails page); events carry their
  trace's time unless a source reports another one, and then the raw edge hours join on the trace's time
  as before;
- judge verdicts are the successful ones (error null) with a numeric score, by their trace's time;
- p95 latency is read from the latency histogram: within 1 % of the nearest-rank value
  (review_store.rollups.maintain).
When the release's newest (or first) hour has been pruned, the window ends (or starts) on that hour's
boundary: only whole hours remain to be read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from review_store.models import GuardrailEvent, JudgeVerdict, Trace
from review_store.rollups import maintain
from review_store.rollups.read import percentile_of
from review_store.rollups.tables import RollupGuardrail, RollupTraffic, RollupValue, RollupVerdict

HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)  # [start, end] inclusive is [start, end + TICK)
JUDGE_FAIL_SCORE = 2.0


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR


def _floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _as_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def release_span(session: Session, name: str) -> tuple[datetime, datetime] | None:
    """(first, last) trace time of a release: its first and newest rollup hour, made exact from that
    hour's raw rows when they are still there (else the hour's start, or the hour's last tick)."""
    t = RollupTraffic.__table__
    lo, hi = (
        session.connection()
        .execute(select(func.min(t.c.hour), func.max(t.c.hour)).where(t.c.release == name))
        .one()
    )
    if hi is None:
        return None
    lo, hi = _as_dt(lo), _as_dt(hi)

    def exact(agg, hour: datetime) -> datetime | None:
        in_hour = (Trace.release == name, Trace.ts >= hour, Trace.ts < hour + HOUR)
        value = session.exec(select(agg(Trace.ts)).where(*in_hour)).scalar_one()
        return None if value is None else _as_dt(value)

    first = exact(func.min, lo) or lo
    last = exact(func.max, hi) or hi + HOUR - TICK
    return first, last


def _split(start: datetime, stop: datetime) -> tuple[tuple[datetime, datetime] | None, list[tuple]]:
    lo, hi = _ceil_hour(start), _floor_hour(stop)
    if lo >= hi:
        return None, [(start, stop)]
    return (lo, hi), [(a, b) for a, b in ((start, lo), (hi, stop)) if a < b]


def traces_in(session: Session, name: str, start: datetime, end: datetime) -> int:
    """Traces of the release with start <= ts <= end."""
    whole, edges = _split(start, end + TICK)
    n = 0
    if whole:
        t = RollupTraffic.__table__
        n += (
            session.connection()
            .execute(
                select(func.sum(t.c.traces)).where(
                    t.c.release == name, t.c.hour >= whole[0], t.c.hour < whole[1]
                )
            )
            .scalar_one()
            or 0
        )
    for a, b in edges:
        in_edge = (Trace.release == name, Trace.ts >= a, Trace.ts < b)
        n += session.exec(select(func.count()).select_from(Trace).where(*in_edge)).scalar_one()
    return int(n)


def rates(session: Session, name: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts behind every rate of one release in one window [start, end]."""
    whole, edges = _split(start, end + TICK)
    out: dict[str, Any] = {"n": 0, "events": {}, "segments": {}, "judged": {}, "latency": {}}
    if whole:
        _add_rollups(session, name, whole, out)
    for a, b in edges:
        _add_raw(session, name, a, b, out)
    return {
        "n": out["n"],
        "events": [(nm, seg, c) for (nm, seg), c in sorted(out["events"].items()) if c],
        "segments": {k: v for k, v in out["segments"].items() if v},
        "judged": {q: (c, f) for q, (c, f) in out["judged"].items() if c},
        "p95": percentile_of(out["latency"], 0.95),
    }


def _bump(table: dict, key: Any, value: int) -> None:
    table[key] = table.get(key, 0) + int(value or 0)


def _add_rollups(session: Session, name: str, whole: tuple[datetime, datetime], out: dict) -> None:
    conn = session.connection()

    def where(t):
        return and_(t.c.release == name, t.c.hour >= whole[0], t.c.hour < whole[1])

    t = RollupTraffic.__table__
    for seg, n in conn.execute(
        select(t.c.segment, func.sum(t.c.traces)).where(where(t)).group_by(t.c.segment)
    ):
        _bump(out["segments"], seg, n)
        out["n"] += int(n or 0)
    g = RollupGuardrail.__table__
    for nm, seg, n in conn.execute(
        select(g.c.name, g.c.segment, func.sum(g.c.events)).where(where(g)).group_by(g.c.name, g.c.segment)
    ):
        _bump(out["events"], (nm, seg), n)
    v = RollupVerdict.__table__
    fail = func.sum(case((v.c.score <= JUDGE_FAIL_SCORE, v.c.verdicts), else_=0))
    for q, n, f in conn.execute(
        select(v.c.question_key, func.sum(v.c.verdicts), fail)
        .where(where(v), v.c.has_score.is_(True))
        .group_by(v.c.question_key)
    ):
        c0, f0 = out["judged"].get(q, (0, 0))
        out["judged"][q] = (c0 + int(n or 0), f0 + int(f or 0))
    h = RollupValue.__table__
    for bucket, n in conn.execute(
        select(h.c.bucket, func.sum(h.c.n)).where(where(h), h.c.metric == "latency").group_by(h.c.bucket)
    ):
        _bump(out["latency"], int(bucket), n)


def _add_raw(session: Session, name: str, a: datetime, b: datetime, out: dict) -> None:
    """A partial hour from the raw rows (the rule's original SQL, bounded to this edge)."""
    in_edge = (Trace.release == name, Trace.ts >= a, Trace.ts < b)
    for seg, n in session.exec(select(Trace.segment, func.count()).where(*in_edge).group_by(Trace.segment)):
        _bump(out["segments"], seg, n)
        out["n"] += int(n)
    for nm, seg, n in session.exec(
        select(GuardrailEvent.name, GuardrailEvent.segment, func.count())
        .join(Trace, col(Trace.id) == GuardrailEvent.trace_id)
        .where(*in_edge)
        .group_by(GuardrailEvent.name, GuardrailEvent.segment)
    ):
        _bump(out["events"], (nm, seg), n)
    for q, n, f in session.exec(
        select(
            JudgeVerdict.question_key,
            func.count(),
            func.sum(case((col(JudgeVerdict.score) <= JUDGE_FAIL_SCORE, 1), else_=0)),
        )
        .join(Trace, col(Trace.id) == JudgeVerdict.trace_id)
        .where(*in_edge, col(JudgeVerdict.score).is_not(None), col(JudgeVerdict.error).is_(None))
        .group_by(JudgeVerdict.question_key)
    ):
        c0, f0 = out["judged"].get(q, (0, 0))
        out["judged"][q] = (c0 + int(n), f0 + int(f or 0))
    for (latency,) in session.exec(
        select(Trace.latency_ms).where(*in_edge, col(Trace.latency_ms).is_not(None))
    ):
        _bump(out["latency"], maintain.latency_bucket(latency), 1)
