"""Versioned save: the one rule for "store this as the next version, audited" (rubrics, judge configs,
sampling policies, gate policies).

A versioned row is immutable once written. Saving content whose hash equals the newest version's returns
that version unchanged (no new row, no audit event), so pressing Save twice never makes two versions.
Otherwise the row becomes version newest + 1 (1 for the first), `created_by` is the actor, and one audit
event `<entity>.create` records the content hash, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from review_store import audit
from review_store.hashing import content_hash
from review_store.permissions import Actor

__all__ = ["latest_version", "save_version"]

Row = TypeVar("Row", bound=SQLModel)


def latest_version(session: Session, model: type[Row], *, scope: dict[str, Any] | None = None) -> Row | None:
    """The newest version of `model` within `scope` (column -> value, e.g. {"name": "support"}), or None."""
    query = select(model)
    for column, value in (scope or {}).items():
        query = query.where(getattr(model, column) == value)
    return session.exec(query.order_by(col(model.version).desc()).limit(1)).first()


def save_version(
    session: Session,
    *,
    actor: Actor,
    model: type[Row],
    content: Any,
    values: dict[str, Any],
    entity: str,
    scope: dict[str, Any] | None = None,
    entity_id: Callable[[Row], str | int] | None = None,
    payload: dict[str, Any] | None = None,
) -> Row:
    """Store `values` as the next version of `model` within `scope`, unless `content` is unchanged.

    `content` is what the version hash covers (it must be JSON-like); `values` the other column values of the
    new row (the scope columns, `version`, `content_hash` and `created_by` are filled in here). The audit
    event is `<entity>.create` with entity id `entity_id(row)` (default: the version number) and `payload`
    plus the content hash. Permission checks and validation stay with the caller, before this is called.
    """
    digest = content_hash(content)
    current = latest_version(session, model, scope=scope)
    if current is not None and current.content_hash == digest:
        return current
    row = model(
        **(scope or {}),
        **values,
        version=(current.version if current is not None else 0) + 1,
        content_hash=digest,
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{entity}.create",
        entity=entity,
        entity_id=entity_id(row) if entity_id is not None else row.version,
        payload={**(payload or {}), "content_hash": digest},
    )
    return row
