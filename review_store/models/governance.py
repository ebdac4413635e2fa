"""Governance: the audit trail, team settings, saved views, maturity answers."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field, utcnow

# --- governance ------------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; the app never updates or deletes a row."""

    seq: int | None = Field(default=None, primary_key=True)
    ts: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=80, index=True)
    entity: str = Field(max_length=80)
    entity_id: str = Field(default="", max_length=200)
    payload: str = text_field()  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Setting(SQLModel, table=True):
    """Named settings a lead edits in the app (thresholds, budgets, SLAs), each change audited."""

    key: str = Field(primary_key=True, max_length=120)
    value: Any = json_field()
    updated_by: str = Field(default="", max_length=80)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class SavedView(SQLModel, table=True):
    """A user's named filter set in the item browser (the filters as JSON)."""

    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    name: str = Field(max_length=80)
    filters: dict[str, Any] = json_field({})
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class MaturityAnswer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    question_key: str = Field(max_length=80, index=True)
    answer: Any = json_field()
    answered_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
