"""The review queue: leases that expire, overlap k, skip / flag / escalate, idempotent label submission.

An item needs `overlap_k` labels from distinct reviewers. A reviewer claims an item with `next_item`,
which writes an Assignment (a lease) in one short transaction. A lease holds one of the k slots until it
expires (`REVIEW_STORE_LEASE_MINUTES`); expired leases stop counting, so a closed browser frees its slot.
The unique (item, reviewer) assignment row means a reviewer is never offered an item twice, and the
unique (item, reviewer) label row means a label is never stored twice.

Concurrency: on PostgreSQL the candidate row is taken with `SELECT ... FOR UPDATE SKIP LOCKED` and its
capacity re-counted once the lock is held; on SQLite every write transaction starts with BEGIN IMMEDIATE
(db.py), so the select-then-insert of one claim is already serialised.

Disagreement (-> status "adjudication" once k labels are in): any rating question whose answers span 2 or
more points, or any label / multi-label question whose answers are not all equal. Free text never counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from review_store import audit, rubrics
from review_store.config import get_settings
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.hashing import canonical_json
from review_store.models import Assignment, GuardrailEvent, Label, ReviewItem, Rubric, Trace, utcnow
from review_store.permissions import Actor, require

ESCALATION_PRIORITY = 10  # items returned from the Escalations page jump the queue


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _live_leases(now: datetime):
    """Correlated count of the item's unexpired active leases."""
    return (
        select(func.count())
        .select_from(Assignment)
        .where(
            Assignment.item_id == ReviewItem.id,
            Assignment.status == "active",
            col(Assignment.expires_at) > now,
        )
        .scalar_subquery()
    )


def _eligible(reviewer_id: int, now: datetime):
    """Open items with a free slot that this reviewer has never been assigned."""
    mine = exists().where(Assignment.item_id == ReviewItem.id, Assignment.reviewer_id == reviewer_id)
    return and_(
        ReviewItem.status == "open",
        ReviewItem.labels_done + _live_leases(now) < ReviewItem.overlap_k,
        ~mine,
    )


def _lanes(session: Session) -> Iterator[tuple[str, int]]:
    """(queue, priority) pairs holding open items, lazily, in serving order: escalations first, then by
    priority. Each step is one seek on the (status, queue, priority, created_at) index (a loose index
    scan), and serving lane by lane lets the item lookup walk that index in order and stop at the first
    eligible item, instead of sorting every open item on each claim."""
    open_items = ReviewItem.status == "open"
    queues = []
    queue_name = session.exec(select(func.min(ReviewItem.queue)).where(open_items)).one()
    while queue_name is not None:
        queues.append(queue_name)
        queue_name = session.exec(
            select(func.min(ReviewItem.queue)).where(open_items, ReviewItem.queue > queue_name)
        ).one()
    for queue_name in sorted(queues, key=lambda q: (q != "escalation", q)):
        in_queue = and_(open_items, ReviewItem.queue == queue_name)
        priority = session.exec(select(func.max(ReviewItem.priority)).where(in_queue)).one()
        while priority is not None:
            yield queue_name, priority
            priority = session.exec(
                select(func.max(ReviewItem.priority)).where(in_queue, ReviewItem.priority < priority)
            ).one()


def _first_eligible(session: Session, reviewer_id: int, now: datetime, tried: list[int]) -> int | None:
    for queue_name, priority in _lanes(session):
        query = (
            select(ReviewItem.id)
            .where(
                ReviewItem.queue == queue_name, ReviewItem.priority == priority, _eligible(reviewer_id, now)
            )
            .order_by(col(ReviewItem.created_at), col(ReviewItem.id))
            .limit(1)
        )
        if tried:
            query = query.where(col(ReviewItem.id).not_in(tried))
        if _is_pg(session):
            query = query.with_for_update(skip_locked=True, of=ReviewItem)
        item_id = session.exec(query).first()
        if item_id is not None:
            return item_id
    return None


def _active_assignment(session: Session, reviewer_id: int, now: datetime) -> Assignment | None:
    return session.exec(
        select(Assignment)
        .join(ReviewItem, col(ReviewItem.id) == Assignment.item_id)
        .where(
            Assignment.reviewer_id == reviewer_id,
            Assignment.status == "active",
            col(Assignment.expires_at) > now,
            ReviewItem.status == "open",
        )
        .order_by(col(Assignment.leased_at))
        .limit(1)
    ).first()


