"""Guardrail trigger rates per 1,000 traces, their anomalies, changes and the traces behind a point.

Rates, not counts: a bucket's rate is guardrail events x 1000 / traces in the same bucket, where traces
are filtered by the same segment/release (the guardrail/stage/action filters narrow only the events).
Empty buckets are explicit: a bucket with traffic and no events has rate 0.0; a bucket with no traffic
has traces 0 and rate None ("no traffic"), never a made-up 0.
The anomaly rule (guardrail_anomalies) is in dashboards/anomalies.py; bucket counts in dashboards/counts.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from review_store.dashboards.anomalies import (
    ALPHA,
    MIN_EVENTS,
    MIN_RATIO,
    WINDOWS,
    binomial_sf,
    guardrail_anomalies,
)
from review_store.dashboards.common import STEP, Filters, bucket_grid, event_conditions
from review_store.dashboards.counts import event_counts, event_query, traffic_counts, traffic_query
from review_store.models import Deployment, GuardrailEvent, Release, Trace
from review_store.rollups import read
from review_store.rollups.tables import RollupGuardrail

__all__ = [
    "ALPHA",
    "GROUPINGS",
    "MIN_EVENTS",
    "MIN_RATIO",
    "STEP",
    "WINDOWS",
    "binomial_sf",
    "deploy_markers",
    "event_query",
    "guardrail_anomalies",
    "guardrail_changes",
    "guardrail_options",
    "guardrail_rates",
    "guardrail_traces",
    "traffic_query",
]

GROUPINGS = ("name", "stage", "action", "segment", "release", "all")


def guardrail_rates(
    session: Session,
    *,
    filters: Filters,
    bucket: str = "day",
    by: str = "name",
    name: str | None = None,
    stage: str | None = None,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """Trigger rate per 1,000 traces for every bucket x group: {bucket, group, traces, events, rate_per_1k}.

    `by` is one of name, stage, action, segment, release, all. Every bucket of the range appears for
    every group seen in the range (or the one named by a filter), empty buckets included.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    only = {"name": name, "stage": stage, "action": action}
    traffic: dict[tuple, int] = {}
    groups: set[str] = set()
    for keys, n in traffic_counts(session, filters, bucket, by).items():
        traffic[keys] = n
        if len(keys) > 1:
            groups.add(keys[1])
    events: dict[tuple[datetime, str], int] = {}
    event_keys = [getattr(GuardrailEvent, by)] if by != "all" else []
    for keys, n in event_counts(session, filters, bucket, event_keys, **only).items():
        group = keys[1] if len(keys) > 1 else "all"
        events[(keys[0], group)] = n
        groups.add(group)
    if by == "all" or (by in only and only[by]):
        groups.add(only.get(by) or "all")
    if by in ("segment", "release") and getattr(filters, by):
        groups = {getattr(filters, by)}
    rows = []
    for start in bucket_grid(filters.start, filters.end, bucket):
        for group in sorted(groups):
            n = traffic.get((start, group), 0) if by in ("segment", "release") else traffic.get((start,), 0)
            e = events.get((start, group), 0)
            rows.append(
                {
                    "bucket": start,
                    "group": group,
                    "traces": n,
                    "events": e,
                    "rate_per_1k": e * 1000 / n if n else None,
                }
            )
    return rows


def guardrail_changes(session: Session, *, filters: Filters, by: str = "name") -> list[dict[str, Any]]:
    """Top movers: each group's rate per 1k now and in the previous period of equal length, by |change|."""
    if by not in GROUPINGS or by == "all":
        raise ValueError(f"by must be one of {', '.join(GROUPINGS[:-1])}, not {by!r}")
    per_group = by in ("segment", "release")
    counts: dict[str, dict[str, Any]] = {}
    for label, period in (("now", filters), ("before", filters.previous())):
        events = {k[0]: v[0] for k, v in read.totals(session, "guard", period, by=(by,)).items() if v[0]}
        traffic = read.totals(session, "traffic", period, by=(by,) if per_group else ())
        counts[label] = {
            "events": events,
            "traffic": {k[0]: v[0] for k, v in traffic.items()} if per_group else {},
            "total": None if per_group else read.one(traffic, "traffic")[0],
        }
    groups = set(counts["now"]["events"]) | set(counts["before"]["events"])
    result = []
    for group in groups:
        row: dict[str, Any] = {"group": group}
        for label in ("now", "before"):
            c = counts[label]
            n = c["traffic"].get(group, 0) if per_group else c["total"]
            e = c["events"].get(group, 0)
            row.update(
                {f"events_{label}": e, f"traces_{label}": n, f"rate_{label}": e * 1000 / n if n else None}
            )
        now, before = row["rate_now"], row["rate_before"]
        row["change_per_1k"] = now - before if now is not None and before is not None else None
        row["ratio"] = now / before if now is not None and before else None
        result.append(row)
    return sorted(
        result, key=lambda r: (r["change_per_1k"] is None, -abs(r["change_per_1k"] or 0), r["group"])
    )


def guardrail_traces(
    session: Session,
    *,
    filters: Filters,
    bucket: str,
    at: datetime,
    by: str = "all",
    group: str | None = None,
    name: str | None = None,
    stage: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Drill-down: the triggering events of one chart point (bucket starting `at`, one group) with their traces."""
    start, end = max(at, filters.start), min(at + STEP[bucket], filters.end)
    only = {"name": name, "stage": stage, "action": action}
    if by != "all" and group is not None:
        only_filters = Filters(start, end, filters.release, filters.segment)
        if by in ("segment", "release"):
            only_filters = Filters(
                start, end, **{"release": filters.release, "segment": filters.segment, by: group}
            )
        else:
            only[by] = group
    else:
        only_filters = Filters(start, end, filters.release, filters.segment)
    rows = session.exec(
        select(
            GuardrailEvent.ts,
            GuardrailEvent.name,
            GuardrailEvent.stage,
            GuardrailEvent.action,
            GuardrailEvent.score,
            Trace.external_id,
            Trace.segment,
            Trace.release,
            Trace.prompt_version,
            Trace.model,
            Trace.top_retrieval_score,
            Trace.input,
            Trace.output,
        )
        .join(Trace, col(Trace.id) == GuardrailEvent.trace_id)
        .where(*event_conditions(only_filters, **only))
        .order_by(col(GuardrailEvent.ts).desc(), col(GuardrailEvent.id).desc())
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]


def deploy_markers(session: Session, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Release deploy steps (canary stages, health checks, rollbacks) to draw on the time axis."""
    rows = session.exec(
        select(Deployment.created_at, Release.name, Deployment.kind, Deployment.stage_pct, Deployment.healthy)
        .join(Release, col(Release.id) == Deployment.release_id)
        .where(Deployment.created_at >= start, Deployment.created_at < end)
        .order_by(Deployment.created_at)
    ).all()
    return [
        {"ts": ts, "release": name, "kind": kind, "stage_pct": pct, "healthy": healthy}
        for ts, name, kind, pct, healthy in rows
    ]


def guardrail_options(session: Session) -> dict[str, list[str]]:
    """The names, stages and actions that occur, for filter widgets and a stable colour order."""
    return {
        column: sorted(v for v in read.distinct(session, RollupGuardrail, column) if v)
        for column in ("name", "stage", "action")
    }
