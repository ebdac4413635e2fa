"""Alerts: rules (what to watch, where to send), their firing state per subject (dedup) and every delivery
attempt (status code, error, time)."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from review_store.models.common import json_field, text_field, utcnow


class AlertRule(SQLModel, table=True):
    """One alert rule: a kind (which store rule it asks), its parameters, a webhook and a cooldown."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=40)
    params: dict[str, Any] = json_field({})
    webhook_url: str = Field(max_length=500)
    payload_format: str = Field(default="json", max_length=10)  # json | slack
    cooldown_minutes: int = 60  # minimum time between two deliveries of this rule
    enabled: bool = True
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class AlertState(SQLModel, table=True):
    """Whether a rule fires for one subject (a guardrail in a segment, a release, an item...): the dedup.

    A subject is notified once per firing episode: `notified_at` is set by the delivery that carried it and
    cleared when the subject stops firing, so it is sent again only after it cleared and fired anew.
    `claim` (the notification's batch) and `claimed_at` are written by the check that is about to send it,
    in the same transaction that decided so, and cleared when that check records the outcome: a concurrent
    check sees the claim and does not send the subject again (alerts.check explains the lease).
    """

    __table_args__ = (UniqueConstraint("rule_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alertrule.id", ondelete="CASCADE", index=True)
    subject: str = Field(max_length=240)
    firing: bool = True
    summary: str = text_field()
    since: NaiveDatetime  # when this firing episode began
    last_seen_at: NaiveDatetime
    notified_at: NaiveDatetime | None = None
    claim: str | None = Field(default=None, max_length=40)
    claimed_at: NaiveDatetime | None = None


class AlertDelivery(SQLModel, table=True):
    """One attempt to deliver one notification of a rule (retries are further rows of the same batch)."""

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alertrule.id", ondelete="CASCADE", index=True)
    batch: str = Field(max_length=40)  # the notification this attempt belongs to
    attempt: int  # 1, 2, ...
    subjects: list[str] = json_field([])
    url: str = Field(max_length=500)
    ok: bool
    status_code: int | None = None
    error: str = text_field()
    attempted_at: NaiveDatetime
    duration_ms: float = 0.0
