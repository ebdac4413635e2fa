"""The dashboards' read models: frozen rows (tuples of them), built from the store's query results.

Pages turn a tuple of rows into a DataFrame (`pd.DataFrame([r.model_dump() for r in rows])`); the CLI
prints `to_json()`. Nothing here queries: the part (desk/dashboards.py) does, inside its transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from review_store.desk.base import ReadModel


class Range(ReadModel):
    """What a dashboard looks at: [start, end), optionally one release and one segment."""

    start: datetime
    end: datetime
    release: str | None = None
    segment: str | None = None


class FilterOptions(ReadModel):
    first_ts: datetime | None
    last_ts: datetime | None
    releases: tuple[str, ...]
    segments: tuple[str, ...]


class Kpi(ReadModel):
    key: str
    label: str
    value: float | None
    previous: float | None
    delta: float | None
    unit: str  # "%", "ms", "usd", "per_1k"
    higher_is_better: bool
    help: str


class TrendPoint(ReadModel):
    bucket: datetime
    value: float | None
    traces: int


class KpiTrend(ReadModel):
    key: str
    points: tuple[TrendPoint, ...]


class Budget(ReadModel):
    period: str
    period_start: datetime
    period_end: datetime
    as_of: datetime
    budget_usd: float
    spent_usd: float
    daily_burn_usd: float
    projected_usd: float
    exceeded: bool
    alert: bool


class DriftMetric(ReadModel):
    metric: str
    label: str
    psi: float | None
    status: str  # ok | watch | act | no data
    reference_n: int
    current_n: int
    bins: tuple[str, ...]
    reference_share: tuple[float, ...]
    current_share: tuple[float, ...]
    current_start: datetime | None
    end: datetime | None
    reference_mean: float | None = None  # retrieval precision@k / recall: each week's mean
    current_mean: float | None = None


class DriftReport(ReadModel):
    end: datetime
    watch: float
    act: float
    metrics: tuple[DriftMetric, ...]

    def alerts(self) -> tuple[DriftMetric, ...]:
        """The metrics at watch or act, worst first."""
        flagged = [m for m in self.metrics if m.status in ("watch", "act")]
        return tuple(sorted(flagged, key=lambda m: -(m.psi or 0)))


class DeployMarker(ReadModel):
    ts: datetime
    release: str
    kind: str
    stage_pct: int | None
    healthy: bool | None


class Overview(ReadModel):
    range: Range
    traces: int
    kpis: tuple[Kpi, ...]
    trends: tuple[KpiTrend, ...]
    drift: DriftReport
    budget: Budget
    markers: tuple[DeployMarker, ...] = ()  # release deploy steps in the range, for the trend lines

    def trend(self, key: str) -> KpiTrend:
        return next(t for t in self.trends if t.key == key)


class ContextChunk(ReadModel):
    id: str
    score: float | None
    text: str


class TraceRow(ReadModel):
    external_id: str
    ts: datetime
    segment: str | None
    release: str | None
    model: str | None
    prompt_version: str | None
    latency_ms: float | None
    cost_usd: float | None
    task_success: bool | None
    input: str
    output: str
    top_retrieval_score: float | None = None
    context: tuple[ContextChunk, ...] = ()


class VersionRow(ReadModel):
    prompt_version: str | None
    model: str | None
    traces: int
    poor: int
    poor_share: float | None


class Drilldown(ReadModel):
    key: str
    by_version: tuple[VersionRow, ...]
    traces: tuple[TraceRow, ...]


class GuardrailOptions(ReadModel):
    names: tuple[str, ...]
    stages: tuple[str, ...]
    actions: tuple[str, ...]


class RatePoint(ReadModel):
    bucket: datetime
    group: str
    traces: int
    events: int
    rate_per_1k: float | None


class Anomaly(ReadModel):
    day: datetime
    name: str
    segment: str
    window_days: int
    traces: int
    observed: int
    expected: float
    baseline_rate_per_1k: float
    rate_per_1k: float
    ratio: float
    p_value: float
    anomalous: bool


class Mover(ReadModel):
    group: str
    events_now: int
    traces_now: int
    rate_now: float | None
    events_before: int
    traces_before: int
    rate_before: float | None
    change_per_1k: float | None
    ratio: float | None


class GuardrailEventRow(ReadModel):
    ts: datetime
    name: str
    stage: str | None
    action: str | None
    score: float | None
    external_id: str
    segment: str | None
    release: str | None
    prompt_version: str | None
    model: str | None
    top_retrieval_score: float | None
    input: str
    output: str


class AnomalySeries(ReadModel):
    """The daily rate of one guardrail in one segment: the series an anomaly marker sits on."""

    name: str
    segment: str
    points: tuple[RatePoint, ...]


class Guardrails(ReadModel):
    """A Guardrails page's reads for one selection: rates, deploy markers, flagged anomalies with the
    (guardrail, segment) series they belong to, and the movers (`movers_range` against the period of equal
    length before it)."""

    range: Range
    bucket: str
    by: str
    rates: tuple[RatePoint, ...]
    markers: tuple[DeployMarker, ...]
    anomalies: tuple[Anomaly, ...]
    movers: tuple[Mover, ...]
    anomaly_series: tuple[AnomalySeries, ...] = ()
    movers_range: Range | None = None


class CostRow(ReadModel):
    group: str | None
    traces: int
    tokens_in: int
    tokens_out: int
    tokens_per_trace: float | None
    cost_usd: float
    successes: int
    cost_per_successful_task_usd: float | None
    cache_hit_rate: float | None


class CostPoint(ReadModel):
    bucket: datetime
    group: str
    cost_usd: float
    traces: int


class SpendPoint(ReadModel):
    """Cumulative spend of the budget period up to the end of a day."""

    day: datetime
    spent_usd: float


class Costs(ReadModel):
    range: Range
    by: str
    rows: tuple[CostRow, ...]
    budget: Budget
    over_time: tuple[CostPoint, ...] = ()  # cost per day per group in the range
    period_spend: tuple[SpendPoint, ...] = ()  # the budget period's cumulative spend by day, up to as_of


class Criterion(ReadModel):
    key: str
    level: int
    label: str
    met: bool
    evidence: str
    missing: str


class Question(ReadModel):
    key: str
    question: str
    answer: bool | None
    note: str
    answered_by: str | None
    answered_at: datetime | None


class Maturity(ReadModel):
    as_of: datetime
    level: int
    name: str
    next_level: int | None
    next_name: str | None
    criteria: tuple[Criterion, ...]
    next_steps: tuple[str, ...]
    questions: tuple[Question, ...]


def chunks(context: Any) -> tuple[ContextChunk, ...]:
    """A trace's retrieved context (a JSON list of {id, score, text}) as typed chunks; odd items kept as text."""
    out = []
    for i, chunk in enumerate(context or []):
        if not isinstance(chunk, dict):
            out.append(ContextChunk(id=str(i), score=None, text=str(chunk)))
            continue
        score = chunk.get("score")
        out.append(
            ContextChunk(
                id=str(chunk.get("id", i)),
                score=float(score)
                if isinstance(score, int | float) and not isinstance(score, bool)
                else None,
                text=str(chunk.get("text") or ""),
            )
        )
    return tuple(out)


def trace_row(row: dict[str, Any]) -> TraceRow:
    values = {k: v for k, v in row.items() if k in TraceRow.model_fields}
    values["input"], values["output"] = values.get("input") or "", values.get("output") or ""
    if "context" in row:
        values["context"] = chunks(row["context"])
    return TraceRow(**values)


class CostSourceRow(ReadModel):
    """Traces of a range by where their cost came from: reported | computed | unknown (no cost)."""

    source: str
    traces: int
    cost_usd: float
