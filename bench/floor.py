"""The physical floor for ingest: the same records parsed with orjson and inserted with plain
sqlite3.executemany in one transaction into an equivalent table (the store's own DDL and indexes).
Nothing is validated."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson

TRACE_COLUMNS = (
    "id", "external_id", "ts", "app", "segment", "release", "model", "prompt_version", "input", "output",
    "context", "latency_ms", "ttft_ms", "tokens_in", "tokens_out", "cost_usd", "cache_hit", "user_feedback",
    "task_success", "top_retrieval_score", "meta",
)  # fmt: skip
EVENT_COLUMNS = ("trace_id", "ts", "name", "stage", "action", "score", "segment", "release")
INSERT = f"INSERT INTO trace ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
INSERT_EVENT = (
    f"INSERT INTO guardrailevent ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)


def equivalent_ddl() -> list[str]:
    """The trace and guardrail tables exactly as the store creates them on SQLite, indexes included,
    so the floor pays for the same index maintenance as our ingest."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from review_store.models import GuardrailEvent, Trace

    statements = []
    for table in (Trace.__table__, GuardrailEvent.__table__):
        statements.append(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        statements += [str(CreateIndex(index).compile(dialect=sqlite.dialect())) for index in table.indexes]
    return statements


def ingest_floor(jsonl: Path, db_path: Path) -> float:
    """Seconds to parse and insert every record; the lower bound our ingest is compared with."""
    if db_path.exists():
        db_path.unlink()
    conn = sqlite3.connect(db_path)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    for statement in equivalent_ddl():
        conn.execute(statement)
    started = time.perf_counter()
    rows, events = [], []
    with jsonl.open("rb") as handle:
        for i, line in enumerate(handle, start=1):
            r = orjson.loads(line)
            context = r.get("context") or []
            rows.append(
                (
                    i,
                    r["trace_id"],
                    r["timestamp"],
                    r.get("app"),
                    r.get("segment"),
                    r.get("release"),
                    r.get("model"),
                    r.get("prompt_version"),
                    r["input"],
                    r["output"],
                    orjson.dumps(context),
                    r.get("latency_ms"),
                    r.get("ttft_ms"),
                    r.get("tokens_in"),
                    r.get("tokens_out"),
                    r.get("cost_usd"),
                    r.get("cache_hit"),
                    r.get("user_feedback"),
                    r.get("task_success"),
                    max((c.get("score") or 0 for c in context), default=None),
                    b"{}",
                )
            )
            for g in r.get("guardrails") or []:
                events.append(
                    (
                        i,
                        r["timestamp"],
                        g["name"],
                        g["stage"],
                        g["action"],
                        g.get("score"),
                        r.get("segment"),
                        r.get("release"),
                    )
                )
            if len(rows) >= 5000:
                conn.executemany(INSERT, rows)
                conn.executemany(INSERT_EVENT, events)
                rows, events = [], []
    conn.executemany(INSERT, rows)
    conn.executemany(INSERT_EVENT, events)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed
