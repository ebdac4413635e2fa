"""The physical floor for ingest: the same records parsed with orjson and inserted with plain
sqlite3.executemany in one transaction into an equivalent table. Nothing is validated."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson

DDL = """
CREATE TABLE trace (id INTEGER PRIMARY KEY, external_id TEXT UNIQUE NOT NULL, ts TEXT NOT NULL, app TEXT,
  segment TEXT, release TEXT, model TEXT, prompt_version TEXT, input TEXT, output TEXT, context TEXT,
  latency_ms REAL, ttft_ms REAL, tokens_in INTEGER, tokens_out INTEGER, cost_usd REAL, cache_hit INTEGER,
  user_feedback TEXT, task_success INTEGER, top_retrieval_score REAL, meta TEXT);
CREATE INDEX ix_trace_ts ON trace (ts);
CREATE INDEX ix_trace_segment_ts ON trace (segment, ts);
CREATE INDEX ix_trace_release_ts ON trace (release, ts);
CREATE TABLE guardrailevent (id INTEGER PRIMARY KEY, trace_id INTEGER NOT NULL, ts TEXT NOT NULL, name TEXT,
  stage TEXT, action TEXT, score REAL, segment TEXT, release TEXT);
"""
INSERT = "INSERT INTO trace VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
INSERT_EVENT = "INSERT INTO guardrailevent VALUES (NULL,?,?,?,?,?,?,?,?)"


def ingest_floor(jsonl: Path, db_path: Path) -> float:
    """Seconds to parse and insert every record; the lower bound our ingest is compared with."""
    if db_path.exists():
        db_path.unlink()
    conn = sqlite3.connect(db_path)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + DDL)
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
