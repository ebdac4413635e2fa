"""Team settings a lead edits in the app (trust thresholds, SLAs, budgets, rollback rule), each change audited."""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import Session, select

from review_store import audit
from review_store.errors import ValidationFailed
from review_store.models import Setting, utcnow
from review_store.permissions import Actor, require

DEFAULTS: dict[str, Any] = {
    "judge.trust": {"trusted_alpha": 0.80, "calibrate_alpha": 0.667, "min_items": 50},
    "escalation.sla_hours": {"warn": 24, "breach": 48},
    "escalation.low_confidence": 0.5,
    "cost.budget": {"period": "month", "usd": 250.0},
    "rollback.rule": {
        "mode": "suggest",  # suggest | auto
        "window_hours": 24,
        "max_guardrail_rate_ratio": 2.0,
        "max_judge_fail_rate_ratio": 1.5,
        "max_p95_latency_ratio": 1.5,
    },
    "drift.psi": {"watch": 0.1, "act": 0.25},
}


def get(session: Session, key: str) -> Any:
    """The stored value, or the default for keys that have one."""
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    if key in DEFAULTS:
        return copy.deepcopy(DEFAULTS[key])
    raise ValidationFailed(f"setting: unknown key {key!r}")


def put(session: Session, *, actor: Actor, key: str, value: Any) -> Setting:
    """Change a setting (leads only); the old and new values go into the audit trail."""
    require(actor, "edit_settings")
    if key not in DEFAULTS:
        raise ValidationFailed(f"setting: unknown key {key!r}; known: {', '.join(sorted(DEFAULTS))}")
    default = DEFAULTS[key]
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ValidationFailed(f"{key}: expected an object with {', '.join(default)}")
        unknown = set(value) - set(default)
        if unknown:
            raise ValidationFailed(f"{key}: unknown field(s) {', '.join(sorted(unknown))}")
        value = {**default, **value}
    row = session.get(Setting, key)
    before = row.value if row is not None else None
    if row is None:
        row = Setting(key=key, value=value, updated_by=actor.username)
    else:
        row.value, row.updated_by, row.updated_at = value, actor.username, utcnow()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="setting.put",
        entity="setting",
        entity_id=key,
        payload={"from": before, "to": value},
    )
    return row


def all_settings(session: Session) -> dict[str, Any]:
    stored = {row.key: row.value for row in session.exec(select(Setting)).all() if row.key in DEFAULTS}
    return {key: stored.get(key, copy.deepcopy(default)) for key, default in DEFAULTS.items()}
