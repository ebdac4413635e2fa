"""desk.dashboards: KPIs, guardrail rates and anomalies, costs and budget, drift, maturity.

Every read that depends on time takes it explicitly: a `Range` for what the filter bar selects, an
`as_of` for "this budget period" and "the last weeks of review" (default: the desk's clock now).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from review_store import clock
from review_store.dashboards import anomalies as anomaly_rule
from review_store.dashboards import cost_sources as cost_source_queries
from review_store.dashboards import costs as cost_queries
from review_store.dashboards import drift as drift_queries
from review_store.dashboards import guardrails as gr
from review_store.dashboards import maturity as maturity_queries
from review_store.dashboards import overview as kpi_queries
from review_store.dashboards import trends as trend_queries
from review_store.dashboards.common import BUCKETS, Filters
from review_store.desk import dashboard_views as v
from review_store.desk.base import Part
from review_store.errors import ValidationFailed
from review_store.permissions import Actor

COST_GROUPINGS: tuple[str, ...] = tuple(cost_queries.GROUPINGS)
GUARDRAIL_GROUPINGS: tuple[str, ...] = gr.GROUPINGS
KPI_KEYS: tuple[str, ...] = tuple(key for key, *_ in kpi_queries.KPI_DEFINITIONS)
LEVELS: dict[int, str] = dict(maturity_queries.LEVELS)
__all__ = ["BUCKETS", "COST_GROUPINGS", "GUARDRAIL_GROUPINGS", "KPI_KEYS", "LEVELS", "DashboardsPart"]


def _filters(range_: v.Range) -> Filters:
    if range_.end <= range_.start:
        raise ValidationFailed(
            f"range: end {range_.end:%Y-%m-%d %H:%M} is not after start {range_.start:%Y-%m-%d %H:%M}"
        )
    return Filters(range_.start, range_.end, range_.release or None, range_.segment or None)


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationFailed(f"{field}: {value!r} is not one of {', '.join(allowed)}")


def _budget(session: Any, as_of: datetime) -> v.Budget:
    return v.Budget(**cost_queries.budget_status(session, as_of=as_of))


def _drift(session: Any, end: datetime, release: str | None, judge_id: Any) -> v.DriftReport:
    from review_store import settings

    psi = settings.get(session, "drift.psi")
    results = drift_queries.drift_report(session, end=end, release=release, judge_id=judge_id)
    return v.DriftReport(
        end=end,
        watch=psi.watch,
        act=psi.act,
        metrics=tuple(v.DriftMetric(**r.as_dict()) for r in results),
    )


def _markers(session: Any, filters: Filters) -> tuple[v.DeployMarker, ...]:
    return tuple(
        v.DeployMarker(**m) for m in gr.deploy_markers(session, start=filters.start, end=filters.end)
    )


def _anomaly_series(
    session: Any, filters: Filters, flagged: list[dict[str, Any]]
) -> tuple[v.AnomalySeries, ...]:
    """The daily rate of each flagged (guardrail, segment): the line its anomaly markers sit on."""
    out = []
    for name, segment in sorted({(a["name"], a["segment"]) for a in flagged}):
        in_segment = Filters(filters.start, filters.end, filters.release, segment)
        rates = gr.guardrail_rates(session, filters=in_segment, bucket="day", by="name", name=name)
        points = tuple(v.RatePoint(**r) for r in rates if r["group"] == name)
        out.append(v.AnomalySeries(name=name, segment=segment, points=points))
    return tuple(out)


class DashboardsPart(Part):
    # --- filter bar and overview ---------------------------------------------------------------------

    def filter_options(self) -> v.FilterOptions:
        """The data's time span and the releases and segments that occur (for the filter bar)."""
        with self._read() as session:
            o = kpi_queries.filter_options(session)
            return v.FilterOptions(
                first_ts=o.first_ts, last_ts=o.last_ts, releases=tuple(o.releases), segments=tuple(o.segments)
            )

    def overview(self, *, range: v.Range, bucket: str = "day", as_of: datetime | None = None) -> v.Overview:
        """The Overview's reads in one transaction: the six KPIs against the previous period, a trend per KPI,
        the drift report for the week before range.end, and the budget burn of the period holding `as_of`
        (default: the desk's clock now)."""
        _one_of("bucket", bucket, BUCKETS)
        filters = _filters(range)
        with self._read() as session:
            judge_id = kpi_queries.groundedness_judge_id(session)
            kpis = kpi_queries.overview_kpis(session, filters, judge_id=judge_id)
            trends = trend_queries.kpi_trends(session, filters, bucket=bucket, judge_id=judge_id)
            return v.Overview(
                range=range,
                traces=kpi_queries.trace_count(session, filters),
                kpis=tuple(v.Kpi(**k.as_dict()) for k in kpis),
                trends=tuple(
                    v.KpiTrend(key=key, points=tuple(v.TrendPoint(**p) for p in points))
                    for key, points in trends.items()
                ),
                drift=_drift(session, filters.end, filters.release, judge_id),
                budget=_budget(session, as_of or clock.now()),
                markers=_markers(session, filters),
            )

    def kpi_drilldown(self, *, range: v.Range, key: str, limit: int = 100) -> v.Drilldown:
        """The traces behind a poor KPI: poor share per prompt version and model, and the newest poor traces
        with their retrieved context."""
        _one_of("kpi", key, KPI_KEYS)
        with self._read() as session:
            found = trend_queries.kpi_drilldown(session, filters=_filters(range), key=key, limit=limit)
            return v.Drilldown(
                key=key,
                by_version=tuple(v.VersionRow(**row) for row in found["by_version"]),
                traces=tuple(v.trace_row(row) for row in found["traces"]),
            )

    def traces(self, *, range: v.Range, limit: int = 200) -> tuple[v.TraceRow, ...]:
        """The newest traces in the range (drill-down tables)."""
        with self._read() as session:
            return tuple(v.trace_row(r) for r in kpi_queries.traces_in(session, _filters(range), limit=limit))

    # --- guardrails ----------------------------------------------------------------------------------

    def guardrail_options(self) -> v.GuardrailOptions:
        """The guardrail names, stages and actions that occur (filter widgets)."""
        with self._read() as session:
            o = gr.guardrail_options(session)
            return v.GuardrailOptions(
                names=tuple(o["name"]), stages=tuple(o["stage"]), actions=tuple(o["action"])
            )

    def guardrails(
        self,
        *,
        range: v.Range,
        bucket: str = "day",
        by: str = "name",
        name: str | None = None,
        stage: str | None = None,
        action: str | None = None,
        movers_days: int | None = 7,
    ) -> v.Guardrails:
        """Trigger rates per 1,000 traces per bucket and group, deploy markers, the anomalous days (see
        `anomaly_rule()`; of the named guardrail only when one is named) with the daily series of each
        flagged (guardrail, segment), and the top movers by name: the last `movers_days` days of the range
        against the same number of days before them (None: the whole range against the one before it)."""
        _one_of("bucket", bucket, BUCKETS)
        _one_of("by", by, GUARDRAIL_GROUPINGS)
        if movers_days is not None and movers_days < 1:
            raise ValidationFailed(f"movers_days: {movers_days} is not a positive number of days")
        filters = _filters(range)
        movers = filters
        if movers_days is not None and filters.end - filters.start > timedelta(days=movers_days):
            movers = Filters(
                filters.end - timedelta(days=movers_days), filters.end, filters.release, filters.segment
            )
        with self._read() as session:
            rates = gr.guardrail_rates(
                session, filters=filters, bucket=bucket, by=by, name=name, stage=stage, action=action
            )
            flagged = [
                a
                for a in gr.guardrail_anomalies(session, filters=filters)
                if a["anomalous"] and (name is None or a["name"] == name)
            ]
            return v.Guardrails(
                range=range,
                bucket=bucket,
                by=by,
                rates=tuple(v.RatePoint(**r) for r in rates),
                markers=_markers(session, filters),
                anomalies=tuple(v.Anomaly(**a) for a in flagged),
                anomaly_series=_anomaly_series(session, filters, flagged),
                movers=tuple(v.Mover(**m) for m in gr.guardrail_changes(session, filters=movers, by="name")),
                movers_range=v.Range(
                    start=movers.start, end=movers.end, release=movers.release, segment=movers.segment
                ),
            )

    def guardrail_anomalies(self, *, range: v.Range, flagged_only: bool = True) -> tuple[v.Anomaly, ...]:
        """Every evaluated day of every (guardrail, segment) series, or only the anomalous ones."""
        with self._read() as session:
            rows = gr.guardrail_anomalies(session, filters=_filters(range))
            return tuple(v.Anomaly(**a) for a in rows if a["anomalous"] or not flagged_only)

    def guardrail_point(
        self,
        *,
        range: v.Range,
        bucket: str,
        at: datetime,
        by: str = "all",
        group: str | None = None,
        name: str | None = None,
        stage: str | None = None,
        action: str | None = None,
        limit: int = 200,
    ) -> tuple[v.GuardrailEventRow, ...]:
        """The triggering events (with their traces) behind one chart point: the bucket starting `at`,
        one group of the split."""
        _one_of("bucket", bucket, BUCKETS)
        _one_of("by", by, GUARDRAIL_GROUPINGS)
        with self._read() as session:
            rows = gr.guardrail_traces(
                session,
                filters=_filters(range),
                bucket=bucket,
                at=at,
                by=by,
                group=group,
                name=name,
                stage=stage,
                action=action,
                limit=limit,
            )
            return tuple(
                v.GuardrailEventRow(**{**r, "input": r["input"] or "", "output": r["output"] or ""})
                for r in rows
            )

    def anomaly_rule(self) -> str:
        """The anomaly rule in words (markdown), as implemented."""
        return anomaly_rule.__doc__.split("Anomaly rule", 1)[1].split("\n", 1)[1].strip()

    # --- costs ---------------------------------------------------------------------------------------

    def costs(self, *, range: v.Range, by: str = "feature", as_of: datetime | None = None) -> v.Costs:
        """Tokens and cost per group in the range, cost per day per group (the costliest groups by name, the
        rest as "other"), and the budget burn of the period holding `as_of` with its cumulative spend by day."""
        _one_of("by", by, COST_GROUPINGS)
        with self._read() as session:
            filters = _filters(range)
            as_of = as_of or clock.now()
            rows = cost_queries.cost_breakdown(session, filters=filters, by=by)
            return v.Costs(
                range=range,
                by=by,
                rows=tuple(v.CostRow(group=r[by], **{k: x for k, x in r.items() if k != by}) for r in rows),
                budget=_budget(session, as_of),
                over_time=tuple(
                    v.CostPoint(**p) for p in cost_queries.cost_over_time(session, filters=filters, by=by)
                ),
                period_spend=tuple(
                    v.SpendPoint(**p) for p in cost_queries.period_spend(session, as_of=as_of)
                ),
            )

    def cost_sources(self, *, range: v.Range) -> tuple[v.CostSourceRow, ...]:
        """The range's traces and spend by cost source: reported by the source, computed at ingest from
        model and tokens (litellm's price map), unknown (no cost)."""
        with self._read() as session:
            rows = cost_source_queries.cost_sources(session, filters=_filters(range))
            return tuple(v.CostSourceRow(**r) for r in rows)

    def budget(self, *, as_of: datetime | None = None) -> v.Budget:
        """Spend against the cost.budget setting for the period holding `as_of` (default: now), projected."""
        with self._read() as session:
            return _budget(session, as_of or clock.now())

    # --- drift and maturity --------------------------------------------------------------------------

    def drift(self, *, end: datetime, release: str | None = None) -> v.DriftReport:
        """Week-over-week PSI per metric for the 7 days before `end` against the 7 before that."""
        with self._read() as session:
            return _drift(session, end, release, kpi_queries.NO_JUDGE)

    def maturity(self, *, as_of: datetime | None = None) -> v.Maturity:
        """The maturity level from evidence as of `as_of` (default: now), every criterion, the next steps and
        the questionnaire with its newest answers."""
        with self._read() as session:
            as_of = as_of or clock.now()
            report = maturity_queries.assess(session, as_of=as_of)
            answers = maturity_queries.latest_answers(session)
            nxt = report.level + 1 if report.level < 4 else None
            return v.Maturity(
                as_of=as_of,
                level=report.level,
                name=report.name,
                next_level=nxt,
                next_name=LEVELS[nxt] if nxt is not None else None,
                criteria=tuple(v.Criterion(**c.__dict__) for c in report.criteria),
                next_steps=tuple(report.next_steps),
                questions=tuple(
                    v.Question(
                        key=key,
                        question=text,
                        answer=answers[key].get("value") if key in answers else None,
                        note=str(answers.get(key, {}).get("note") or ""),
                        answered_by=answers.get(key, {}).get("by"),
                        answered_at=answers.get(key, {}).get("at"),
                    )
                    for key, text in maturity_queries.QUESTIONS.items()
                ),
            )

    def answer_maturity(self, *, actor: Actor, answers: dict[str, bool]) -> int:
        """Record questionnaire answers (leads), each audited; an unchanged answer is not re-recorded.
        Returns how many answers were recorded."""
        with self._write(actor) as (session, who):
            current = maturity_queries.latest_answers(session)
            recorded = 0
            for key, value in answers.items():
                if key in current and current[key].get("value") == value:
                    continue
                maturity_queries.answer(session, actor=who, question_key=key, value=value)
                recorded += 1
            return recorded
