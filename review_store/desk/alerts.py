"""desk.alerts: alert rules (leads and admins) and `alerts check` (evaluate, notify, record).

Every method owns its transaction; the rules live in review_store.alerts. `check` evaluates at the
desk's clock (`--as-of` pins it) and sends with no transaction open (alerts.check explains the steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from review_store import clock
from review_store.alerts import check as checking
from review_store.alerts import rules
from review_store.alerts.delivery import RetryPolicy, send
from review_store.desk import alert_views as views
from review_store.desk.base import Part
from review_store.hashing import canonical_json
from review_store.models import AlertDelivery, AlertRule, AlertState
from review_store.permissions import Actor, refresh_actor

__all__ = ["AlertsPart", "RetryPolicy"]


def _rule_view(rule: AlertRule, firing: list[AlertState]) -> views.AlertRuleView:
    return views.AlertRuleView(
        id=rule.id or 0,
        name=rule.name,
        kind=rule.kind,
        params=canonical_json(rule.params or {}),
        webhook_url=rule.webhook_url,
        payload_format=rule.payload_format,
        cooldown_minutes=rule.cooldown_minutes,
        enabled=rule.enabled,
        created_by=rule.created_by,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
        firing=tuple(s.subject for s in firing),
    )


def _shown(value: Any) -> str:
    return canonical_json(value) if isinstance(value, dict) else str(value)


def _delivery_view(row: AlertDelivery, rule: str) -> views.AlertDeliveryView:
    return views.AlertDeliveryView(
        id=row.id or 0,
        rule=rule,
        batch=row.batch,
        attempt=row.attempt,
        subjects=tuple(row.subjects or ()),
        url=row.url,
        ok=row.ok,
        status_code=row.status_code,
        error=row.error,
        attempted_at=row.attempted_at,
        duration_ms=row.duration_ms,
    )


class AlertsPart(Part):
    def kinds(self) -> tuple[views.AlertKindView, ...]:
        """The rule kinds, what each watches and the parameters it takes (for forms and help)."""
        from review_store.alerts.kinds import DESCRIPTIONS, PARAMS

        return tuple(
            views.AlertKindView(kind=k, description=DESCRIPTIONS[k], params=PARAMS[k]) for k in DESCRIPTIONS
        )

    def add(
        self,
        *,
        actor: Actor,
        name: str,
        kind: str,
        webhook_url: str,
        params: dict[str, Any] | None = None,
        payload_format: str = "json",
        cooldown_minutes: int = 60,
    ) -> views.AlertRuleView:
        """A new enabled rule (leads and admins); audited."""
        with self._write(actor) as (session, who):
            rule = rules.add_rule(
                session,
                actor=who,
                name=name,
                kind=kind,
                webhook_url=webhook_url,
                params=params,
                payload_format=payload_format,
                cooldown_minutes=cooldown_minutes,
            )
            return _rule_view(rule, [])

    def edit(
        self,
        *,
        actor: Actor,
        name: str,
        params: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        cooldown_minutes: int | None = None,
        payload_format: str | None = None,
    ) -> views.AlertRuleEdit:
        """Change a rule's parameters (replaced whole), webhook, cooldown or format; None keeps a field.
        Validated like `add`; audited (alert.rule_edit, from and to) when something changed."""
        with self._write(actor) as (session, who):
            rule, changes = rules.edit_rule(
                session,
                actor=who,
                name=name,
                params=params,
                webhook_url=webhook_url,
                cooldown_minutes=cooldown_minutes,
                payload_format=payload_format,
            )
            return views.AlertRuleEdit(
                rule=_rule_view(rule, []),
                changes=tuple(
                    views.FieldChange(
                        field=field,
                        before=_shown(change["from"]),
                        after=_shown(change["to"]),
                    )
                    for field, change in changes.items()
                ),
            )

    def set_enabled(self, *, actor: Actor, name: str, enabled: bool) -> views.AlertRuleView:
        """Enable or disable a rule (disabling forgets what it fired for); audited."""
        with self._write(actor) as (session, who):
            return _rule_view(rules.set_enabled(session, actor=who, name=name, enabled=enabled), [])

    def list(self, *, actor: Actor) -> tuple[views.AlertRuleView, ...]:
        """Every rule by name, with the subjects it fired for at the last check."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            return tuple(_rule_view(rule, firing) for rule, firing in rules.list_rules(session, actor=who))

    def deliveries(
        self, *, actor: Actor, rule: str | None = None, limit: int = 50
    ) -> tuple[views.AlertDeliveryView, ...]:
        """The newest delivery attempts, newest first (of one rule when named)."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            rows = rules.deliveries(session, actor=who, rule=rule, limit=limit)
            return tuple(_delivery_view(row, name) for row, name in rows)

    def check(
        self,
        *,
        actor: Actor,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> views.AlertCheckView:
        """Evaluate every enabled rule at the desk's time, notify the new subjects, record every attempt."""
        policy = retry or RetryPolicy()
        with self._write(actor) as (session, who):
            at = clock.now()
            outcomes = checking.plan(session, actor=who, at=at)
        for outcome in outcomes:
            out = outcome.outgoing
            if out is not None:
                extra = {"sleep": sleep} if sleep is not None else {}
                out.attempts = send(out.url, out.payload, policy, **extra, **out.hosts)
        with self._write(actor) as (session, who):
            checking.record(session, actor=who, at=at, outcomes=outcomes)
        return views.AlertCheckView(
            as_of=at,
            rules=tuple(
                views.RuleCheckView(
                    rule=o.rule,
                    kind=o.kind,
                    firing=tuple(o.firing),
                    new=tuple(o.new),
                    status=o.status,
                    cooldown_until=o.cooldown_until,
                    attempts=tuple(
                        views.AttemptView(
                            attempt=a.attempt, ok=a.ok, status_code=a.status_code, error=a.error
                        )
                        for a in (o.outgoing.attempts if o.outgoing else [])
                    ),
                )
                for o in outcomes
            ),
        )
