"""Tables of the store. Timestamps are naive UTC everywhere (NaiveDatetime), so SQLite and PostgreSQL compare alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import DDL, JSON, Column, Index, MetaData, Text, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from review_store import clock

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

ROLES = ("reviewer", "owner", "lead", "admin")


def utcnow() -> datetime:
    """Now from the clock in force (clock.py); the default of every created_at-style column."""
    return clock.now()


def _json(default: Any = None) -> Any:
    nullable = default is None
    if isinstance(default, list):
        return Field(default_factory=list, sa_column=Column(JSON, nullable=nullable))
    if isinstance(default, dict):
        return Field(default_factory=dict, sa_column=Column(JSON, nullable=nullable))
    return Field(default=None, sa_column=Column(JSON, nullable=True))


def _text(nullable: bool = False) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(Text, nullable=nullable))


# --- people -------------------------------------------------------------------------------------


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=80)
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, index=True, unique=True, max_length=320)
    role: str = Field(max_length=20)
    password_hash: str | None = Field(default=None, max_length=500)
    active: bool = True
    created_at: NaiveDatetime = Field(default_factory=utcnow)


# "RITA" and "rita" are one account on both databases (a functional unique index, not a convention).
Index("uq_user_username_lower", text("lower(username)"), unique=True, _table=User.__table__)

# The same username rule as users.validate_username, held by the database itself: 1-80 ASCII letters,
# digits, '.', '_', '-', '@', starting with a letter or digit (no NUL, no control characters, no spaces).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$"
USERNAME_GUARD_DDL = {
    "sqlite": [
        f"""CREATE TRIGGER IF NOT EXISTS trg_user_username_{op.split()[0].lower()} BEFORE {op} ON "user"
        FOR EACH ROW WHEN length(CAST(NEW.username AS BLOB)) NOT BETWEEN 1 AND 80
          OR length(NEW.username) <> length(CAST(NEW.username AS BLOB))
          OR NEW.username GLOB '*[^A-Za-z0-9._@-]*' OR substr(NEW.username, 1, 1) GLOB '[^A-Za-z0-9]'
        BEGIN SELECT RAISE(ABORT, 'username: 1-80 letters, digits, . _ - @, starting with a letter or digit');
        END"""
        for op in ("INSERT", "UPDATE OF username")
    ],
    "postgresql": [
        f"""ALTER TABLE "user" ADD CONSTRAINT ck_user_username_chars CHECK (username ~ '{USERNAME_PATTERN}')"""
    ],
}
for _dialect, _statements in USERNAME_GUARD_DDL.items():
    for _statement in _statements:
        event.listen(User.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class Credential(SQLModel, table=True):
    """A secret that stands for one user outside the browser: a personal CLI token or an API key.

    Only sha256(secret) is kept (the secret is high-entropy random, so a slow hash adds nothing); the
    prefix is shown in lists so a person can tell their tokens apart. Revoked or expired ones never work.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="personal", max_length=20)  # personal | api
    label: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=16)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=80)
    expires_at: NaiveDatetime | None = None
    revoked_at: NaiveDatetime | None = None
    last_used_at: NaiveDatetime | None = None


class BrowserSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random secret, the table only its sha256 (review_store.sessions).

    It ends at `expires_at`, at sign-out (`revoked_at`), or when its user is deactivated.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    expires_at: NaiveDatetime
    revoked_at: NaiveDatetime | None = None
    last_seen_at: NaiveDatetime | None = None
    address: str | None = Field(default=None, max_length=64)  # the browser's address at sign-in


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per username and per client address; `locked_until` refuses attempts until then."""

    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=10)  # user | address
    key: str = Field(max_length=120)
    failures: int = 0
    last_failure_at: NaiveDatetime = Field(default_factory=utcnow)
    locked_until: NaiveDatetime | None = None


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
        Index("ix_trace_model", "model"),
        # The Costs page's reported/computed split over a time range: index-only.
        Index(
            "ix_trace_ts_cost_source", "ts", "cost_source", "cost_usd"
        ),  # maturity's distinct models, one index probe each
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
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(unique=True, max_length=200)
    ts: NaiveDatetime
    app: str = Field(default="", max_length=120)
    segment: str = Field(default="", max_length=120)
    release: str = Field(default="", max_length=120)
    model: str = Field(default="", max_length=200)
    prompt_version: str = Field(default="", max_length=120)
    input: str = _text()
    # len(input), stored so drift's input-length PSI never reads the text (filled on every insert)
    input_chars: int | None = Field(default=None, sa_column_kwargs={"default": _input_chars})
    output: str = _text()
    context: list[dict[str, Any]] = _json([])
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
    meta: dict[str, Any] = _json({})


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


# --- rubrics, judges -----------------------------------------------------------------------------


class Rubric(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    version: int = 1
    questions: list[dict[str, Any]] = _json([])
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class JudgeConfig(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    version: int = 1
    model: str = Field(max_length=200)
    prompt_template: str = _text()
    rubric_id: int = Field(foreign_key="rubric.id")
    params: dict[str, Any] = _json({})
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
    value: Any = _json()  # the answer as the rubric question expects it (number, label, list, text)
    score: float | None = None  # numeric form of value for ratings, for SQL aggregates
    confidence: float | None = None
    rationale: str | None = _text(nullable=True)
    cost_usd: float | None = None
    latency_ms: float | None = None
    error: str | None = _text(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    # Copies of the trace's ts, segment and release (as GuardrailEvent has): no join for dashboards.
    trace_ts: NaiveDatetime | None = None
    segment: str = Field(default="", max_length=120)
    release: str = Field(default="", max_length=120)


# --- review ---------------------------------------------------------------------------------------


class SamplingPolicy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    strategies: list[dict[str, Any]] = _json([])
    daily_quota: int = 100
    overlap_k: int = 2
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class ReviewItem(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("trace_id", "queue"),
        # the queue's serving order, ties by id: a claim walks it and stops at the first eligible item
        Index("ix_reviewitem_lane", "status", "queue", "priority", "created_at", "id"),
        # the item browser's order (newest first) and a reviewer's assigned items, both index seeks
        Index("ix_reviewitem_created", "created_at", "id"),
        Index("ix_reviewitem_assigned", "assigned_to_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    trace_id: int = Field(foreign_key="trace.id", ondelete="CASCADE")
    queue: str = Field(default="sampled", max_length=20)  # sampled | escalation
    reason: str = Field(default="random", max_length=40)
    priority: int = 0
    overlap_k: int = 1
    status: str = Field(default="open", max_length=20)  # open | done | adjudication | escalated | resolved
    labels_done: int = 0
    sampling_policy_id: int | None = Field(default=None, foreign_key="samplingpolicy.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    escalated_at: NaiveDatetime | None = None
    escalation_reason: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, max_length=80)
    resolution_note: str | None = _text(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=80)
    resolved_at: NaiveDatetime | None = None
    # A lead's assignment: this reviewer is served the item first and the other reviewers leave one of
    # its k slots for them (review_store/items/assign.py).
    assigned_to_id: int | None = Field(default=None, foreign_key="user.id")


class Assignment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer_id"),
        Index("ix_assignment_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id", ondelete="CASCADE")
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    leased_at: NaiveDatetime = Field(default_factory=utcnow)
    expires_at: NaiveDatetime
    status: str = Field(default="active", max_length=20)  # active | done | skipped | expired


class Label(SQLModel, table=True):
    # client_key: the HTTP API's Idempotency-Key, unique per reviewer (NULLs never collide)
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer_id"),
        UniqueConstraint("reviewer_id", "client_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id", index=True, ondelete="CASCADE")
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    rubric_id: int = Field(foreign_key="rubric.id")
    answers: dict[str, Any] = _json({})
    correction: str | None = _text(nullable=True)
    seconds_spent: float | None = None
    source: str = Field(default="app", max_length=20)  # app | argilla | demo | api
    client_key: str | None = Field(default=None, max_length=120)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class Adjudication(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id", unique=True, ondelete="CASCADE")
    adjudicator_id: int = Field(foreign_key="user.id")
    rubric_id: int = Field(foreign_key="rubric.id")
    answers: dict[str, Any] = _json({})
    note: str | None = _text(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class GoldenExample(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    trace_id: int = Field(foreign_key="trace.id", unique=True)
    item_id: int | None = Field(default=None, foreign_key="reviewitem.id")
    input: str = _text()
    expected_output: str = _text()
    expected_labels: dict[str, Any] = _json({})
    tags: list[str] = _json([])
    added_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


# --- releases ---------------------------------------------------------------------------------------


class Release(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    manifest: dict[str, Any] = _json({})
    manifest_hash: str = Field(max_length=64)
    author_id: int = Field(foreign_key="user.id")
    # candidate | approved | rejected | deploying | live | known_good | rolled_back | superseded
    status: str = Field(default="candidate", max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="release.id")
    notes: str | None = _text(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class EvalRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    golden_set_version: str = Field(default="", max_length=64)
    metrics: dict[str, Any] = _json({})
    source: str = Field(default="", max_length=120)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class GatePolicy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    thresholds: list[dict[str, Any]] = _json([])
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class Approval(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    approver_id: int = Field(foreign_key="user.id")
    decision: str = Field(max_length=20)  # approved | rejected
    comment: str = _text()
    evidence_hash: str = Field(max_length=64)
    gate_policy_id: int | None = Field(default=None, foreign_key="gatepolicy.id")
    override_reason: str | None = _text(nullable=True)  # set => approved as a recorded exception
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class Deployment(SQLModel, table=True):
    """One step of a rollout: a canary stage, full traffic, a health check or a rollback."""

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    kind: str = Field(max_length=20)  # canary | health_check | rollback
    stage_pct: int = 0
    healthy: bool | None = None
    known_good: bool = False
    actor: str = Field(default="", max_length=80)
    note: str | None = _text(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


# --- governance ------------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; the app never updates or deletes a row."""

    seq: int | None = Field(default=None, primary_key=True)
    ts: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=80, index=True)
    entity: str = Field(max_length=80)
    entity_id: str = Field(default="", max_length=200)
    payload: str = _text()  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Setting(SQLModel, table=True):
    """Named settings a lead edits in the app (thresholds, budgets, SLAs), each change audited."""

    key: str = Field(primary_key=True, max_length=120)
    value: Any = _json()
    updated_by: str = Field(default="", max_length=80)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class SavedView(SQLModel, table=True):
    """A user's named filter set in the item browser (the filters as JSON)."""

    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    name: str = Field(max_length=80)
    filters: dict[str, Any] = _json({})
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class MaturityAnswer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    question_key: str = Field(max_length=80, index=True)
    answer: Any = _json()
    answered_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


from review_store.rollups.tables import (  # noqa: E402, F401  (the rollup tables share this metadata)
    RollupGuardrail,
    RollupTraffic,
    RollupValue,
    RollupVerdict,
)
