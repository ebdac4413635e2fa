"""Writing one batch of new traces and their guardrail events, and asking which ids are stored.

SQLite: the driver's executemany with values already in the form SQLAlchemy's column types store
(`sqlite_datetime`, `json_text`), ids assigned here from max(id) (the import's BEGIN IMMEDIATE holds the
write lock, so it cannot move) and values prepared right after each record is parsed (`sqlite_values`).
PostgreSQL: SQLAlchemy Core executemany (insertmanyvalues). tests/test_ingest_fast.py checks that both
paths store the same values as read back through the ORM.
"""

from __future__ import annotations

import json
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy import update as sa_update

from review_store.ingest.readers import Item
from review_store.ingest.records import GUARDRAIL_COLUMNS, TRACE_COLUMNS
from review_store.ingest.report import IngestReport
from review_store.models import GuardrailEvent, PrunedTrace, Trace
from review_store.rollups.maintain import Deltas, add_traces, apply

_TRACE = Trace.__table__
_GUARD = GuardrailEvent.__table__
_PRUNED = PrunedTrace.__table__


def insert_guards(conn: Any, pairs: list[tuple[int, Item]]) -> int:
    """Core insert of the guardrail events of (trace id, item) pairs; returns how many."""
    rows = [
        {
            **{c: g[c] for c in GUARDRAIL_COLUMNS},
            "trace_id": tid,
            "segment": item.row["segment"],
            "release": item.row["release"],
        }
        for tid, item in pairs
        for g in item.guardrails
    ]
    if rows:
        conn.execute(insert(_GUARD), rows)
    return len(rows)


FLUSH_KEYS = 100_000  # rollup keys an accumulating writer holds before it writes them
CACHE_KIB = 64 * 1024  # SQLite page cache of a connection that writes traces


class Writer:
    """Existence checks and inserts for the batches of one import, on the import's connection.

    `accumulate`: the rollup deltas of every batch are summed in memory and written by `flush` (or once
    they hold FLUSH_KEYS keys), in the same transaction: a file's batches share most of their hours, so
    each rollup row is upserted about once per import instead of once per batch. The caller must flush
    before its transaction commits; nothing in an import reads the rollups before then."""

    def __init__(self, conn: Any, *, accumulate: bool = False) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.cursor = conn.connection.driver_connection.cursor() if self.sqlite else None
        if self.cursor is not None:
            # SQLite's default page cache is 2 MB; the trace table's unique id index alone is ~60 MB at 1M
            # traces, and OTLP span ids are random, so each batch touched pages the cache had just dropped.
            # Pages are kept only once read, and only on connections that write traces.
            self.cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self.any_pruned: bool | None = None  # looked up once, on the first batch with new ids
        self.deltas = Deltas() if accumulate else None

    def roll(self, traces: list[Any], events: list[dict[str, Any]], *, sign: int = 1) -> None:
        """Roll up (or take back) these traces and events: now, or with the next flush."""
        deltas = self.deltas
        if deltas is None:
            add_traces(self.conn, traces, events, sign=sign)
            return
        for r in traces:
            deltas.add_trace(r, sign)
        for e in events:
            deltas.add_event(e, sign)
        if deltas.size() >= FLUSH_KEYS:
            self.flush()

    def flush(self) -> None:
        """Write the accumulated rollup deltas (a no-op for a writer that does not accumulate)."""
        if self.deltas is not None and self.deltas.size():
            apply(self.conn, self.deltas)
            self.deltas = Deltas()

    def pruned(self, external_ids: list[str]) -> set[str]:
        """The ids of this batch that a prune deleted (skipped: their numbers are in the rollups)."""
        if self.any_pruned is None:
            self.any_pruned = self.conn.execute(select(_PRUNED.c.external_id).limit(1)).first() is not None
        if not self.any_pruned or not external_ids:
            return set()
        stmt = select(_PRUNED.c.external_id).where(_PRUNED.c.external_id.in_(external_ids))
        return set(self.conn.execute(stmt).scalars())

    def present(self, external_ids: list[str]) -> list[str]:
        """The ids of this batch already stored."""
        if self.sqlite:
            array = _json_array(external_ids)
            if array is not None:
                found = self.cursor.execute(_SQLITE_PRESENT, (array,)).fetchall()
                return [r[0] for r in found]
        stmt = select(_TRACE.c.external_id).where(_TRACE.c.external_id.in_(external_ids))
        return list(self.conn.execute(stmt).scalars())

    def stored(self, external_ids: list[str]) -> dict[str, Any]:
        """The stored rows (through the column types, to compare with the file) of these ids."""
        stmt = select(_TRACE).where(_TRACE.c.external_id.in_(external_ids))
        return {r["external_id"]: r for r in self.conn.execute(stmt).mappings()}

    def insert(self, items: list[Item]) -> int:
        """Insert these new traces and their guardrail events; returns the number of events."""
        if not self.sqlite:
            conn = self.conn
            conn.execute(insert(_TRACE), [item.row for item in items])
            stmt = select(_TRACE.c.external_id, _TRACE.c.id).where(
                _TRACE.c.external_id.in_([i.row["external_id"] for i in items])
            )
            ids = dict(conn.execute(stmt).tuples().all())
            return insert_guards(conn, [(ids[item.row["external_id"]], item) for item in items])
        cur = self.cursor
        next_id = cur.execute("SELECT coalesce(max(id), 0) FROM trace").fetchone()[0]
        rows, events = [], []
        for item in items:
            next_id += 1
            r = item.row
            rows.append((next_id, *(item.prepared or sqlite_values(r))))
            for g in item.guardrails:
                events.append(
                    (
                        next_id, sqlite_datetime(g["ts"]), g["name"], g["stage"], g["action"], g["score"],
                        r["segment"], r["release"],
                    )
                )  # fmt: skip
        cur.executemany(_SQLITE_INSERT_TRACE, rows)
        if events:
            cur.executemany(_SQLITE_INSERT_GUARD, events)
        return len(events)


