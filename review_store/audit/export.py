"""Audit events as plain rows and as CSV / JSONL, for the Audit page and `review-desk audit export`."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from review_store import audit

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
    events = audit.list_events(
        session, actor=actor, action=action, entity=entity, since=since, until=until, limit=limit or 10**12
    )
    return [{f: (getattr(e, f).isoformat() if f == "ts" else getattr(e, f)) for f in FIELDS} for e in events]


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
