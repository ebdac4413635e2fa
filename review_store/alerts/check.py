"""`alerts check`: evaluate every enabled rule at a given time, decide what to send, record what was sent.

In three steps, so no database transaction stays open while a webhook answers:
1. plan (one transaction): each rule's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
   writers already take turns), its kind is evaluated at `at`, its firing state per subject is
   updated (subjects no longer firing are cleared, so they notify again when they come back) and the
   subjects firing but not yet notified in this episode are the rule's new ones (dedup). A rule with new
   subjects is sent one notification, unless its last successful delivery is less than its cooldown
   before `at` (then it waits: the subjects stay pending for a later check). The subjects to send are
   claimed (alertstate.claim = the notification's batch, claimed_at = `at`) before the transaction commits;
2. send (no transaction): delivery.send with bounded retries;
3. record (one transaction): every attempt (status code, error, time = `at`), the claimed subjects marked
   notified when one attempt succeeded, the claim released either way (a failed one is tried again at the
   next check), and one audit event per notification.

Concurrent checks (two cron jobs, two threads): the second check's plan waits on the rule's lock until the
first's plan committed, then sees the first's claims and sends nothing for those subjects (status
"in flight"; also when another check's claim is live on a rule with a cooldown, so a second notification
cannot slip under it before the first is recorded). A claim is live for CLAIM_LEASE after its `claimed_at`:
a check that crashed between 1 and 3 leaves its claim, and a check at least CLAIM_LEASE later sends the
subjects again (at least once, never silently lost). The lease is longer than a send's longest run (10
tries x 120 s at the CLI's limits would exceed it; the defaults, 3 x 10 s, are far inside).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit, settings
from review_store.alerts import kinds, payloads
from review_store.alerts.delivery import Attempt
from review_store.models import AlertDelivery, AlertRule, AlertState
from review_store.permissions import Actor, require

CLAIM_LEASE = timedelta(minutes=15)


@dataclass
class Outgoing:
    rule_id: int
    rule: str
    url: str
    batch: str
    subjects: list[str]
    payload: dict[str, Any]
    hosts: dict[str, bool] = field(default_factory=dict)  # alerts.webhooks at plan time, for delivery.send
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
    status: str  # quiet | notified before | in flight | cooldown | sent | failed
    cooldown_until: datetime | None = None
    outgoing: Outgoing | None = None


def _live(state: AlertState, at: datetime) -> bool:
    """Claimed by a check that has not recorded yet (and not longer ago than the lease)."""
    return state.claim is not None and state.claimed_at is not None and at < state.claimed_at + CLAIM_LEASE


def _sync_states(
    session: Session, rule: AlertRule, hits: list[kinds.Hit], at: datetime
) -> tuple[list[kinds.Hit], dict[str, AlertState], bool]:
    """Update the rule's firing state: the hits not yet notified in their firing episode and not claimed
    by another check, the states by subject, and whether another check's claim is live on the rule."""
    states = {s.subject: s for s in session.exec(select(AlertState).where(AlertState.rule_id == rule.id))}
    firing = {h.subject for h in hits}
    for subject, state in states.items():
        if state.firing and subject not in firing:
            state.firing, state.notified_at, state.claim, state.claimed_at = False, None, None, None
            session.add(state)
    pending = []
    for hit in hits:
        state = states.get(hit.subject)
        if state is None:
            state = AlertState(rule_id=rule.id or 0, subject=hit.subject, since=at, last_seen_at=at)
            states[hit.subject] = state
        elif not state.firing:
            state.firing, state.since, state.notified_at = True, at, None
        state.last_seen_at, state.summary = at, hit.summary
        session.add(state)
        if state.notified_at is None and not _live(state, at):
            pending.append(hit)
    session.flush()
    return pending, states, any(_live(s, at) for s in states.values())


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
    enabled = select(AlertRule.id).where(AlertRule.enabled == True).order_by(col(AlertRule.name))  # noqa: E712
    for rule_id in session.exec(enabled).all():  # in name order: concurrent checks lock in the same order
        rule = session.exec(  # the rule's lock: a concurrent check plans this rule after our commit
            select(AlertRule)
            .where(AlertRule.id == rule_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if not rule.enabled:  # disabled while we waited for the lock
            continue
        hits = kinds.evaluate(session, rule.kind, rule.params or {}, at)
        pending, states, in_flight = _sync_states(session, rule, hits, at)
        outcome = RuleOutcome(
            rule.name, rule.kind, [h.subject for h in hits], [h.subject for h in pending], ""
        )
        outcomes.append(outcome)
        if not pending or (in_flight and rule.cooldown_minutes):
            claimed = in_flight and any(_live(states[h.subject], at) for h in hits)
            outcome.status = "in flight" if claimed or pending else "notified before" if hits else "quiet"
            continue
        last = _last_delivered(session, rule.id or 0)
        if last is not None and at < last + timedelta(minutes=rule.cooldown_minutes):
            outcome.status, outcome.cooldown_until = (
                "cooldown",
                last + timedelta(minutes=rule.cooldown_minutes),
            )
            continue
        batch = uuid.uuid4().hex[:16]
        for hit in pending:  # claimed before this transaction commits: a concurrent check skips them
            state = states[hit.subject]
            state.claim, state.claimed_at = batch, at
            session.add(state)
        session.flush()
        outcome.outgoing = Outgoing(
            rule.id or 0,
            rule.name,
            rule.webhook_url,
            batch,
            outcome.new,
            payloads.build(rule.payload_format, rule.name, rule.kind, at, pending),
            settings.get(session, "alerts.webhooks").hosts(),
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
        for state in session.exec(  # ours only: a state cleared since, or claimed anew, is left alone
            select(AlertState).where(AlertState.rule_id == out.rule_id, AlertState.claim == out.batch)
        ):
            if out.delivered and state.firing:
                state.notified_at = at
            state.claim, state.claimed_at = None, None
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