def next_item(session: Session, *, actor: Actor, now: datetime | None = None) -> ReviewItem | None:
    """The item this reviewer should label now, leased to them; None when the queue has nothing for them.

    A reviewer who already holds an unexpired lease gets that item back (a page reload does not burn a slot).
    """
    require(actor, "label")
    if actor.id is None:
        raise ValidationFailed("next_item: the actor has no user id")
    now = _now(now)
    held = _active_assignment(session, actor.id, now)
    if held is not None:
        return session.get(ReviewItem, held.item_id)
    tried: list[int] = []
    for _ in range(50):
        item_id = _first_eligible(session, actor.id, now, tried)
        if item_id is None:
            return None
        # Re-count under the row lock: a claim committed since our snapshot is visible to this statement.
        still_free = session.exec(
            select(ReviewItem.id).where(ReviewItem.id == item_id, _eligible(actor.id, now))
        ).first()
        if still_free is None:
            tried.append(item_id)
            continue
        lease = Assignment(
            item_id=item_id,
            reviewer_id=actor.id,
            leased_at=now,
            expires_at=now + timedelta(minutes=get_settings().lease_minutes),
        )
        session.add(lease)  # a lease is bookkeeping, not a decision: it is not audited (a label is)
        session.flush()
        return session.get(ReviewItem, item_id)
    return None


def _item_for_update(session: Session, item_id: int) -> ReviewItem:
    query = select(ReviewItem).where(ReviewItem.id == item_id)
    if _is_pg(session):
        query = query.with_for_update()
    item = session.exec(query).first()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item


def _assignment(session: Session, item_id: int, reviewer_id: int) -> Assignment | None:
    return session.exec(
        select(Assignment).where(Assignment.item_id == item_id, Assignment.reviewer_id == reviewer_id)
    ).first()


def answers_disagree(spec: rubrics.RubricSpec, answers: list[dict[str, Any]]) -> list[str]:
    """The question keys on which these answers disagree (see the module docstring for the rule)."""
    keys = []
    for q in spec.questions:
        values = [a.get(q.key) for a in answers if a.get(q.key) is not None]
        if len(values) < 2 or q.kind == "text":
            continue
        if q.kind == "rating":
            if max(values) - min(values) >= 2:
                keys.append(q.key)
        elif len({canonical_json(v) for v in values}) > 1:
            keys.append(q.key)
    return keys


def submit_label(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    rubric_id: int,
    answers: dict[str, Any],
    correction: str | None = None,
    seconds_spent: float | None = None,
    now: datetime | None = None,
) -> Label:
    """Store the reviewer's label for an item they hold a lease on; validated against that rubric version.

    Idempotent: resubmitting the same answers (a retry after a lost response) returns the stored label.
    Different answers for an item already labelled raise ConflictError. A lease that expired still counts
    while the item has a free slot. The k-th label closes the item as "done" or "adjudication".
    """
    require(actor, "label")
    now = _now(now)
    spec = rubrics.spec_of(rubrics.get(session, rubric_id))
    clean = spec.check_answers(answers)
    correction = (correction or "").strip() or None
    item = _item_for_update(session, item_id)
    existing = session.exec(
        select(Label).where(Label.item_id == item_id, Label.reviewer_id == actor.id)
    ).first()
    if existing is not None:
        if (
            existing.answers == clean
            and existing.rubric_id == rubric_id
            and existing.correction == correction
        ):
            return existing
        raise ConflictError(f"you already labelled item {item_id}; a label is not changed after submit")
    lease = _assignment(session, item_id, actor.id)
    if lease is None or lease.status not in ("active", "expired"):
        raise ConflictError(f"item {item_id} is not assigned to {actor.username}")
    if lease.expires_at <= now or lease.status == "expired":
        others = session.exec(
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.item_id == item_id,
                Assignment.status == "active",
                col(Assignment.expires_at) > now,
                Assignment.reviewer_id != actor.id,
            )
        ).one()
        if item.status != "open" or item.labels_done + others >= item.overlap_k:
            raise ConflictError(f"your lease on item {item_id} expired and another reviewer took the slot")
    if seconds_spent is not None and seconds_spent < 0:
        raise ValidationFailed("seconds_spent: must not be negative")
    label = Label(
        item_id=item_id,
        reviewer_id=actor.id,
        rubric_id=rubric_id,
        answers=clean,
        correction=correction,
        seconds_spent=None if seconds_spent is None else round(float(seconds_spent), 1),
        created_at=now,
    )
    session.add(label)
    lease.status = "done"
    session.add(lease)
    item.labels_done += 1
    disagreement: list[str] = []
    if item.labels_done >= item.overlap_k and item.status == "open":
        session.flush()
        all_answers = [
            row.answers for row in session.exec(select(Label).where(Label.item_id == item_id)).all()
        ]
        disagreement = answers_disagree(spec, all_answers)
        item.status = "adjudication" if disagreement else "done"
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="label.create",
        entity="review_item",
        entity_id=item_id,
        payload={
            "rubric_id": rubric_id,
            "seconds_spent": label.seconds_spent,
            "status": item.status,
            "disagreement": disagreement,
        },
    )
    return label


