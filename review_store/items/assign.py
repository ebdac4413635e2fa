"""A lead assigns review items to a reviewer; the queue honours it.

What an assignment means to the queue (queue/claim.py):
- the assignee is served their open assigned items first (before the lanes), while they have a free slot;
- every other reviewer leaves one of the item's k slots for the assignee until the assignee has taken it
  (`reserved_slots`), so with overlap k = 1 nobody else gets the item, and with k = 2 one other
  reviewer may label it beside the assignee;
- unassigning (reviewer None) gives the item back to everyone.
Only open items can be assigned, only to an active reviewer or lead; each change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, exists, func
from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import NotFound, ValidationFailed
from review_store.models import Assignment, ReviewItem, User
from review_store.permissions import Actor, require

MAX_ITEMS = 500


def reserved_slots(reviewer_id: int):
    """1 where another reviewer's assignment still reserves a slot of the item, else 0 (SQL)."""
    taken = exists().where(
        Assignment.item_id == ReviewItem.id, Assignment.reviewer_id == ReviewItem.assigned_to_id
    )
    return case(
        (
            and_(
                col(ReviewItem.assigned_to_id).is_not(None), ReviewItem.assigned_to_id != reviewer_id, ~taken
            ),
            1,
        ),
        else_=0,
    )


def assign(session: Session, *, actor: Actor, item_ids: Sequence[int], reviewer: str | None) -> int:
    """Assign open items to `reviewer` (None: unassign). Returns how many items changed. Refuses a
    closed item, an unknown or inactive user, or a user who cannot label, naming it."""
    require(actor, "assign_items")
    ids = sorted(set(item_ids))
    if not ids:
        raise ValidationFailed("items: pick at least one item")
    if len(ids) > MAX_ITEMS:
        raise ValidationFailed(f"items: at most {MAX_ITEMS} at once, not {len(ids)}")
    user = None
    if reviewer is not None:
        user = session.exec(select(User).where(func.lower(User.username) == reviewer.lower())).first()
        if user is None:
            raise NotFound(f"reviewer: no user {reviewer!r}")
        if not user.active:
            raise ValidationFailed(f"reviewer: {user.username} is deactivated")
        if user.role not in ("reviewer", "lead"):
            raise ValidationFailed(f"reviewer: {user.username} is a {user.role} and cannot label")
    items = session.exec(select(ReviewItem).where(col(ReviewItem.id).in_(ids))).all()
    missing = sorted(set(ids) - {i.id for i in items})
    if missing:
        raise NotFound(f"items: no review item {', '.join(map(str, missing))}")
    closed = sorted(i.id for i in items if i.status != "open")
    if closed:
        raise ValidationFailed(
            f"items: only open items can be assigned; {', '.join(map(str, closed))} are not open"
        )
    target = user.id if user is not None else None
    changed = 0
    for item in items:
        if item.assigned_to_id == target:
            continue
        item.assigned_to_id = target
        session.add(item)
        audit.record(
            session,
            actor=actor,
            action="review_item.assign" if target is not None else "review_item.unassign",
            entity="review_item",
            entity_id=item.id,
            payload={"reviewer": user.username if user is not None else None},
        )
        changed += 1
    session.flush()
    return changed
