"""The rollup tables (see review_store.rollups). Imported by review_store.models so that they are part of
the metadata wherever the models are; this module imports nothing of the store."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel


def _big() -> Field:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False))


class RollupTraffic(SQLModel, table=True):
    """Traces per hour and app/segment/release/model/prompt version, with the sums the KPIs need."""

    hour: NaiveDatetime = Field(primary_key=True)
    app: str = Field(default="", primary_key=True, max_length=120)
    segment: str = Field(default="", primary_key=True, max_length=120)
    release: str = Field(default="", primary_key=True, max_length=120)
    model: str = Field(default="", primary_key=True, max_length=200)
    prompt_version: str = Field(default="", primary_key=True, max_length=120)
    traces: int = 0
    successes: int = 0  # task_success is true
    success_known: int = 0  # task_success is not null
    tokens_in: int = _big()
    tokens_out: int = _big()
    cost_nanos: int = _big()  # sum of round(cost_usd * 1e9)
    cost_known: int = 0
    cache_hits: int = 0
    cache_known: int = 0
    latency_known: int = 0
    instrumented: int = 0  # tokens_in, cost_usd and latency_ms all present
    # where the costs came from (trace.cost_source); unknown = traces - cost_reported - cost_computed
    cost_reported_nanos: int = _big()
    cost_reported: int = 0
    cost_computed_nanos: int = _big()
    cost_computed: int = 0


class RollupGuardrail(SQLModel, table=True):
    """Guardrail events per hour (of the event) and segment/release/name/stage/action."""

    hour: NaiveDatetime = Field(primary_key=True)
    segment: str = Field(default="", primary_key=True, max_length=120)
    release: str = Field(default="", primary_key=True, max_length=120)
    name: str = Field(primary_key=True, max_length=120)
    stage: str = Field(primary_key=True, max_length=10)
    action: str = Field(primary_key=True, max_length=20)
    events: int = 0


class RollupVerdict(SQLModel, table=True):
    """Successful judge verdicts per hour of the judged trace, segment, release, config, question, score.

    `has_score` false (score 0) holds the verdicts without a numeric score (labels, text)."""

    hour: NaiveDatetime = Field(primary_key=True)
    segment: str = Field(default="", primary_key=True, max_length=120)
    release: str = Field(default="", primary_key=True, max_length=120)
    judge_config_id: int = Field(primary_key=True)
    question_key: str = Field(primary_key=True, max_length=80)
    has_score: bool = Field(primary_key=True)
    score: float = Field(primary_key=True)
    verdicts: int = 0
    cost_nanos: int = _big()
    cost_known: int = 0


class RollupValue(SQLModel, table=True):
    """Histograms per hour and segment/release: metric latency (log bucket), input_chars (the length),
    top_score (score x 1000, rounded); `n` traces in the bucket.

    Every read asks for one metric over a range of hours: the covering index (metric, hour, ...) makes it an
    index-only range of that metric's rows (the primary key, hour first, read all three metrics' rows and
    PostgreSQL chose a full scan of the table for a week's p95)."""

    __table_args__ = (
        Index("ix_rollupvalue_metric_hour", "metric", "hour", "segment", "release", "bucket", "n"),
    )

    hour: NaiveDatetime = Field(primary_key=True)
    segment: str = Field(default="", primary_key=True, max_length=120)
    release: str = Field(default="", primary_key=True, max_length=120)
    metric: str = Field(primary_key=True, max_length=20)
    bucket: int = Field(primary_key=True, sa_type=BigInteger)
    n: int = 0


TABLES = (RollupTraffic, RollupGuardrail, RollupVerdict, RollupValue)


class PrunedTrace(SQLModel, table=True):
    """The external id (and time) of every trace a prune deleted: its numbers stay in the rollups, so an
    import that meets the id again skips the record instead of counting it a second time."""

    external_id: str = Field(primary_key=True, max_length=200)
    ts: NaiveDatetime
