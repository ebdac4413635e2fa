"""The canonical export: every table, rows in primary-key order, values in a stable JSON form.

The canonical form leaves out what legitimately differs between two builds of the same data:
password hashes (salted), audit timestamps and hashes, and settings' update times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, select

from review_store.hashing import content_hash

VOLATILE_COLUMNS: dict[str, set[str]] = {
    "user": {"password_hash"},
    "auditevent": {"ts", "prev_hash", "hash"},
    "setting": {"updated_at"},
}
VOLATILE_ROWS: dict[str, set[str]] = {"setting": {"audit.head"}}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return round(value, 9)
    return value


def canonical_export(session: Session) -> dict[str, list[dict[str, Any]]]:
    """All tables as lists of dicts, ordered by primary key, volatile columns removed."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        skip = VOLATILE_COLUMNS.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        pk = list(table.primary_key.columns)
        rows = session.exec(select(*columns).order_by(*pk)).all()
        records = [{c.name: _value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        if table.name in VOLATILE_ROWS:
            records = [r for r in records if r.get("key") not in VOLATILE_ROWS[table.name]]
        out[table.name] = records
    return out


def canonical_digest(session: Session) -> str:
    """One sha256 over the canonical export, for 'are these two databases the same' checks."""
    return content_hash(canonical_export(session))
