"""Retention bookkeeping: how old a raw trace may get, and the cut-off of the newest prune (raw traces
before it may be gone; their hours live on in the rollups only)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session

from review_store.errors import ValidationFailed
from review_store.models import Setting, utcnow

PRUNED_BEFORE_KEY = "retention.pruned_before"  # written by prune (store bookkeeping, not a team setting)
_AGE = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MIN_AGE = timedelta(hours=1)
MAX_AGE = timedelta(days=3650 * 10)


def parse_age(text: str, *, field: str = "--older-than") -> timedelta:
    """'90d', '36h' or '12w' as a timedelta; ValidationFailed naming the field for anything else."""
    match = _AGE.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise ValidationFailed(
            f"{field}: {text!r} is not an age (a whole number then h, d or w: 90d, 36h, 12w)"
        )
    age = int(match.group(1)) * _UNITS[match.group(2)]
    if not MIN_AGE <= age <= MAX_AGE:
        raise ValidationFailed(f"{field}: {text!r} is out of range (1h .. {MAX_AGE.days}d)")
    return age


def cutoff_for(now: datetime, age: timedelta) -> datetime:
    """The cut-off of a prune at `now`: the whole hour at or before now - age (pruned hours are whole)."""
    return (now - age).replace(minute=0, second=0, microsecond=0)


def pruned_before(session: Session) -> datetime | None:
    """The newest cut-off a prune used, else None."""
    row = session.get(Setting, PRUNED_BEFORE_KEY)
    return datetime.fromisoformat(row.value) if row is not None and row.value else None


def record_cutoff(session: Session, *, cutoff: datetime, by: str) -> datetime:
    """Remember the cut-off (it only moves forward); returns the one now in force."""
    current = pruned_before(session)
    if current is not None and current >= cutoff:
        return current
    row = session.get(Setting, PRUNED_BEFORE_KEY)
    if row is None:
        row = Setting(key=PRUNED_BEFORE_KEY, value=cutoff.isoformat(), updated_by=by)
    else:
        row.value, row.updated_by, row.updated_at = cutoff.isoformat(), by, utcnow()
    session.add(row)
    session.flush()
    return cutoff
