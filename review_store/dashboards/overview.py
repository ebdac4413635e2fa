"""Dashboard queries: KPI aggregates computed in SQL over a date range, release and segment.

Every rate is a rate (per trace or per 1,000 traces), never a raw count alone, and each KPI comes with
the same measure over the preceding period of equal length, so a tile can say "up" or "down".
Trends and drill-downs are in dashboards/trends.py; the shared filter and buckets in dashboards/common.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from review_store.dashboards.common import (
    BUCKETS,
    Filters,
    bucket_expr,
    bucket_grid,
    bucket_start,
    floor_time,
    percentile,
    ratio,
    trace_conditions,
)
from review_store.models import JudgeConfig, JudgeVerdict, Trace
from review_store.rollups import read
from review_store.rollups.maintain import TRAFFIC_SUMS
from review_store.rollups.tables import RollupTraffic, RollupVerdict

__all__ = [
    "BUCKETS",
    "HALLUCINATION_MAX_SCORE",
    "KPI_DEFINITIONS",
    "NO_JUDGE",
    "TRACE_COLUMNS",
    "FilterOptions",
    "Filters",
    "Kpi",
    "bucket_expr",
    "bucket_grid",
    "bucket_start",
    "filter_options",
    "floor_time",
    "groundedness_judge",
    "groundedness_judge_id",
    "kpi_aggregates",
    "overview_kpis",
    "percentile",
    "trace_count",
    "traces_in",
    "verdict_conditions",
]

HALLUCINATION_MAX_SCORE = 2.0  # a groundedness verdict of 1-2 (of 5) counts as a hallucination


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str  # "%", "ms", "usd", "per_1k"
    higher_is_better: bool
    help: str

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "delta": self.delta}


def groundedness_judge(session: Session) -> JudgeConfig | None:
    """The judge config whose groundedness verdicts feed the hallucination KPI: the one covering the most
    traces (a new config tried on a few hundred labelled traces must not redefine a production KPI).

    Counted from the verdict rollups; ties to the newest config.
    """
    t = RollupVerdict.__table__
    rows = (
        session.connection()
        .execute(
            select(t.c.judge_config_id, func.sum(t.c.verdicts))
            .where(t.c.question_key == "groundedness")
            .group_by(t.c.judge_config_id)
        )
        .all()
    )
    best = max(((int(n or 0), cid) for cid, n in rows if n), default=None)
    return session.get(JudgeConfig, best[1]) if best else None


def verdict_conditions(filters: Filters, judge_id: int) -> list[Any]:
    """Successful groundedness verdicts of one judge on traces in the filter (the trace's ts, segment and
    release are copied onto the verdict, so no join: index ix_judgeverdict_ok_ts)."""
    conditions = [
        JudgeVerdict.judge_config_id == judge_id,
        JudgeVerdict.question_key == "groundedness",
        JudgeVerdict.error.is_(None),
        JudgeVerdict.trace_ts >= filters.start,
        JudgeVerdict.trace_ts < filters.end,
        JudgeVerdict.score.is_not(None),
    ]
    if filters.release:
        conditions.append(JudgeVerdict.release == filters.release)
    if filters.segment:
        conditions.append(JudgeVerdict.segment == filters.segment)
    return conditions


def kpi_aggregates() -> tuple[Any, ...]:
    """The per-trace sums behind the KPI tiles, in the order _periods and kpi_trends unpack them:
    traces, successes, success known, cost, cache hits, cache known, latencies known."""
    return (
        func.count(),
        func.sum(case((Trace.task_success.is_(True), 1), else_=0)),
        func.count(Trace.task_success),
        func.sum(Trace.cost_usd),
        func.sum(case((Trace.cache_hit.is_(True), 1), else_=0)),
        func.count(Trace.cache_hit),
        func.count(Trace.latency_ms),
    )


def judged(
    session: Session, filters: Filters, judge_id: int, bucket: str | None = None
) -> dict[tuple, list[int]]:
    """{(bucket,) or (): [verdicts, hallucinated]} of the groundedness judge's scored verdicts (rollups)."""
    where = {"judge_config_id": judge_id, "question_key": "groundedness", "has_score": True}
    out: dict[tuple, list[int]] = {}
    for (*head, score), (n, _, _) in read.totals(
        session, "verdict", filters, by=("score",), bucket=bucket, where=where
    ).items():
        row = out.setdefault(tuple(head), [0, 0])
        row[0] += n
        row[1] += n if score <= HALLUCINATION_MAX_SCORE else 0
    return out


def latency_histograms(
    session: Session, filters: Filters, bucket: str | None = None
) -> dict[tuple, dict[int, int]]:
    """{(bucket,) or (): {latency bucket: traces}} from the rollups."""
    out: dict[tuple, dict[int, int]] = {}
    for (*head, b), (n,) in read.totals(
        session, "value", filters, by=("bucket",), bucket=bucket, where={"metric": "latency"}
    ).items():
        out.setdefault(tuple(head), {})[b] = n
    return out


