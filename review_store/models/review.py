"""Review work: sampling policy, review items, leases, labels, adjudications, the golden set."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field, utcnow

# --- review ---------------------------------------------------------------------------------------


class SamplingPolicy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    strategies: list[dict[str, Any]] = json_field([])
    daily_quota: int = 100
    overlap_k: int = 2
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class ReviewItem(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("trace_id", "queue"),
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
    resolution_note: str | None = text_field(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=80)
    resolved_at: NaiveDatetime | None = None
    # A lead's assignment: this reviewer is served the item first and the other reviewers leave one of
    # its k slots for them (review_store/items/assign.py).
    assigned_to_id: int | None = Field(default=None, foreign_key="user.id")


# The queue's serving order (escalations before sampled items, highest priority first, oldest first, ties
# by id): a claim walks it from the first open entry and stops at the first eligible item (queue/claim.py).
Index(
    "ix_reviewitem_serve",
    ReviewItem.__table__.c.status,
    ReviewItem.__table__.c.queue,
    ReviewItem.__table__.c.priority.desc(),
    ReviewItem.__table__.c.created_at,
    ReviewItem.__table__.c.id,
)


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
    answers: dict[str, Any] = json_field({})
    correction: str | None = text_field(nullable=True)
    seconds_spent: float | None = None
    source: str = Field(default="app", max_length=20)  # app | argilla | demo | api
    client_key: str | None = Field(default=None, max_length=120)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class Adjudication(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id", unique=True, ondelete="CASCADE")
    adjudicator_id: int = Field(foreign_key="user.id")
    rubric_id: int = Field(foreign_key="rubric.id")
    answers: dict[str, Any] = json_field({})
    note: str | None = text_field(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class GoldenExample(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    trace_id: int = Field(foreign_key="trace.id", unique=True)
    item_id: int | None = Field(default=None, foreign_key="reviewitem.id")
    input: str = text_field()
    expected_output: str = text_field()
    expected_labels: dict[str, Any] = json_field({})
    # ids of the trace's context chunks that should be retrieved (None: the example says nothing about
    # retrieval); read by review_store.retrieval for precision@k and recall
    expected_chunks: list[str] | None = json_field(None)
    tags: list[str] = json_field([])
    added_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
