"""Prompt-injection triggers per end user over a window, and the escalation of users over the threshold.

A trigger is a guardrail event named INJECTION_GUARDRAIL (the demo world's and the release manifests'
input guardrail) on a trace whose `end_user` is known. The window is [as_of - window_hours, as_of)
(setting monitor.injection). A user with more than `threshold` triggers in it is escalated through the
store's escalation service (review_store.queue.labels.escalate) on the trace of their latest trigger, so
the item shows on the Escalations page with the reason; a UserEscalation row remembers (user, window).
At most one escalation per user and window: a re-run of the same window, or of a window that overlaps
one already escalated for that user, raises nothing new (a trigger is never counted into two escalations).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit, settings
from review_store.models import GuardrailEvent, ReviewItem, Trace, UserEscalation, utcnow
from review_store.permissions import SYSTEM, Actor, require
from review_store.queue import ESCALATION_PRIORITY
from review_store.queue.labels import escalate

INJECTION_GUARDRAIL = "prompt_injection"
REASON = "injection_monitor"


@dataclass(frozen=True)
class UserTriggers:
    end_user: str
    triggers: int
    last_at: datetime
    over: bool  # more than the threshold
    escalated_item_id: int | None  # the item of an escalation whose window overlaps this one


@dataclass(frozen=True)
class InjectionReport:
    as_of: datetime
    window_start: datetime
    guardrail: str
    threshold: int
    users: list[UserTriggers]

    @property
    def over(self) -> list[UserTriggers]:
        return [u for u in self.users if u.over]


def _overlapping(session: Session, end_user: str, window_start: datetime, as_of: datetime) -> int | None:
    """The item of this user's escalation whose window overlaps [window_start, as_of), if any."""
    return session.exec(
        select(UserEscalation.item_id)
        .where(
            UserEscalation.end_user == end_user,
            col(UserEscalation.window_end) > window_start,
            col(UserEscalation.window_start) < as_of,
        )
        .order_by(col(UserEscalation.window_start).desc())
        .limit(1)
    ).first()


def injection_triggers(session: Session, *, as_of: datetime | None = None) -> InjectionReport:
    """Every end user with prompt-injection triggers in the window, most first; `over` marks those above
    the threshold. Reads the events by (name, ts) index and their traces by primary key."""
    as_of = as_of or utcnow()
    rule = settings.get(session, "monitor.injection")
    start = as_of - timedelta(hours=rule.window_hours)
    rows = session.exec(
        select(Trace.end_user, func.count(), func.max(GuardrailEvent.ts))
        .join(Trace, col(Trace.id) == GuardrailEvent.trace_id)
        .where(
            GuardrailEvent.name == INJECTION_GUARDRAIL,
            col(GuardrailEvent.ts) >= start,
            col(GuardrailEvent.ts) < as_of,
            Trace.end_user != "",
            col(Trace.shadow_of).is_(None),  # a shadow replay of the same input is not another attempt
        )
        .group_by(Trace.end_user)
    ).all()
    users = [
        UserTriggers(user, int(n), last, int(n) > rule.threshold, _overlapping(session, user, start, as_of))
        for user, n, last in rows
    ]
    users.sort(key=lambda u: (-u.triggers, u.end_user))
    return InjectionReport(as_of, start, INJECTION_GUARDRAIL, rule.threshold, users)


@dataclass(frozen=True)
class MonitorRun:
    report: InjectionReport
    raised: list[UserTriggers]  # escalated by this run (escalated_item_id set)
    already: list[UserTriggers]  # over the threshold, escalated before for an overlapping window


def _latest_trigger_trace(session: Session, end_user: str, start: datetime, as_of: datetime) -> int:
    return session.exec(
        select(GuardrailEvent.trace_id)
        .join(Trace, col(Trace.id) == GuardrailEvent.trace_id)
        .where(
            GuardrailEvent.name == INJECTION_GUARDRAIL,
            col(GuardrailEvent.ts) >= start,
            col(GuardrailEvent.ts) < as_of,
            Trace.end_user == end_user,
        )
        .order_by(col(GuardrailEvent.ts).desc(), col(GuardrailEvent.id).desc())
        .limit(1)
    ).one()


def escalate_users(session: Session, *, actor: Actor, as_of: datetime | None = None) -> MonitorRun:
    """Escalate every end user over the threshold in the window ending at `as_of` (default now) that has
    no escalation for an overlapping window yet; audited per user ("monitor.user_escalate", by `actor`)
    and per item ("review_item.escalate", by the system job on the actor's behalf)."""
    require(actor, "monitor_users")
    report = injection_triggers(session, as_of=as_of)
    now = utcnow()
    job = replace(
        SYSTEM, origin=f"injection monitor run by {actor.username} ({actor.origin or 'in-process'})"
    )
    raised, already = [], []
    for user in report.over:
        if user.escalated_item_id is not None:
            already.append(user)
            continue
        trace_id = _latest_trigger_trace(session, user.end_user, report.window_start, report.as_of)
        item = session.exec(
            select(ReviewItem).where(ReviewItem.trace_id == trace_id, ReviewItem.queue == "escalation")
        ).first()
        if item is None:
            item = ReviewItem(
                trace_id=trace_id,
                queue="escalation",
                reason=REASON,
                priority=ESCALATION_PRIORITY,
                created_at=now,
            )
            session.add(item)
            session.flush()
        reason = (
            f"end user {user.end_user}: {user.triggers} {report.guardrail} triggers in "
            f"{report.window_start:%Y-%m-%d %H:%M}..{report.as_of:%Y-%m-%d %H:%M} (threshold {report.threshold})"
        )
        if item.status != "escalated":
            escalate(session, actor=job, item_id=item.id, reason=reason, now=now)
        session.add(
            UserEscalation(
                end_user=user.end_user,
                window_start=report.window_start,
                window_end=report.as_of,
                triggers=user.triggers,
                item_id=item.id,
                created_at=now,
            )
        )
        audit.record(
            session,
            actor=actor,
            action="monitor.user_escalate",
            entity="end_user",
            entity_id=user.end_user,
            payload={
                "item_id": item.id,
                "triggers": user.triggers,
                "threshold": report.threshold,
                "window_start": report.window_start.isoformat(),
                "window_end": report.as_of.isoformat(),
            },
        )
        raised.append(replace(user, escalated_item_id=item.id))
    session.flush()
    return MonitorRun(report, raised, already)
