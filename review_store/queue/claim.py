"""Claiming: the next item a reviewer should label, leased to them for a while.

An item needs `overlap_k` labels from distinct reviewers. A reviewer claims an item with `next_item`,
which writes an Assignment (a lease) in one short transaction. A lease holds one of the k slots until it
expires (`REVIEW_STORE_LEASE_MINUTES`); expired leases stop counting, so a closed browser frees its slot.
The unique (item, reviewer) assignment row means a reviewer is never offered an item twice. A lease is
bookkeeping, not a decision: it is not audited (a label, a skip, a flag or an escalation is).

Serving order: items a lead assigned to this reviewer first (items/assign.py), then escalations, then by priority, then oldest first (ties by id). The open items are
walked lane by lane ((queue, priority), found by loose index scans) along the
(status, queue, priority, created_at, id) index, stopping at the first eligible item, on both databases:
neither sorts the open items nor counts leases for more than the rows it visits.

Concurrency: on PostgreSQL the candidate row is taken with `SELECT ... FOR UPDATE SKIP LOCKED` and its
capacity re-counted once the lock is held; on SQLite every write transaction starts with BEGIN IMMEDIATE
(db.py), so the select-then-insert of one claim is already serialised.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func
from sqlmodel import Session, col, select

from review_store.config import get_settings
from review_store.errors import ValidationFailed
from review_store.items.assign import reserved_slots
from review_store.models import Assignment, ReviewItem, utcnow
from review_store.permissions import Actor, require


def now_or_clock(now: datetime | None) -> datetime:
    return now or utcnow()


def is_pg(session: Session) -> bool:
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


def eligible(reviewer_id: int, now: datetime):
    """Open items with a free slot that this reviewer has never been assigned; a slot reserved for the
    reviewer a lead assigned the item to (items/assign.py) is not free for anybody else."""
    mine = exists().where(Assignment.item_id == ReviewItem.id, Assignment.reviewer_id == reviewer_id)
    return and_(
        ReviewItem.status == "open",
        ReviewItem.labels_done + _live_leases(now) + reserved_slots(reviewer_id) < ReviewItem.overlap_k,
        ~mine,
    )


def _first_assigned(session: Session, reviewer_id: int, now: datetime, tried: list[int]) -> int | None:
    """The reviewer's oldest, highest-priority open item a lead assigned to them (ix_reviewitem_assigned)."""
    query = (
        select(ReviewItem.id)
        .where(ReviewItem.assigned_to_id == reviewer_id, eligible(reviewer_id, now))
        .order_by(col(ReviewItem.priority).desc(), col(ReviewItem.created_at), col(ReviewItem.id))
        .limit(1)
    )
    if tried:
        query = query.where(col(ReviewItem.id).not_in(tried))
    if is_pg(session):
        query = query.with_for_update(skip_locked=True, of=ReviewItem)
    return session.exec(query).first()


QUEUES = ("escalation", "sampled")  # serving order; sampling refuses any other queue name


def _lanes(session: Session) -> Iterator[tuple[str, int]]:
    """(queue, priority) pairs holding open items, lazily, in serving order: escalations first, then by
    priority. Each step is one seek on the lane index (a loose index scan), and serving lane by lane lets
    the item lookup walk that index in order and stop at the first eligible item, instead of sorting every
    open item on each claim."""
    for queue_name in QUEUES:
        in_queue = and_(ReviewItem.status == "open", ReviewItem.queue == queue_name)
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
                ReviewItem.queue == queue_name, ReviewItem.priority == priority, eligible(reviewer_id, now)
            )
            .order_by(col(ReviewItem.created_at), col(ReviewItem.id))
            .limit(1)
        )
        if tried:
            query = query.where(col(ReviewItem.id).not_in(tried))
        if is_pg(session):
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
    now = now_or_clock(now)
    held = _active_assignment(session, actor.id, now)
    if held is not None:
        return session.get(ReviewItem, held.item_id)
    tried: list[int] = []
    for _ in range(50):
        item_id = _first_assigned(session, actor.id, now, tried)
        if item_id is None:
            item_id = _first_eligible(session, actor.id, now, tried)
        if item_id is None:
            return None
        if is_pg(session):
            # Re-count under the row lock: a claim committed since the lookup's snapshot is visible to this
            # statement. (SQLite needs none: BEGIN IMMEDIATE already serialised this whole claim.)
            still_free = session.exec(
                select(ReviewItem.id).where(ReviewItem.id == item_id, eligible(actor.id, now))
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
