"""Alert rules as records: add (validated), edit, list, enable/disable, and the recorded deliveries. Leads
and admins only (permission "manage_alerts"); every change is audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store import audit, settings
from review_store.alerts import kinds
from review_store.alerts.payloads import FORMATS
from review_store.alerts.webhooks import validate_url
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.models import AlertDelivery, AlertRule, AlertState, utcnow
from review_store.permissions import Actor, require

MAX_COOLDOWN_MINUTES = 7 * 24 * 60


def _url(session: Session, webhook_url: Any) -> str:
    return validate_url(webhook_url, **settings.get(session, "alerts.webhooks").hosts())


def _cooldown(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("cooldown_minutes: must be a whole number of minutes")
    if not 0 <= value <= MAX_COOLDOWN_MINUTES:
        raise ValidationFailed(f"cooldown_minutes: must be from 0 to {MAX_COOLDOWN_MINUTES} (a week)")
    return value


def _format(value: Any) -> str:
    if value not in FORMATS:
        raise ValidationFailed(f"format: {value!r} is not one of {', '.join(FORMATS)}")
    return value


def add_rule(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str,
    webhook_url: str,
    params: dict[str, Any] | None = None,
    payload_format: str = "json",
    cooldown_minutes: int = 60,
) -> AlertRule:
    """A new enabled rule; ValidationFailed names the bad field, ConflictError a taken name."""
    require(actor, "manage_alerts")
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed("name: required, at most 120 characters")
    clean = kinds.validate(kind, params or {})
    url = _url(session, webhook_url)
    _format(payload_format)
    _cooldown(cooldown_minutes)
    if session.exec(select(AlertRule.id).where(AlertRule.name == name)).first() is not None:
        raise ConflictError(f"an alert rule named {name!r} already exists")
    rule = AlertRule(
        name=name,
        kind=kind,
        params=clean,
        webhook_url=url,
        payload_format=payload_format,
        cooldown_minutes=cooldown_minutes,
        created_by=actor.username,
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="alert.rule_add",
        entity="alertrule",
        entity_id=name,
        payload={"kind": kind, "params": clean, "webhook_url": url, "format": payload_format,
                 "cooldown_minutes": cooldown_minutes},
    )  # fmt: skip
    return rule


def get_rule(session: Session, *, name: str) -> AlertRule:
    rule = session.exec(select(AlertRule).where(AlertRule.name == name)).first()
    if rule is None:
        raise NotFound(f"no alert rule named {name!r}")
    return rule


def edit_rule(
    session: Session,
    *,
    actor: Actor,
    name: str,
    params: dict[str, Any] | None = None,
    webhook_url: str | None = None,
    cooldown_minutes: int | None = None,
    payload_format: str | None = None,
) -> tuple[AlertRule, dict[str, dict[str, Any]]]:
    """Change a rule's parameters (its thresholds: the kind's params, replaced whole), webhook, cooldown or
    payload format; None leaves a field as it is. Every given field is validated before anything changes
    (as when adding; the webhook against the alerts.webhooks setting). Returns the rule and the changes
    ({field: {"from", "to"}}, empty when nothing differs: then nothing is written or audited). The rule's
    firing state is kept: the next check reconciles it with what the edited rule fires for."""
    require(actor, "manage_alerts")
    rule = get_rule(session, name=name)
    wanted: dict[str, Any] = {}
    if params is not None:
        wanted["params"] = kinds.validate(rule.kind, params)
    if webhook_url is not None:
        wanted["webhook_url"] = _url(session, webhook_url)
    if cooldown_minutes is not None:
        wanted["cooldown_minutes"] = _cooldown(cooldown_minutes)
    if payload_format is not None:
        wanted["payload_format"] = _format(payload_format)
    changes = {
        field: {"from": getattr(rule, field), "to": value}
        for field, value in wanted.items()
        if getattr(rule, field) != value
    }
    if not changes:
        return rule, {}
    for field, change in changes.items():
        setattr(rule, field, change["to"])
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    audit.record(
        session, actor=actor, action="alert.rule_edit", entity="alertrule", entity_id=name, payload=changes
    )
    return rule, changes


def set_enabled(session: Session, *, actor: Actor, name: str, enabled: bool) -> AlertRule:
    """Enable or disable a rule. Disabling forgets its firing state, so re-enabling starts afresh."""
    require(actor, "manage_alerts")
    rule = get_rule(session, name=name)
    if rule.enabled == enabled:
        return rule
    rule.enabled, rule.updated_at = enabled, utcnow()
    session.add(rule)
    if not enabled:
        for state in session.exec(select(AlertState).where(AlertState.rule_id == rule.id)).all():
            session.delete(state)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="alert.rule_enable" if enabled else "alert.rule_disable",
        entity="alertrule",
        entity_id=name,
    )
    return rule


def list_rules(session: Session, *, actor: Actor) -> list[tuple[AlertRule, list[AlertState]]]:
    """Every rule (by name) with the subjects it fires for now."""
    require(actor, "manage_alerts")
    rules = session.exec(select(AlertRule).order_by(col(AlertRule.name))).all()
    states = session.exec(
        select(AlertState).where(AlertState.firing == True).order_by(col(AlertState.subject))  # noqa: E712
    ).all()
    by_rule: dict[int, list[AlertState]] = {}
    for state in states:
        by_rule.setdefault(state.rule_id, []).append(state)
    return [(rule, by_rule.get(rule.id or 0, [])) for rule in rules]


def deliveries(
    session: Session, *, actor: Actor, rule: str | None = None, limit: int = 50
) -> list[tuple[AlertDelivery, str]]:
    """The newest delivery attempts (of one rule, or all), newest first, with the rule's name."""
    require(actor, "manage_alerts")
    query = select(AlertDelivery, AlertRule.name).join(AlertRule, col(AlertRule.id) == AlertDelivery.rule_id)
    if rule is not None:
        query = query.where(AlertDelivery.rule_id == get_rule(session, name=rule).id)
    query = query.order_by(col(AlertDelivery.attempted_at).desc(), col(AlertDelivery.id).desc()).limit(limit)
    return [(row, name) for row, name in session.exec(query).all()]
