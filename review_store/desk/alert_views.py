"""Frozen read models of desk.alerts: rules, delivery attempts and the report of one `alerts check`."""

from __future__ import annotations

from datetime import datetime

from review_store.desk.base import ReadModel


class AlertKindView(ReadModel):
    kind: str
    description: str
    params: tuple[str, ...]  # the parameters the kind takes


class AlertRuleView(ReadModel):
    id: int
    name: str
    kind: str
    params: str  # canonical JSON of the kind's parameters
    webhook_url: str
    payload_format: str
    cooldown_minutes: int
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    firing: tuple[str, ...]  # subjects the rule fired for at the last check


class FieldChange(ReadModel):
    field: str  # params | webhook_url | cooldown_minutes | payload_format
    before: str  # as shown (params as canonical JSON)
    after: str


class AlertRuleEdit(ReadModel):
    """A rule after an edit and what changed (empty: nothing differed, nothing was written)."""

    rule: AlertRuleView
    changes: tuple[FieldChange, ...]

    def summary(self) -> str:
        if not self.changes:
            return f"{self.rule.name}: nothing changed"
        return f"{self.rule.name}: " + "; ".join(f"{c.field} {c.before} -> {c.after}" for c in self.changes)


class AlertDeliveryView(ReadModel):
    id: int
    rule: str
    batch: str
    attempt: int
    subjects: tuple[str, ...]
    url: str
    ok: bool
    status_code: int | None
    error: str
    attempted_at: datetime
    duration_ms: float


class AttemptView(ReadModel):
    attempt: int
    ok: bool
    status_code: int | None
    error: str


class RuleCheckView(ReadModel):
    """One rule at one check: what fires, what is new (not notified yet), and what happened to it."""

    rule: str
    kind: str
    firing: tuple[str, ...]
    new: tuple[str, ...]
    status: str  # quiet | notified before | in flight (another check is sending) | cooldown | sent | failed
    cooldown_until: datetime | None
    attempts: tuple[AttemptView, ...]


class AlertCheckView(ReadModel):
    as_of: datetime
    rules: tuple[RuleCheckView, ...]

    @property
    def failed(self) -> bool:
        """A notification that could not be delivered after its retries (`alerts check` exits 1)."""
        return any(r.status == "failed" for r in self.rules)
