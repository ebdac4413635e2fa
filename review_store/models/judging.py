"""Rubrics, judge configs, judge runs and verdicts."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field, utcnow

# --- rubrics, judges -----------------------------------------------------------------------------


class Rubric(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    version: int = 1
    questions: list[dict[str, Any]] = json_field([])
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class JudgeConfig(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    version: int = 1
    model: str = Field(max_length=200)
    prompt_template: str = text_field()
    rubric_id: int = Field(foreign_key="rubric.id")
    params: dict[str, Any] = json_field({})
    api_base: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class JudgeRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    judge_config_id: int = Field(foreign_key="judgeconfig.id", index=True)
    started_at: NaiveDatetime = Field(default_factory=utcnow)
    finished_at: NaiveDatetime | None = None
    n_ok: int = 0
    n_error: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None
    triggered_by: str = Field(default="", max_length=80)
    scheduled: bool = False
    stopped_reason: str | None = Field(default=None, max_length=200)


class JudgeVerdict(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("trace_id", "judge_config_id", "question_key"),
        Index("ix_judgeverdict_config_question", "judge_config_id", "question_key"),
        # Dashboards (hallucination KPI, judge-score drift) read successful verdicts by time without a join.
        Index(
            "ix_judgeverdict_ok_ts",
            "judge_config_id",
            "question_key",
            "trace_ts",
            "segment",
            "release",
            "score",
            sqlite_where=text("error IS NULL"),
            postgresql_where=text("error IS NULL"),
        ),
        # Cost per 1,000 verdicts of a config (Agreement's trend and comparison) without reading rows.
        Index(
            "ix_judgeverdict_ok_cost",
            "judge_config_id",
            "cost_usd",
            sqlite_where=text("error IS NULL"),
            postgresql_where=text("error IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    trace_id: int = Field(foreign_key="trace.id", index=True, ondelete="CASCADE")
    judge_config_id: int = Field(foreign_key="judgeconfig.id")
    judge_run_id: int | None = Field(default=None, foreign_key="judgerun.id")
    question_key: str = Field(max_length=80)
    value: Any = json_field()  # the answer as the rubric question expects it (number, label, list, text)
    score: float | None = None  # numeric form of value for ratings, for SQL aggregates
    confidence: float | None = None
    rationale: str | None = text_field(nullable=True)
    cost_usd: float | None = None
    latency_ms: float | None = None
    error: str | None = text_field(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    # Copies of the trace's ts, segment and release (as GuardrailEvent has): no join for dashboards.
    trace_ts: NaiveDatetime | None = None
    segment: str = Field(default="", max_length=120)
    release: str = Field(default="", max_length=120)
