"""Releases: manifests, eval runs, gate policies, approvals, deployments."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field, utcnow

# --- releases ---------------------------------------------------------------------------------------


class Release(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    manifest: dict[str, Any] = json_field({})
    manifest_hash: str = Field(max_length=64)
    author_id: int = Field(foreign_key="user.id")
    # candidate | approved | rejected | deploying | live | known_good | rolled_back | superseded
    status: str = Field(default="candidate", max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="release.id")
    notes: str | None = text_field(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class EvalRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    golden_set_version: str = Field(default="", max_length=64)
    metrics: dict[str, Any] = json_field({})
    source: str = Field(default="", max_length=120)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class GatePolicy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    thresholds: list[dict[str, Any]] = json_field([])
    content_hash: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class Approval(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    approver_id: int = Field(foreign_key="user.id")
    decision: str = Field(max_length=20)  # approved | rejected
    comment: str = text_field()
    evidence_hash: str = Field(max_length=64)
    gate_policy_id: int | None = Field(default=None, foreign_key="gatepolicy.id")
    override_reason: str | None = text_field(nullable=True)  # set => approved as a recorded exception
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
    note: str | None = text_field(nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
