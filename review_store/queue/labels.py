"""Labels, skip, flag and escalate: what a reviewer decides about an item they hold (each is audited).

Submitting is idempotent: the unique (item, reviewer) label row means a label is never stored twice, and
resubmitting the same answers returns the stored label. The k-th label closes the item as "done", or as
"adjudication" when the answers disagree (review_store.reference's rule: a rating question whose answers
span 2 or more points, any other non-text question whose answers are not all equal).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from review_store import audit, retrieval, rubrics
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.models import Assignment, Label, ReviewItem, Trace
from review_store.pairwise.answers import check_item_answers
from review_store.permissions import Actor, require
from review_store.queue.claim import is_pg, now_or_clock
from review_store.reference import disagreeing_questions

ESCALATION_PRIORITY = 10  # items returned from the Escalations page jump the queue


def _item_for_update(session: Session, item_id: int) -> ReviewItem:
    query = select(ReviewItem).where(ReviewItem.id == item_id)
    if is_pg(session):
        query = query.with_for_update()
    item = session.exec(query).first()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item


def _item_label_lease(
    session: Session, item_id: int, reviewer_id: int | None
) -> tuple[ReviewItem, Label | None, Assignment | None]:
    """The item (its row locked on PostgreSQL, as _item_for_update), this reviewer's label on it and their
    lease, in one round trip: each is unique per (item, reviewer), so there is one row at most."""
    mine = and_(Label.item_id == ReviewItem.id, Label.reviewer_id == reviewer_id)
    leased = and_(Assignment.item_id == ReviewItem.id, Assignment.reviewer_id == reviewer_id)
    query = (
        select(ReviewItem, Label, Assignment)
        .outerjoin(Label, mine)
        .outerjoin(Assignment, leased)
        .where(ReviewItem.id == item_id)
    )
    if is_pg(session):
        query = query.with_for_update(of=ReviewItem)
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"no review item {item_id}")
    return row[0], row[1], row[2]


def _client_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 120 or not value.isprintable():
        raise ValidationFailed("client_key: 1-120 printable characters")
    return value


def _assignment(session: Session, item_id: int, reviewer_id: int) -> Assignment | None:
    return session.exec(
        select(Assignment).where(Assignment.item_id == item_id, Assignment.reviewer_id == reviewer_id)
    ).first()


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
    client_key: str | None = None,
    source: str = "app",
) -> Label:
    """Store the reviewer's label for an item they hold a lease on; validated against that rubric version.

    Idempotent: resubmitting the same answers (a retry after a lost response) returns the stored label.
    Different answers for an item already labelled raise ConflictError. A lease that expired still counts
    while the item has a free slot. The k-th label closes the item as "done" or "adjudication".
    """
    require(actor, "label")
    now = now_or_clock(now)
    spec = rubrics.spec_of(rubrics.get(session, rubric_id))
    correction = (correction or "").strip() or None
    client_key = _client_key(client_key)
    item, existing, lease = _item_label_lease(session, item_id, actor.id)
    clean = check_item_answers(session, spec, answers, trace_id=item.trace_id)
    if any(q.kind == rubrics.CHUNKS for q in spec.questions):
        retrieval.check_marks(spec, clean, session.get(Trace, item.trace_id).context)
    if client_key is not None:
        keyed = session.exec(
            select(Label).where(Label.reviewer_id == actor.id, Label.client_key == client_key)
        ).first()
        if keyed is not None and (keyed.item_id != item_id or keyed.answers != clean):
            raise ConflictError(
                f"idempotency key {client_key!r} was already used for your label on item {keyed.item_id} "
                "with other answers: use a new key for a new label"
            )
    if existing is not None:
        if (
            existing.answers == clean
            and existing.rubric_id == rubric_id
            and existing.correction == correction
        ):
            return existing
        raise ConflictError(f"you already labelled item {item_id}; a label is not changed after submit")
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
        client_key=client_key,
        source=source,
    )
    labels_done, status, disagreement = item.labels_done + 1, item.status, []
    if labels_done >= item.overlap_k and item.status == "open":
        others = session.exec(select(Label.answers).where(Label.item_id == item_id)).all()
        disagreement = disagreeing_questions(spec, [*others, clean])
        status = "adjudication" if disagreement else "done"
    _store(session, label, lease, item, labels_done=labels_done, status=status)
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


_LABEL_COLUMNS = (
    "item_id", "reviewer_id", "rubric_id", "answers", "correction", "seconds_spent", "source", "client_key",
    "created_at",
)  # fmt: skip


@cache
def _pg_store_statement():
    """PostgreSQL: the label, its lease marked done and the item's count and status in one statement."""
    labels, leases, items = Label.__table__, Assignment.__table__, ReviewItem.__table__
    # parameter names are not column names: an UPDATE would read those as more columns to set
    done = update(leases).where(leases.c.id == bindparam("p_lease")).values(status="done").cte("done")
    counted = (
        update(items)
        .where(items.c.id == bindparam("p_item"))
        .values(labels_done=bindparam("p_labels_done"), status=bindparam("p_status"))
        .cte("counted")
    )
    row = {name: bindparam(f"p_{name}", type_=labels.c[name].type) for name in _LABEL_COLUMNS}
    return insert(labels).values(row).add_cte(done, counted).returning(labels.c.id)


def _store(
    session: Session, label: Label, lease: Assignment, item: ReviewItem, *, labels_done: int, status: str
) -> None:
    """Write the label, mark the lease done and count it on the item. PostgreSQL takes one round trip (a
    label is on the path that holds the audit head lock next, and every statement is CPU on a busy
    machine); the session's copies of the lease and the item are brought up to date without being marked
    changed. SQLite writes the three rows through the session."""
    if not is_pg(session):
        session.add(label)
        lease.status = "done"
        session.add(lease)
        item.labels_done, item.status = labels_done, status
        session.add(item)
        session.flush()
        return
    params = {f"p_{name}": getattr(label, name) for name in _LABEL_COLUMNS}
    params |= {"p_lease": lease.id, "p_item": item.id, "p_labels_done": labels_done, "p_status": status}
    label.id = session.connection().execute(_pg_store_statement(), params).scalar_one()
    set_committed_value(lease, "status", "done")
    set_committed_value(item, "labels_done", labels_done)
    set_committed_value(item, "status", status)


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
    now = now_or_clock(now)
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
    now = now_or_clock(now)
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
