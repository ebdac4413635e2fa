"""The review queue: leases that expire, overlap k, skip / flag / escalate, idempotent label submission.

claim.py serves the next item (a lease); labels.py stores what a reviewer decides; views.py reads progress
and the trace card. Callers import from here.
"""

from review_store.queue.claim import eligible, next_item, serving_query
from review_store.queue.labels import (
    ESCALATION_PRIORITY,
    escalate,
    flag,
    skip,
    submit_label,
)
from review_store.queue.views import active_rubric, expired_leases, item_view, progress, queue_counts

__all__ = [
    "ESCALATION_PRIORITY",
    "active_rubric",
    "eligible",
    "escalate",
    "expired_leases",
    "flag",
    "item_view",
    "next_item",
    "progress",
    "queue_counts",
    "serving_query",
    "skip",
    "submit_label",
]