def kpi_values(
    sums: list[int], events: int, judged_row: list[int] | None, p95: float | None
) -> dict[str, Any]:
    """The six KPIs (and traces) from a traffic rollup row, the events, the judged counts and the p95."""
    row = dict(zip(TRAFFIC_SUMS, sums, strict=True))
    traces, ok = row["traces"], row["successes"]
    cost = read.cost_usd(row["cost_nanos"], row["cost_known"])
    n, bad = judged_row or (0, 0)
    return {
        "traces": traces,
        "task_success_rate": ratio(ok, row["success_known"]),
        "hallucination_rate": ratio(bad, n) if judged_row is not None else None,
        "p95_latency_ms": p95,
        "cost_per_successful_task_usd": ratio(cost, ok),
        "safety_triggers_per_1k": ratio(events * 1000, traces),
        "cache_hit_rate": ratio(row["cache_hits"], row["cache_known"]),
    }


def _periods(session: Session, filters: Filters, judge_id: int | None) -> tuple[dict, dict]:
    """The KPIs of the filter's period and of the one before it, from the rollups (p95 from the latency
    histogram: within 1 % of the exact nearest rank)."""
    out = []
    for period in (filters, filters.previous()):
        sums = read.one(read.totals(session, "traffic", period), "traffic")
        events = read.one(read.totals(session, "guard", period), "guard")[0]
        judged_row = judged(session, period, judge_id).get((), [0, 0]) if judge_id is not None else None
        p95 = read.percentile_of(latency_histograms(session, period).get((), {}), 0.95)
        out.append(kpi_values(sums, events, judged_row, p95))
    return out[0], out[1]


KPI_DEFINITIONS = [
    ("task_success_rate", "Task success", "%", True, "Share of traces whose task succeeded (where known)."),
    (
        "hallucination_rate",
        "Hallucination rate",
        "%",
        False,
        "Share of judged traces with a groundedness verdict of 1-2 of 5 (newest judge with verdicts).",
    ),
    ("p95_latency_ms", "p95 latency", "ms", False, "95th percentile of end-to-end latency (nearest rank)."),
    (
        "cost_per_successful_task_usd",
        "Cost per successful task",
        "usd",
        False,
        "Total cost divided by the number of successful tasks.",
    ),
    (
        "safety_triggers_per_1k",
        "Safety triggers / 1k traces",
        "per_1k",
        False,
        "Guardrail events (all guardrails, stages and actions) per 1,000 traces.",
    ),
    ("cache_hit_rate", "Cache hit rate", "%", True, "Share of traces answered from cache (where known)."),
]


NO_JUDGE: Any = object()  # 'look the groundedness judge up': a judge_id may be None


def groundedness_judge_id(session: Session) -> int | None:
    judge = groundedness_judge(session)
    return judge.id if judge else None


def overview_kpis(session: Session, filters: Filters, *, judge_id: Any = NO_JUDGE) -> list[Kpi]:
    """The Overview's six KPI tiles for the filter, each with its previous-period value.

    `judge_id` (from groundedness_judge_id) may be passed by a page that already looked it up.
    """
    if judge_id is NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    now, before = _periods(session, filters, judge_id)
    return [
        Kpi(key, label, now[key], before[key], unit, higher, help_text)
        for key, label, unit, higher, help_text in KPI_DEFINITIONS
    ]


def trace_count(session: Session, filters: Filters) -> int:
    return read.one(read.totals(session, "traffic", filters), "traffic")[0]


@dataclass(frozen=True)
class FilterOptions:
    first_ts: datetime | None
    last_ts: datetime | None
    releases: list[str]
    segments: list[str]


def filter_options(session: Session) -> FilterOptions:
    """What the filter bar offers: the data's time span and the known releases and segments."""
    # min and max as separate subqueries: each is one index probe (together in one SELECT, SQLite scans)
    first, last = session.exec(
        select(select(func.min(Trace.ts)).scalar_subquery(), select(func.max(Trace.ts)).scalar_subquery())
    ).one()
    releases = [r for r in read.distinct(session, RollupTraffic, "release") if r]
    segments = [s for s in read.distinct(session, RollupTraffic, "segment") if s]
    return FilterOptions(first, last, releases, segments)


TRACE_COLUMNS = (
    Trace.external_id,
    Trace.ts,
    Trace.segment,
    Trace.release,
    Trace.model,
    Trace.prompt_version,
    Trace.latency_ms,
    Trace.cost_usd,
    Trace.task_success,
    Trace.input,
    Trace.output,
)


def traces_in(session: Session, filters: Filters, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest traces behind a filter, for drill-down tables."""
    rows = session.exec(
        select(*TRACE_COLUMNS)
        .where(and_(*trace_conditions(filters)))
        .order_by(col(Trace.ts).desc())
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]
