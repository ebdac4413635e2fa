"""KPI trends (one value per hour/day/week bucket, for sparklines) and the drill-down from a poor KPI to
the prompt versions, models and traces behind it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from review_store.dashboards.common import (
    Filters,
    bucket_grid,
    percentile,
    ratio,
    trace_conditions,
)
from review_store.dashboards.overview import (
    HALLUCINATION_MAX_SCORE,
    KPI_DEFINITIONS,
    NO_JUDGE,
    TRACE_COLUMNS,
    groundedness_judge_id,
    judged,
    kpi_values,
    latency_histograms,
    verdict_conditions,
)
from review_store.models import GuardrailEvent, JudgeVerdict, Trace
from review_store.rollups import read


def kpi_trends(
    session: Session, filters: Filters, *, bucket: str = "day", judge_id: Any = NO_JUDGE
) -> dict[str, list[dict[str, Any]]]:
    """Each Overview KPI per bucket over the filter (sparklines), from the rollups; buckets without
    traffic hold None."""
    if judge_id is NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    traffic = read.totals(session, "traffic", filters, bucket=bucket)
    events = read.totals(session, "guard", filters, bucket=bucket)
    judged_rows = judged(session, filters, judge_id, bucket) if judge_id is not None else {}
    hists = latency_histograms(session, filters, bucket)
    out: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in KPI_DEFINITIONS}
    for start in bucket_grid(filters.start, filters.end, bucket):
        sums = traffic.get((start,))
        if sums is None:
            values: dict[str, Any] = {"hallucination_rate": _rate(judged_rows.get((start,)))}
            n = 0
        else:
            p95 = read.percentile_of(hists.get((start,), {}), 0.95)
            values = kpi_values(sums, events.get((start,), [0])[0], judged_rows.get((start,)), p95)
            values["hallucination_rate"] = _rate(judged_rows.get((start,)))
            n = sums[0]
        for key in out:
            out[key].append({"bucket": start, "value": values.get(key), "traces": n})
    return out


def _rate(row: list[int] | None) -> float | None:
    return ratio(row[1], row[0]) if row else None


def _poor_condition(session: Session, filters: Filters, key: str, judge_id: Any = NO_JUDGE) -> Any:
    """Which traces make a KPI poor: the rows a lead wants to read when the tile turns red."""
    if key == "task_success_rate":
        return Trace.task_success.is_(False)
    if key == "cache_hit_rate":
        return Trace.cache_hit.is_(False)
    if key == "cost_per_successful_task_usd":  # money spent without a successful task
        return and_(Trace.cost_usd > 0, Trace.task_success.is_not(True))
    if key == "p95_latency_ms":
        p95 = percentile(session, Trace.latency_ms, trace_conditions(filters), 0.95)
        return Trace.latency_ms >= (p95 if p95 is not None else float("inf"))
    if key == "safety_triggers_per_1k":
        return select(GuardrailEvent.id).where(GuardrailEvent.trace_id == Trace.id).exists()
    if key == "hallucination_rate":  # a trace in the filter with a successful verdict of 1-2
        if judge_id is NO_JUDGE:
            judge_id = groundedness_judge_id(session)
        bad = [
            *verdict_conditions(filters, judge_id if judge_id is not None else -1),
            JudgeVerdict.score <= HALLUCINATION_MAX_SCORE,
        ]
        return col(Trace.id).in_(select(JudgeVerdict.trace_id).where(*bad))
    raise ValueError(f"unknown KPI {key!r}; known: {', '.join(k for k, *_ in KPI_DEFINITIONS)}")


_VERSION = ("prompt_version", "model")
# KPI -> (index of the "known" sum, index of the "good" sum) in the traffic rollup: poor = known - good
_POOR_FROM_ROLLUP = {
    "task_success_rate": (read.traffic_sum("success_known"), read.traffic_sum("successes")),
    "cache_hit_rate": (read.traffic_sum("cache_known"), read.traffic_sum("cache_hits")),
}


def kpi_drilldown(
    session: Session, *, filters: Filters, key: str, limit: int = 100, judge_id: Any = NO_JUDGE
) -> dict[str, Any]:
    """The traces behind a poor KPI: which prompt version and model they come from, and each trace's context.

    Returns {"by_version": [prompt_version, model, traces, poor, poor_share], "traces": [...newest poor]}.
    `judge_id` (from groundedness_judge_id) may be passed by a page that already looked it up.
    """
    if key == "hallucination_rate":
        return _hallucination_drilldown(session, filters, judge_id, limit)
    poor = _poor_condition(session, filters, key, judge_id)
    conditions = trace_conditions(filters)
    if key in _POOR_FROM_ROLLUP:  # traces and poor ones per version/model: from the traffic rollup
        known, good = _POOR_FROM_ROLLUP[key]
        sums = read.totals(session, "traffic", filters, by=_VERSION)
        groups = [(pv, m, v[0], v[known] - v[good]) for (pv, m), v in sums.items()]
    else:  # a condition no rollup holds (cost without success, latency over p95, any guardrail event)
        poor_count = func.sum(case((poor, 1), else_=0))
        groups = session.exec(
            select(Trace.prompt_version, Trace.model, func.count(), poor_count)
            .where(*conditions)
            .group_by(Trace.prompt_version, Trace.model)
        ).all()
    by_version = _by_version([(pv, m, n, int(p or 0)) for pv, m, n, p in groups])
    rows = session.exec(
        select(*TRACE_COLUMNS, Trace.top_retrieval_score, Trace.context)
        .where(*conditions, poor)
        .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
        .limit(limit)
    ).all()
    return {"by_version": by_version, "traces": [dict(r._mapping) for r in rows]}


def _by_version(groups: list[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """(prompt_version, model, traces, poor) rows, most poor first."""
    groups = sorted(groups, key=lambda g: (-g[3], g[0], g[1]))
    return [
        {"prompt_version": pv, "model": m, "traces": n, "poor": p, "poor_share": ratio(p, n)}
        for pv, m, n, p in groups
    ]


def _hallucination_drilldown(session: Session, filters: Filters, judge_id: Any, limit: int) -> dict[str, Any]:
    """The hallucination drill-down driven from the (few) bad verdicts, not from every trace in the range:
    traces per group index-only on trace, hallucinated traces per group through the verdicts' index."""
    if judge_id is NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    bad = [
        *verdict_conditions(filters, judge_id if judge_id is not None else -1),
        JudgeVerdict.score <= HALLUCINATION_MAX_SCORE,
    ]
    totals = [(pv, m, v[0]) for (pv, m), v in read.totals(session, "traffic", filters, by=_VERSION).items()]
    bad_ids = select(JudgeVerdict.trace_id).where(*bad).distinct().subquery()
    poor = dict(
        ((pv, m), n)
        for pv, m, n in session.exec(
            select(Trace.prompt_version, Trace.model, func.count())
            .join(bad_ids, bad_ids.c.trace_id == Trace.id)
            # True of every bad verdict's trace (ts, segment, release are copied): lets the planner range-scan.
            .where(*trace_conditions(filters))
            .group_by(Trace.prompt_version, Trace.model)
        ).all()
    )
    by_version = _by_version([(pv, m, n, poor.get((pv, m), 0)) for pv, m, n in totals])
    newest = (
        select(JudgeVerdict.trace_id, JudgeVerdict.trace_ts)
        .where(*bad)
        .distinct()
        .order_by(col(JudgeVerdict.trace_ts).desc(), col(JudgeVerdict.trace_id).desc())
        .limit(limit)
    ).subquery()
    rows = session.exec(
        select(*TRACE_COLUMNS, Trace.top_retrieval_score, Trace.context)
        .join(newest, newest.c.trace_id == Trace.id)
        .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
    ).all()
    return {"by_version": by_version, "traces": [dict(r._mapping) for r in rows]}
