"""Audit events as plain rows and as CSV / JSONL, for the Audit page and `review-desk audit export`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from review_store.audit.chain import list_events
from review_store.exports import csv_text

FIELDS = ("seq", "ts", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash")


def event_rows(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """Filtered events (newest first) as dicts; the payload stays the canonical JSON that was hashed."""
    events = list_events(
        session, actor=actor, action=action, entity=entity, since=since, until=until, limit=limit or 10**12
    )
    return [{f: (getattr(e, f).isoformat() if f == "ts" else getattr(e, f)) for f in FIELDS} for e in events]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV through the one writer (formula cells neutralised: a payload or name cannot run in a sheet)."""
    return csv_text(rows, FIELDS)


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
