"""Claiming: the next item a reviewer should label, leased to them for a while.

An item needs `overlap_k` labels from distinct reviewers. A reviewer claims an item with `next_item`,
which writes an Assignment (a lease) in one short transaction. A lease holds one of the k slots until it
expires (`REVIEW_STORE_LEASE_MINUTES`); expired leases stop counting, so a closed browser frees its slot.
The unique (item, reviewer) assignment row means a reviewer is never offered an item twice. A lease is
bookkeeping, not a decision: it is not audited (a label, a skip, a flag or an escalation is).

Serving order: items a lead assigned to this reviewer first (items/assign.py), then escalations, then by
priority (highest first), then oldest first (ties by id). That is exactly the order of the index
ix_reviewitem_serve (status, queue, priority DESC, created_at, id), so one query walks the open items along
it and stops at the first eligible item, on both databases: neither sorts the open items nor counts leases
for more than the rows it visits.

Concurrency: on PostgreSQL the candidate row is taken with `SELECT ... FOR UPDATE SKIP LOCKED` and the
lease is written by an INSERT ... SELECT that re-counts the capacity once the lock is held; on SQLite every
write transaction starts with BEGIN IMMEDIATE (db.py), so the select-then-insert of one claim is already
serialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    union_all,
)
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


def _first_assigned_query(reviewer_id, now):
    """The reviewer's oldest, highest-priority open item a lead assigned to them (ix_reviewitem_assigned)."""
    return (
        select(ReviewItem)
        .where(ReviewItem.assigned_to_id == reviewer_id, eligible(reviewer_id, now))
        .order_by(col(ReviewItem.priority).desc(), col(ReviewItem.created_at), col(ReviewItem.id))
        .limit(1)
    )


QUEUES = ("escalation", "sampled")  # serving order; sampling refuses any other queue name
# The serving order is the index order of ix_reviewitem_serve (status, queue, priority DESC, created_at, id):
# escalations sort before sampled items by name, so one ordered walk serves both queues.
assert QUEUES == tuple(sorted(QUEUES)), "the serving order of the queues must be their sort order"


def serving_query(reviewer_id, now, tried: Sequence[int] = ()):
    """The first open item in serving order that this reviewer may take (SELECT ... LIMIT 1).

    ORDER BY matches ix_reviewitem_serve exactly, so both databases walk that index from its first open
    entry and stop at the first eligible item: no sort, no lease counting beyond the rows visited, and no
    planner choice to get wrong (an index on created_at alone cannot produce this order, so PostgreSQL
    cannot prefer it with statistics from before the items closed and walk every closed item first)."""
    query = (
        select(ReviewItem)
        .where(eligible(reviewer_id, now))
        .order_by(
            col(ReviewItem.queue),
            col(ReviewItem.priority).desc(),
            col(ReviewItem.created_at),
            col(ReviewItem.id),
        )
        .limit(1)
    )
    if tried:
        query = query.where(col(ReviewItem.id).not_in(tried))
    return query


@dataclass(frozen=True)
class _Claim:
    """A claim's statements, built once per process with bound parameters (:me, :now, :tried, :item,
    :expires): building the eligibility expression costs more Python than running the query."""

    assigned: Any
    serving: Any
    lease: Any
    held: Any
    lookup: Any  # PostgreSQL: held, assigned and serving in one statement (None on SQLite)


