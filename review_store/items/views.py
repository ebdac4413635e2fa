"""Saved views: a user's named filter sets in the item browser, stored per user (savedview)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store.errors import NotFound, ValidationFailed
from review_store.items.browse import ItemFilters
from review_store.models import SavedView, utcnow
from review_store.permissions import Actor

MAX_VIEWS = 50
NAME_MAX = 80


def _user_id(actor: Actor) -> int:
    if actor.id is None:
        raise ValidationFailed("saved views: the actor has no user id")
    return actor.id


def list_views(session: Session, *, actor: Actor) -> list[SavedView]:
    """The actor's saved views by name."""
    return list(
        session.exec(
            select(SavedView).where(SavedView.user_id == _user_id(actor)).order_by(col(SavedView.name))
        ).all()
    )


def save_view(session: Session, *, actor: Actor, name: str, filters: dict[str, Any]) -> SavedView:
    """Create or replace the actor's view `name` (filters validated as the browser would)."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(f"view name: 1-{NAME_MAX} characters")
    clean = ItemFilters.from_dict(filters).to_dict()
    user_id = _user_id(actor)
    row = session.exec(select(SavedView).where(SavedView.user_id == user_id, SavedView.name == name)).first()
    if row is None:
        if len(list_views(session, actor=actor)) >= MAX_VIEWS:
            raise ValidationFailed(f"saved views: at most {MAX_VIEWS} per user; delete one first")
        row = SavedView(user_id=user_id, name=name, filters=clean)
    else:
        row.filters, row.updated_at = clean, utcnow()
    session.add(row)
    session.flush()
    return row


def delete_view(session: Session, *, actor: Actor, name: str) -> None:
    row = session.exec(
        select(SavedView).where(SavedView.user_id == _user_id(actor), SavedView.name == name)
    ).first()
    if row is None:
        raise NotFound(f"saved view: no view {name!r}")
    session.delete(row)
    session.flush()