def _release(session: Session, actor: Actor, item_id: int, status: str, now: datetime) -> Assignment:
    lease = _assignment(session, item_id, actor.id)
    if lease is None:
        lease = Assignment(
            item_id=item_id, reviewer_id=actor.id, leased_at=now, expires_at=now, status=status
        )
    elif lease.status == "done":
        raise ConflictError(f"you already labelled item {item_id}")
    lease.status = status
    session.add(lease)
    return lease


def skip(session: Session, *, actor: Actor, item_id: int, now: datetime | None = None) -> None:
    """Give the item back to the queue for others; this reviewer will not be offered it again."""
    require(actor, "label")
    now = _now(now)
    _item_for_update(session, item_id)
    _release(session, actor, item_id, "skipped", now)
    audit.record(session, actor=actor, action="review_item.skip", entity="review_item", entity_id=item_id)


def escalate(
    session: Session, *, actor: Actor, item_id: int, reason: str, now: datetime | None = None
) -> ReviewItem:
    """Move an item to the Escalations list (reason shown there); labels already given are kept."""
    require(actor, "escalate")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("escalate: give a reason")
    now = _now(now)
    item = _item_for_update(session, item_id)
    if item.status in ("escalated",):
        raise ConflictError(f"item {item_id} is already escalated")
    if actor.can("label") and actor.id is not None:
        _release(session, actor, item_id, "escalated", now)
    before = item.status
    item.status, item.escalated_at, item.escalation_reason = "escalated", now, reason[:200]
    item.resolution = item.resolution_note = item.resolved_by = None
    item.resolved_at = None
    session.add(item)
    audit.record(
        session,
        actor=actor,
        action="review_item.escalate",
        entity="review_item",
        entity_id=item_id,
        payload={"reason": reason, "from": before},
    )
    return item


def flag(
    session: Session, *, actor: Actor, item_id: int, note: str = "", now: datetime | None = None
) -> ReviewItem:
    """A reviewer flag: an escalation whose reason says a reviewer flagged it (with the optional note)."""
    return escalate(
        session, actor=actor, item_id=item_id, reason=f"reviewer flag: {note}".strip(" :"), now=now
    )


def queue_counts(session: Session) -> dict[str, int]:
    """Items per status (open / done / adjudication / escalated / resolved)."""
    rows = session.exec(select(ReviewItem.status, func.count()).group_by(ReviewItem.status)).all()
    return {status: n for status, n in rows}


def progress(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """What the Review page shows: labels this reviewer gave today (UTC) and items still left for them."""
    now = _now(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    done_today = session.exec(
        select(func.count())
        .select_from(Label)
        .where(Label.reviewer_id == actor.id, col(Label.created_at) >= midnight)
    ).one()
    left = session.exec(
        select(func.count()).select_from(ReviewItem).where(_eligible(actor.id or -1, now))
    ).one()
    return {"done_today": int(done_today), "left_in_queue": int(left)}


def active_rubric(session: Session) -> Rubric:
    """The rubric reviewers answer now: the newest version of the most recently created rubric."""
    rubric = session.exec(select(Rubric).order_by(col(Rubric.id).desc()).limit(1)).first()
    if rubric is None:
        raise NotFound("no rubric yet: a lead creates one in Settings > Rubrics")
    return rubrics.latest(session, rubric.name)


def expired_leases(session: Session, *, now: datetime | None = None) -> int:
    """How many active leases have run out (they no longer hold a slot)."""
    now = _now(now)
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
