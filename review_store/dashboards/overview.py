"""Dashboard queries: KPI aggregates computed in SQL over a date range, release and segment.

Every rate is a rate (per trace or per 1,000 traces), never a raw count alone, and each KPI comes with
the same measure over the preceding period of equal length, so a tile can say "up" or "down".
Trends and drill-downs are in dashboards/trends.py; the shared filter and buckets in dashboards/common.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, text
from sqlmodel import Session, col, select

from review_store.dashboards.common import (
    BUCKETS,
    Filters,
    bucket_expr,
    bucket_grid,
    bucket_start,
    event_conditions,
    floor_time,
    percentile,
    ratio,
    trace_conditions,
)
from review_store.models import JudgeConfig, JudgeVerdict, Trace

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


_SQLITE_JUDGE_COUNT = text(
    "SELECT count(*) FROM judgeverdict INDEXED BY ix_judgeverdict_ok_ts "
    "WHERE judge_config_id = :c AND question_key = 'groundedness' AND error IS NULL"
)


def groundedness_judge(session: Session) -> JudgeConfig | None:
    """The judge config whose groundedness verdicts feed the hallucination KPI: the one covering the most
    traces (a new config tried on a few hundred labelled traces must not redefine a production KPI).

    One index-only count per config (partial index ix_judgeverdict_ok_ts), ties to the newest config.
    """
    best: tuple[int, int] | None = None
    sqlite = session.get_bind().dialect.name == "sqlite"
    for config_id in session.exec(select(JudgeConfig.id).order_by(col(JudgeConfig.id).desc())).all():
        if sqlite:  # its planner prefers the non-covering (config, question) index and reads every row
            n = session.connection().execute(_SQLITE_JUDGE_COUNT, {"c": config_id}).scalar_one()
        else:
            n = session.exec(
                select(func.count())
                .select_from(JudgeVerdict)
                .where(
                    JudgeVerdict.judge_config_id == config_id,
                    JudgeVerdict.question_key == "groundedness",
                    JudgeVerdict.error.is_(None),
                )
            ).one()
        if n and (best is None or n > best[0]):
            best = (n, config_id)
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


def _periods(session: Session, filters: Filters, judge_id: int | None) -> tuple[dict, dict]:
    """The KPIs of the filter's period and of the one before it (1 = now, 0 = before): one plain aggregate
    per period and table (no GROUP BY on a period flag, which makes SQLite sort every row)."""
    per: dict[int, dict[str, Any]] = {}
    events: dict[int, int] = {}
    judged: dict[int, tuple[int, int]] = {}
    for flag, period in ((1, filters), (0, filters.previous())):
        row = session.exec(select(*kpi_aggregates()).where(*trace_conditions(period))).one()
        per[flag] = dict(
            zip(("traces", "ok", "known", "cost", "hits", "cache_known", "n_latency"), row, strict=True)
        )
        events[flag] = session.exec(select(func.count()).where(*event_conditions(period))).one()
        if judge_id is not None:
            n, bad = session.exec(
                select(
                    func.count(),
                    func.sum(case((JudgeVerdict.score <= HALLUCINATION_MAX_SCORE, 1), else_=0)),
                ).where(*verdict_conditions(period, judge_id))
            ).one()
            judged[flag] = (n, bad or 0)
    out = []
    for flag, period in ((1, filters), (0, filters.previous())):
        row = per[flag]
        traces = row.get("traces", 0)
        n, bad = judged.get(flag, (0, 0))
        out.append(
            {
                "traces": traces,
                "task_success_rate": ratio(row.get("ok"), row.get("known")),
                "hallucination_rate": ratio(bad, n) if judge_id is not None else None,
                "p95_latency_ms": percentile(
                    session, Trace.latency_ms, trace_conditions(period), 0.95, n=row.get("n_latency", 0)
                ),
                "cost_per_successful_task_usd": ratio(row.get("cost"), row.get("ok")),
                "safety_triggers_per_1k": ratio(events.get(flag, 0) * 1000, traces),
                "cache_hit_rate": ratio(row.get("hits"), row.get("cache_known")),
            }
        )
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
    return session.exec(select(func.count()).where(*trace_conditions(filters))).one()


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
    releases = [r for r in session.exec(select(Trace.release).distinct().order_by(Trace.release)).all() if r]
    segments = [s for s in session.exec(select(Trace.segment).distinct().order_by(Trace.segment)).all() if s]
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
