"""What the review pages read about the queue: counts, a reviewer's progress, one item's trace card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from review_store.errors import NotFound
from review_store.models import Assignment, GuardrailEvent, Label, ReviewItem, Rubric, Trace
from review_store.permissions import Actor
from review_store.queue.claim import eligible, now_or_clock


def queue_counts(session: Session) -> dict[str, int]:
    """Items per status (open / done / adjudication / escalated / resolved)."""
    rows = session.exec(select(ReviewItem.status, func.count()).group_by(ReviewItem.status)).all()
    return {status: n for status, n in rows}


def progress(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """What the Review page shows: labels this reviewer gave today (UTC) and items still left for them."""
    now = now_or_clock(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    done_today = session.exec(
        select(func.count())
        .select_from(Label)
        .where(Label.reviewer_id == actor.id, col(Label.created_at) >= midnight)
    ).one()
    left = session.exec(
        select(func.count()).select_from(ReviewItem).where(eligible(actor.id or -1, now))
    ).one()
    return {"done_today": int(done_today), "left_in_queue": int(left)}


def active_rubric(session: Session) -> Rubric:
    """The rubric reviewers answer now: the newest version of the most recently created rubric."""
    newest_name = select(Rubric.name).order_by(col(Rubric.id).desc()).limit(1).scalar_subquery()
    rubric = session.exec(
        select(Rubric).where(Rubric.name == newest_name).order_by(col(Rubric.version).desc()).limit(1)
    ).first()  # one round trip: it runs on every claim
    if rubric is None:
        raise NotFound("no rubric yet: a lead creates one in Settings > Rubrics")
    return rubric


def expired_leases(session: Session, *, now: datetime | None = None) -> int:
    """How many active leases have run out (they no longer hold a slot)."""
    now = now_or_clock(now)
    return session.exec(
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.status == "active", or_(col(Assignment.expires_at) <= now))
    ).one()


def item_view(session: Session, *, item_id: int) -> dict[str, Any]:
    """Everything the trace card shows for one item, as plain data (the texts are untrusted)."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    trace = session.get(Trace, item.trace_id)
    events = session.exec(
        select(GuardrailEvent).where(GuardrailEvent.trace_id == trace.id).order_by(col(GuardrailEvent.id))
    ).all()
    return {
        "item": {
            "id": item.id,
            "queue": item.queue,
            "reason": item.reason,
            "priority": item.priority,
            "status": item.status,
            "overlap_k": item.overlap_k,
            "labels_done": item.labels_done,
            "escalation_reason": item.escalation_reason,
        },
        "trace": {
            "id": trace.id,
            "external_id": trace.external_id,
            "ts": trace.ts,
            "app": trace.app,
            "segment": trace.segment,
            "release": trace.release,
            "model": trace.model,
            "prompt_version": trace.prompt_version,
            "input": trace.input,
            "output": trace.output,
            "context": list(trace.context or []),
            "latency_ms": trace.latency_ms,
            "cost_usd": trace.cost_usd,
            "tokens_in": trace.tokens_in,
            "tokens_out": trace.tokens_out,
            "user_feedback": trace.user_feedback,
        },
        "guardrails": [
            {"name": e.name, "stage": e.stage, "action": e.action, "score": e.score} for e in events
        ],
    }