# id and the columns that need converting first, then the ones bound as they are (one itemgetter call)
_PLAIN_TRACE_COLUMNS = ("external_id", *(c for c in TRACE_COLUMNS if c not in ("ts", "context", "meta")))
_PLAIN_TRACE_VALUES = itemgetter(*_PLAIN_TRACE_COLUMNS)
SQLITE_TRACE_COLUMNS = ("id", "ts", "context", "meta", *_PLAIN_TRACE_COLUMNS, "input_chars")
SQLITE_GUARD_COLUMNS = ("trace_id", *GUARDRAIL_COLUMNS, "segment", "release")
_SQLITE_INSERT_TRACE = f"INSERT INTO trace ({', '.join(SQLITE_TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(SQLITE_TRACE_COLUMNS))})"
_SQLITE_INSERT_GUARD = (
    f"INSERT INTO guardrailevent ({', '.join(SQLITE_GUARD_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(SQLITE_GUARD_COLUMNS))})"
)
_SQLITE_PRESENT = "SELECT external_id FROM trace WHERE external_id IN (SELECT value FROM json_each(?))"


def sqlite_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """A trace row as the SQLite writer binds it, in SQLITE_TRACE_COLUMNS order after the id."""
    meta = row["meta"]
    converted = (sqlite_datetime(row["ts"]), json_text(row["context"]), json_text(meta) if meta else "{}")
    return converted + _PLAIN_TRACE_VALUES(row) + (len(row["input"]),)  # input_chars


def sqlite_datetime(value: datetime) -> str:
    """A naive datetime as SQLAlchemy's SQLite DateTime stores it: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return value.isoformat(" ", "microseconds")


def json_text(value: Any) -> str:
    """JSON text for a JSON column (what SQLAlchemy's json.dumps would store, compactly)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, lone surrogates: the json module writes them
        return json.dumps(value)


def _json_array(values: list[str]) -> bytes | None:
    try:
        return orjson.dumps(values)
    except TypeError:
        return None


def _guard_key(event: dict[str, Any]) -> tuple[str, ...]:
    return (event["ts"].isoformat(), event["name"], event["stage"], event["action"], repr(event["score"]))


def write_batch(writer: Writer, items: list[Item], *, update: bool, report: IngestReport) -> None:
    """Insert the new records of a batch; rewrite changed ones with `update`, else count them."""
    if not items:
        return
    by_id = {item.row["external_id"]: item for item in items if item.row is not None}
    present = writer.present(list(by_id))
    existing = writer.stored(present) if present else {}
    stored_guards: dict[int, list[tuple[str, ...]]] = {}
    old_events: dict[int, list[Any]] = {}
    if existing:
        ids = [r["id"] for r in existing.values()]
        for g in writer.conn.execute(select(_GUARD).where(_GUARD.c.trace_id.in_(ids))).mappings():
            stored_guards.setdefault(g["trace_id"], []).append(_guard_key(dict(g)))
            old_events.setdefault(g["trace_id"], []).append(g)
    new, changed = [], []
    gone = writer.pruned([ext for ext in by_id if ext not in existing])
    report.pruned += len(gone)
    for ext, item in by_id.items():
        if ext in gone:
            continue
        old = existing.get(ext)
        if old is None:
            new.append(item)
            continue
        same = all(old[c] == item.row[c] for c in TRACE_COLUMNS) and sorted(
            stored_guards.get(old["id"], [])
        ) == sorted(_guard_key(g) for g in item.guardrails)
        if same:
            report.unchanged += 1
        elif update:
            changed.append((old["id"], item))
        else:
            report.existing_changed += 1
            report.unchanged += 1
    if new:
        report.guardrail_events += writer.insert(new)
        report.inserted += len(new)
        writer.roll([i.row for i in new], _events(new))  # rollups, same transaction
    if changed:
        conn = writer.conn
        values = {c: bindparam(f"v_{c}") for c in TRACE_COLUMNS}
        values["input_chars"] = bindparam("v_input_chars")
        stmt = sa_update(_TRACE).where(_TRACE.c.id == bindparam("v_id")).values(values)
        conn.execute(
            stmt,
            [
                {
                    "v_id": tid,
                    "v_input_chars": len(item.row["input"]),
                    **{f"v_{c}": item.row[c] for c in TRACE_COLUMNS},
                }
                for tid, item in changed
            ],
        )
        conn.execute(delete(_GUARD).where(_GUARD.c.trace_id.in_([tid for tid, _ in changed])))
        report.guardrail_events += insert_guards(conn, changed)
        report.updated += len(changed)
        olds = [existing[item.row["external_id"]] for _, item in changed]
        took = [g for r in olds if r["shadow_of"] is None for g in old_events.get(r["id"], [])]
        writer.roll(olds, took, sign=-1)
        writer.roll([item.row for _, item in changed], _events([item for _, item in changed]))


def _events(items: list[Item]) -> list[dict[str, Any]]:
    """The guardrail events to roll up of these items, with their trace's segment and release (as stored);
    none of a shadow trace (not production traffic, as Deltas.add_trace)."""
    return [
        {**g, "segment": item.row["segment"], "release": item.row["release"]}
        for item in items
        if item.row["shadow_of"] is None
        for g in item.guardrails
    ]