@cache
def _statements(pg: bool) -> _Claim:
    me, now = bindparam("me", type_=Integer), bindparam("now", type_=DateTime)
    tried = col(ReviewItem.id).not_in(bindparam("tried", expanding=True))
    assigned = _first_assigned_query(me, now).where(tried)
    serving = serving_query(me, now).where(tried)
    if pg:  # the candidate row is locked; rows another claim holds are skipped, not waited for
        assigned = assigned.with_for_update(skip_locked=True, of=ReviewItem)
        serving = serving.with_for_update(skip_locked=True, of=ReviewItem)
    # The lease is written only if the item still has a free slot for this reviewer: the INSERT ... SELECT
    # re-counts the capacity itself. On PostgreSQL that statement sees every lease committed since the
    # lookup's snapshot, and the item's row lock is held, so no two claims overfill it; on SQLite BEGIN
    # IMMEDIATE already serialised the whole claim.
    item = bindparam("item", type_=Integer)
    source = select(item, me, now, bindparam("expires", type_=DateTime), literal("active")).where(
        ReviewItem.id == item, eligible(me, now)
    )
    columns = ["item_id", "reviewer_id", "leased_at", "expires_at", "status"]
    lease = insert(Assignment).from_select(columns, source).returning(Assignment.id)
    held = (  # the open item this reviewer holds an unexpired lease on (the oldest lease), if any
        select(ReviewItem)
        .join(Assignment, col(ReviewItem.id) == Assignment.item_id)
        .where(
            Assignment.reviewer_id == me,
            Assignment.status == "active",
            col(Assignment.expires_at) > now,
            ReviewItem.status == "open",
        )
        .order_by(col(Assignment.leased_at))
        .limit(1)
    )
    lookup = _pg_lookup(held, assigned, serving) if pg else None
    return _Claim(assigned=assigned, serving=serving, lease=lease, held=held, lookup=lookup)


def _pg_lookup(held, assigned, serving):
    """One round trip instead of three: the held item, else the first assigned, else the first serving
    candidate, each a CTE read in that order under LIMIT 1, so a later one runs only if the earlier ones
    found nothing (and only the candidate returned is locked). Each row says which it is (`kind`). The
    row found turns the claim's transaction to asynchronous commit (set_config ... is_local, i.e. SET
    LOCAL): it writes a lease and nothing else, or nothing at all for a held item (see next_item)."""
    async_commit = func.set_config("synchronous_commit", "off", True).label("async_commit")
    parts = [
        select(query.add_columns(literal(kind).label("kind"), async_commit).cte(kind))
        for kind, query in (("held", held), ("assigned", assigned), ("serving", serving))
    ]
    both = union_all(*parts).limit(1)
    return select(ReviewItem, literal_column("kind")).from_statement(both)


def next_item(session: Session, *, actor: Actor, now: datetime | None = None) -> ReviewItem | None:
    """The item this reviewer should label now, leased to them; None when the queue has nothing for them.

    A reviewer who already holds an unexpired lease gets that item back (a page reload does not burn a slot).
    Call it in a transaction of its own (desk.review.claim does): on PostgreSQL that transaction commits
    asynchronously, which is right for a lease and wrong for a decision.
    """
    require(actor, "label")
    if actor.id is None:
        raise ValidationFailed("next_item: the actor has no user id")
    now = now_or_clock(now)
    pg = is_pg(session)
    statements = _statements(pg)
    params: dict[str, Any] = {"me": actor.id, "now": now, "tried": []}
    expires = now + timedelta(minutes=get_settings().lease_minutes)
    # On PostgreSQL the claim's transaction writes the lease and nothing else, so its commit need not
    # wait for the WAL flush (a few ms of fsync on every claim): a crash can only forget the newest
    # leases, whose items are then served again. A label is a decision and commits durably, and its WAL
    # flush covers the lease committed before it. The lookup sets that (_pg_lookup). (SQLite in WAL mode
    # with synchronous=NORMAL already commits without a sync, db.py.)
    for attempt in range(50):
        if pg:
            row = session.exec(statements.lookup, params=params).first()
            item, kind = (None, None) if row is None else row
        else:
            item, kind = _lookup_sqlite(session, statements, params, held=attempt == 0)
        if item is None or kind == "held":
            return item
        # a lease is bookkeeping, not a decision: it is not audited (a label is)
        lease = {**params, "item": item.id, "expires": expires}
        # Core execution on the session's transaction: the ORM would read the parameters as rows to insert
        if session.connection().execute(statements.lease, lease).first() is not None:
            return item
        params["tried"].append(item.id)  # a claim committed since our snapshot took the last free slot
    return None


def _lookup_sqlite(session: Session, statements: _Claim, params: dict[str, Any], *, held: bool):
    """The held item, else the first assigned, else the first serving candidate, one query each (the
    write lock BEGIN IMMEDIATE took already serialises the claim)."""
    if held:
        item = session.exec(statements.held, params=params).first()
        if item is not None:
            return item, "held"
    item = session.exec(statements.assigned, params=params).first()
    if item is None:
        item = session.exec(statements.serving, params=params).first()
    return item, "candidate"
