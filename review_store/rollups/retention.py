"""Retention bookkeeping: the cut-off of the newest prune (raw traces before it may be gone)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from review_store.models import Setting

PRUNED_BEFORE_KEY = "retention.pruned_before"  # written by prune (store bookkeeping, not a team setting)


def pruned_before(session: Session) -> datetime | None:
    """The newest cut-off a prune used, else None."""
    row = session.get(Setting, PRUNED_BEFORE_KEY)
    return datetime.fromisoformat(row.value) if row is not None and row.value else None
