"""`alerts check`: evaluate every enabled rule at a given time, decide what to send, record what was sent.

In three steps, so no database transaction stays open while a webhook answers:
1. plan (one transaction): each rule's kind is evaluated at `at`; its firing state per subject is
   updated (subjects no longer firing are cleared, so they notify again when they come back) and the
   subjects firing but not yet notified in this episode are the rule's new ones (dedup). A rule with new
   subjects is sent one notification, unless its last successful delivery is less than its cooldown
   before `at` (then it waits: the subjects stay pending for a later check);
2. send (no transaction): delivery.send with bounded retries;
3. record (one transaction): every attempt (status code, error, time = `at`), the subjects marked
   notified when one attempt succeeded, and one audit event per notification.
A crash between 2 and 3 re-sends at the next check (at least once, never silently lost).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit
from review_store.alerts import kinds, payloads
from review_store.alerts.delivery import Attempt
from review_store.models import AlertDelivery, AlertRule, AlertState
from review_store.permissions import Actor, require


@dataclass
class Outgoing:
    rule_id: int
    rule: str
    url: str
    batch: str
    subjects: list[str]
    payload: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(a.ok for a in self.attempts)


@dataclass
class RuleOutcome:
    rule: str
    kind: str
    firing: list[str]
    new: list[str]
    status: str  # quiet | notified before | cooldown | sent | failed
    cooldown_until: datetime | None = None
    outgoing: Outgoing | None = None


def _sync_states(session: Session, rule: AlertRule, hits: list[kinds.Hit], at: datetime) -> list[kinds.Hit]:
    """Update the rule's firing state; the hits not yet notified in their firing episode."""
    states = {s.subject: s for s in session.exec(select(AlertState).where(AlertState.rule_id == rule.id))}
    firing = {h.subject for h in hits}
    for subject, state in states.items():
        if state.firing and subject not in firing:
            state.firing, state.notified_at = False, None
            session.add(state)
    pending = []
    for hit in hits:
        state = states.get(hit.subject)
        if state is None:
            state = AlertState(rule_id=rule.id or 0, subject=hit.subject, since=at, last_seen_at=at)
        elif not state.firing:
            state.firing, state.since, state.notified_at = True, at, None
        state.last_seen_at, state.summary = at, hit.summary
        session.add(state)
        if state.notified_at is None:
            pending.append(hit)
    session.flush()
    return pending


def _last_delivered(session: Session, rule_id: int) -> datetime | None:
    return session.exec(
        select(func.max(AlertDelivery.attempted_at)).where(
            AlertDelivery.rule_id == rule_id,
            AlertDelivery.ok == True,  # noqa: E712
        )
    ).one()


def plan(session: Session, *, actor: Actor, at: datetime) -> list[RuleOutcome]:
    """Evaluate every enabled rule at `at` and decide, per rule, whether a notification goes out."""
    require(actor, "check_alerts")
    outcomes = []
    enabled = select(AlertRule).where(AlertRule.enabled == True).order_by(col(AlertRule.name))  # noqa: E712
    for rule in session.exec(enabled).all():
        hits = kinds.evaluate(session, rule.kind, rule.params or {}, at)
        pending = _sync_states(session, rule, hits, at)
        outcome = RuleOutcome(
            rule.name, rule.kind, [h.subject for h in hits], [h.subject for h in pending], ""
        )
        outcomes.append(outcome)
        if not pending:
            outcome.status = "notified before" if hits else "quiet"
            continue
        last = _last_delivered(session, rule.id or 0)
        if last is not None and at < last + timedelta(minutes=rule.cooldown_minutes):
            outcome.status, outcome.cooldown_until = (
                "cooldown",
                last + timedelta(minutes=rule.cooldown_minutes),
            )
            continue
        outcome.outgoing = Outgoing(
            rule.id or 0,
            rule.name,
            rule.webhook_url,
            uuid.uuid4().hex[:16],
            outcome.new,
            payloads.build(rule.payload_format, rule.name, rule.kind, at, pending),
        )
    return outcomes


def record(session: Session, *, actor: Actor, at: datetime, outcomes: list[RuleOutcome]) -> None:
    """Store every attempt of every notification sent, mark delivered subjects notified, audit each."""
    for outcome in outcomes:
        out = outcome.outgoing
        if out is None:
            continue
        outcome.status = "sent" if out.delivered else "failed"
        for a in out.attempts:
            session.add(
                AlertDelivery(
                    rule_id=out.rule_id, batch=out.batch, attempt=a.attempt, subjects=out.subjects, url=out.url,
                    ok=a.ok, status_code=a.status_code, error=a.error, attempted_at=at, duration_ms=a.duration_ms,
                )
            )  # fmt: skip
        if out.delivered:
            for state in session.exec(
                select(AlertState).where(
                    AlertState.rule_id == out.rule_id, col(AlertState.subject).in_(out.subjects)
                )
            ):
                if state.firing:
                    state.notified_at = at
                    session.add(state)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="alert.deliver",
            entity="alertrule",
            entity_id=out.rule,
            payload={
                "batch": out.batch,
                "delivered": out.delivered,
                "subjects": out.subjects,
                "url": out.url,
                "attempts": [
                    {"attempt": a.attempt, "status_code": a.status_code, "error": a.error}
                    for a in out.attempts
                ],
            },
        )
