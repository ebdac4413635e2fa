"""Dashboard queries: KPI aggregates computed in SQL over a date range, release and segment.

Every rate is a rate (per trace or per 1,000 traces), never a raw count alone, and each KPI comes with
the same measure over the preceding period of equal length, so a tile can say "up" or "down".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from review_store.models import GuardrailEvent, JudgeConfig, JudgeVerdict, Trace

HALLUCINATION_MAX_SCORE = 2.0  # a groundedness verdict of 1-2 (of 5) counts as a hallucination


@dataclass(frozen=True)
class Filters:
    """What the Overview's filter bar selects; None means all."""

    start: datetime
    end: datetime
    release: str | None = None
    segment: str | None = None

    def previous(self) -> Filters:
        span = self.end - self.start
        return Filters(self.start - span, self.start, self.release, self.segment)


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


def _trace_conditions(filters: Filters) -> list[Any]:
    conditions = [Trace.ts >= filters.start, Trace.ts < filters.end]
    if filters.release:
        conditions.append(Trace.release == filters.release)
    if filters.segment:
        conditions.append(Trace.segment == filters.segment)
    return conditions


def _event_conditions(filters: Filters) -> list[Any]:
    conditions = [GuardrailEvent.ts >= filters.start, GuardrailEvent.ts < filters.end]
    if filters.release:
        conditions.append(GuardrailEvent.release == filters.release)
    if filters.segment:
        conditions.append(GuardrailEvent.segment == filters.segment)
    return conditions


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def percentile(session: Session, column: Any, conditions: list[Any], q: float) -> float | None:
    """Nearest-rank percentile in SQL (ORDER BY ... OFFSET), the same on SQLite and PostgreSQL."""
    n = session.exec(select(func.count(column)).where(*conditions, column.is_not(None))).one()
    if not n:
        return None
    offset = max(0, math.ceil(q * n) - 1)
    value = session.exec(
        select(column).where(*conditions, column.is_not(None)).order_by(column).offset(offset).limit(1)
    ).one()
    return float(value)


def groundedness_judge(session: Session) -> JudgeConfig | None:
    """The judge config whose groundedness verdicts feed the hallucination KPI: the newest with any."""
    return session.exec(
        select(JudgeConfig)
        .where(
            select(JudgeVerdict.id)
            .where(
                JudgeVerdict.judge_config_id == JudgeConfig.id, JudgeVerdict.question_key == "groundedness"
            )
            .exists()
        )
        .order_by(col(JudgeConfig.created_at).desc(), col(JudgeConfig.version).desc())
        .limit(1)
    ).first()


def _period(session: Session, filters: Filters, judge_id: int | None) -> dict[str, float | None]:
    conditions = _trace_conditions(filters)
    row = session.exec(
        select(
            func.count(Trace.id),
            func.sum(case((Trace.task_success.is_(True), 1), else_=0)),
            func.count(Trace.task_success),
            func.sum(Trace.cost_usd),
            func.sum(case((Trace.cache_hit.is_(True), 1), else_=0)),
            func.count(Trace.cache_hit),
        ).where(*conditions)
    ).one()
    traces, successes, success_known, cost, cache_hits, cache_known = row
    events = session.exec(select(func.count(GuardrailEvent.id)).where(*_event_conditions(filters))).one()
    hallucination = None
    if judge_id is not None:
        judged, hallucinated = session.exec(
            select(
                func.count(JudgeVerdict.id),
                func.sum(case((JudgeVerdict.score <= HALLUCINATION_MAX_SCORE, 1), else_=0)),
            )
            .join(Trace, col(Trace.id) == JudgeVerdict.trace_id)
            .where(
                *conditions,
                JudgeVerdict.judge_config_id == judge_id,
                JudgeVerdict.question_key == "groundedness",
                JudgeVerdict.error.is_(None),
                JudgeVerdict.score.is_not(None),
            )
        ).one()
        hallucination = _ratio(hallucinated, judged)
    return {
        "traces": traces,
        "task_success_rate": _ratio(successes, success_known),
        "hallucination_rate": hallucination,
        "p95_latency_ms": percentile(session, Trace.latency_ms, conditions, 0.95),
        "cost_per_successful_task_usd": _ratio(cost, successes),
        "safety_triggers_per_1k": _ratio(events * 1000, traces),
        "cache_hit_rate": _ratio(cache_hits, cache_known),
    }


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


def overview_kpis(session: Session, filters: Filters) -> list[Kpi]:
    """The Overview's six KPI tiles for the filter, each with its previous-period value."""
    judge = groundedness_judge(session)
    judge_id = judge.id if judge else None
    now, before = _period(session, filters, judge_id), _period(session, filters.previous(), judge_id)
    return [
        Kpi(key, label, now[key], before[key], unit, higher, help_text)
        for key, label, unit, higher, help_text in KPI_DEFINITIONS
    ]


def trace_count(session: Session, filters: Filters) -> int:
    return session.exec(select(func.count(Trace.id)).where(*_trace_conditions(filters))).one()


@dataclass(frozen=True)
class FilterOptions:
    first_ts: datetime | None
    last_ts: datetime | None
    releases: list[str]
    segments: list[str]


def filter_options(session: Session) -> FilterOptions:
    """What the filter bar offers: the data's time span and the known releases and segments."""
    first, last = session.exec(select(func.min(Trace.ts), func.max(Trace.ts))).one()
    releases = [r for r in session.exec(select(Trace.release).distinct().order_by(Trace.release)).all() if r]
    segments = [s for s in session.exec(select(Trace.segment).distinct().order_by(Trace.segment)).all() if s]
    return FilterOptions(first, last, releases, segments)


def traces_in(session: Session, filters: Filters, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest traces behind a filter, for drill-down tables."""
    rows = session.exec(
        select(
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
        .where(and_(*_trace_conditions(filters)))
        .order_by(col(Trace.ts).desc())
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]
