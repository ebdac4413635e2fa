"""Production data: traces and their guardrail events."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field

# --- production data ----------------------------------------------------------------------------


def _input_chars(context: Any) -> int | None:
    """Insert default of trace.input_chars: the length of the row's input."""
    value = context.get_current_parameters().get("input")
    return None if value is None else len(value)


class Trace(SQLModel, table=True):
    __table_args__ = (
        Index("ix_trace_ts", "ts"),
        Index("ix_trace_segment_ts", "segment", "ts"),
        Index("ix_trace_release_ts", "release", "ts"),
        # Covering index: the KPI, trend, traffic and spend aggregates over a time range are index-only.
        Index(
            "ix_trace_ts_kpi",
            "ts",
            "segment",
            "release",
            "latency_ms",
            "task_success",
            "cost_usd",
            "cache_hit",
        ),
        # Drift's input-length, retrieval-score and segment-mix counts over two weeks: index-only.
        Index("ix_trace_ts_drift", "ts", "release", "segment", "input_chars", "top_retrieval_score"),
        # Cost breakdowns, drill-down by prompt version/model and maturity's instrumentation share.
        Index(
            "ix_trace_ts_cost",
            "ts",
            "app",
            "model",
            "prompt_version",
            "segment",
            "release",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "task_success",
            "cache_hit",
            "latency_ms",
        ),
        Index("ix_trace_model", "model"),  # maturity's distinct models, one index probe each
        # (the Costs page's reported/computed split reads the traffic rollup since migration 0015)
        # Hallucination drill-down: traces per prompt version/model, joined to bad verdicts by id, index-only.
        Index("ix_trace_ts_version", "ts", "prompt_version", "model", "id"),
        # Cost breakdown by feature: app first, so the GROUP BY walks the index in group order (no sort of
        # every trace in the range); covering, also for the segment/release filters.
        Index(
            "ix_trace_app_cost",
            "app",
            "ts",
            "segment",
            "release",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "task_success",
            "cache_hit",
        ),
        # Cost per tenant and feature over a bounded range, and each tenant's spike series: index-only
        # (the traffic rollup is not keyed by tenant: one row per tenant per hour would multiply its rows).
        Index("ix_trace_ts_tenant", "ts", "tenant", "app", "tokens_in", "tokens_out", "cost_usd"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(unique=True, max_length=200)
    ts: NaiveDatetime
    app: str = Field(default="", max_length=120)
    segment: str = Field(default="", max_length=120)
    release: str = Field(default="", max_length=120)
    model: str = Field(default="", max_length=200)
    prompt_version: str = Field(default="", max_length=120)
    input: str = text_field()
    # len(input), stored so drift's input-length PSI never reads the text (filled on every insert)
    input_chars: int | None = Field(default=None, sa_column_kwargs={"default": _input_chars})
    output: str = text_field()
    context: list[dict[str, Any]] = json_field([])
    latency_ms: float | None = None
    ttft_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    # where cost_usd came from: "reported" by the source, "computed" from model and tokens with the price
    # map at ingest (review_store.ingest.costs), None: no cost known
    cost_source: str | None = Field(default=None, max_length=10)
    cache_hit: bool | None = None
    user_feedback: str | None = Field(default=None, max_length=10)  # up | down | None
    task_success: bool | None = None
    top_retrieval_score: float | None = None  # max context score, kept for drift queries
    meta: dict[str, Any] = json_field({})
    # who the traffic was for: the end user's id and the customer (tenant) of a multi-tenant app; "" unknown
    # (server default "": raw inserts that predate the columns, e.g. bench/floor.py, still work)
    end_user: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})
    tenant: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})
    # A shadow trace: the external id of the production trace whose input it answers, with the candidate
    # release in `release`. Null for production traffic; shadow traces stay out of the traffic rollups.
    shadow_of: str | None = Field(default=None, max_length=200, index=True)


class GuardrailEvent(SQLModel, table=True):
    __table_args__ = (
        Index("ix_guardrailevent_ts", "ts"),
        Index("ix_guardrailevent_name_ts", "name", "ts"),
        Index("ix_guardrailevent_segment_ts", "segment", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    trace_id: int = Field(foreign_key="trace.id", index=True, ondelete="CASCADE")
    ts: NaiveDatetime
    name: str = Field(max_length=120)
    stage: str = Field(max_length=10)  # input | output
    action: str = Field(max_length=20)  # blocked | flagged | redacted | escalated
    score: float | None = None
    # Copies of the trace's segment and release: guardrail dashboards filter on them without a join.
    segment: str = Field(default="", max_length=120)
    release: str = Field(default="", max_length=120)


class UserEscalation(SQLModel, table=True):
    """One end user escalated by the prompt-injection monitor for one window (review_store.monitor.users):
    at most one per user and window, and none while a window overlaps one already escalated."""

    __table_args__ = (UniqueConstraint("end_user", "window_start"),)

    id: int | None = Field(default=None, primary_key=True)
    end_user: str = Field(max_length=120)
    window_start: NaiveDatetime
    window_end: NaiveDatetime
    triggers: int
    item_id: int = Field(foreign_key="reviewitem.id", ondelete="CASCADE")
    created_at: NaiveDatetime
