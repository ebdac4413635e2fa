"""Review items as a list: filters (segment, status, queue, strategy) and keyset paging by id.

A page is `id > after` in id order, so a client that stores the last cursor sees every new item exactly
once, however many are added between its calls (no OFFSET drift).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store.errors import ValidationFailed
from review_store.models import ReviewItem, Trace

STATUSES = ("open", "done", "adjudication", "escalated", "resolved")
QUEUES = ("sampled", "escalation")
MAX_LIMIT = 500


def list_items(
    session: Session,
    *,
    segment: str | None = None,
    status: str | None = None,
    queue: str | None = None,
    strategy: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Up to `limit` items with id > after_id, oldest first, with their trace's id, external id and segment.

    `strategy` is the reason an item was sampled (random, stratified, low_score, ...)."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if queue is not None and queue not in QUEUES:
        raise ValidationFailed(f"queue: {queue!r} is not one of {', '.join(QUEUES)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit: must be 1..{MAX_LIMIT}")
    query = (
        select(ReviewItem, Trace.external_id, Trace.segment)
        .join(Trace, col(Trace.id) == col(ReviewItem.trace_id))
        .where(col(ReviewItem.id) > after_id)
    )
    if segment is not None:
        query = query.where(Trace.segment == segment)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if queue is not None:
        query = query.where(ReviewItem.queue == queue)
    if strategy is not None:
        query = query.where(ReviewItem.reason == strategy)
    rows = session.exec(query.order_by(col(ReviewItem.id)).limit(limit)).all()
    return [
        {
            "id": item.id,
            "trace_id": item.trace_id,
            "trace_external_id": external_id,
            "segment": seg or "",
            "queue": item.queue,
            "strategy": item.reason,
            "status": item.status,
            "priority": item.priority,
            "overlap_k": item.overlap_k,
            "labels_done": item.labels_done,
            "created_at": item.created_at,
        }
        for item, external_id, seg in rows
    ]
