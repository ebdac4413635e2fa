"""Keeping the rollups in step with the raw rows, in the caller's transaction.

Every writer of traces, guardrail events or judge verdicts calls `add_traces` / `add_events` /
`add_verdicts` on its own connection right after the raw write (sign -1 before it rewrites or deletes
rows). The deltas of a batch are summed in Python with integer arithmetic and applied with one upsert per
table (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`, the same on SQLite and PostgreSQL, safe
for concurrent writers); rows that fall to zero are deleted, so the tables hold exactly what a rebuild
from the raw rows would.

Latency buckets: bucket k holds latencies in [STEP^k, STEP^(k+1)) ms with STEP = 1.02, read back as the
bucket's geometric middle STEP^(k + 1/2): the value read is within sqrt(1.02) - 1 = 0.995 % of every
latency in the bucket, so a percentile read from the histogram is within 1 % of the exact (nearest-rank)
one. Latencies <= 0 share bucket ZERO_BUCKET (read as 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from operator import add as _add
from typing import Any

from sqlalchemy import and_, column, delete, tuple_
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite

from review_store.rollups.tables import RollupGuardrail, RollupTraffic, RollupValue, RollupVerdict

STEP = 1.02
_LOG_STEP = math.log(STEP)
_floor, _log = math.floor, math.log
ZERO_BUCKET = -(2**31)
SCORE_SCALE = 1000  # top retrieval scores kept at 0.001
NO_TS = datetime(1970, 1, 1)  # the hour of a verdict whose trace time is unknown

TRAFFIC_KEYS = ("hour", "app", "segment", "release", "model", "prompt_version")
TRAFFIC_SUMS = (
    "traces", "successes", "success_known", "tokens_in", "tokens_out", "cost_nanos", "cost_known",
    "cache_hits", "cache_known", "latency_known", "instrumented",
    "cost_reported_nanos", "cost_reported", "cost_computed_nanos", "cost_computed",
)  # fmt: skip
GUARD_KEYS = ("hour", "segment", "release", "name", "stage", "action")
VERDICT_KEYS = ("hour", "segment", "release", "judge_config_id", "question_key", "has_score", "score")
VERDICT_SUMS = ("verdicts", "cost_nanos", "cost_known")
VALUE_KEYS = ("hour", "segment", "release", "metric", "bucket")


def hour_of(ts: datetime | None) -> datetime:
    return NO_TS if ts is None else ts.replace(minute=0, second=0, microsecond=0)


def latency_bucket(ms: float) -> int:
    return ZERO_BUCKET if ms <= 0 else math.floor(math.log(ms) / _LOG_STEP)


def latency_value(bucket: int) -> float:
    """The latency a bucket stands for: its geometric middle (0 for ZERO_BUCKET)."""
    return 0.0 if bucket == ZERO_BUCKET else STEP ** (bucket + 0.5)


def score_bucket(score: float) -> int:
    return round(score * SCORE_SCALE)


def nanos(usd: float | None) -> int:
    return 0 if usd is None else round(usd * 1_000_000_000)


class Deltas:
    """The rollup changes of a set of raw rows: {key tuple: [sums]} per table."""

    def __init__(self) -> None:
        self.traffic: dict[tuple, list[int]] = {}
        self.guard: dict[tuple, list[int]] = {}
        self.verdict: dict[tuple, list[int]] = {}
        self.value: dict[tuple, list[int]] = {}

    @staticmethod
    def _bump(table: dict[tuple, list[int]], key: tuple, values: Iterable[int]) -> None:
        current = table.get(key)
        if current is None:
            table[key] = list(values)
        else:
            for i, v in enumerate(values):
                current[i] += v

    def add_trace(self, r: Mapping[str, Any], sign: int = 1) -> None:
        """One trace row (a mapping with the Trace column names; input_chars may be absent).

        Shadow traces (shadow_of set) are not production traffic: they add nothing (README "Shadow runs").
        Runs once per trace of every import, so the sums are made as ints directly and added with map."""
        get = r.get
        if get("shadow_of") is not None:
            return
        ts = r["ts"]
        hour = NO_TS if ts is None else ts.replace(minute=0, second=0, microsecond=0)
        seg, rel = get("segment") or "", get("release") or ""
        success, cache, latency = get("task_success"), get("cache_hit"), get("latency_ms")
        tokens_in, tokens_out, cost = get("tokens_in"), get("tokens_out"), get("cost_usd")
        source = get("cost_source")
        cost_n = 0 if cost is None else round(cost * 1_000_000_000)  # nanos(cost)
        known = cost is not None
        reported, computed = source == "reported", source == "computed"
        values = [
            sign, sign if success is True else 0, 0 if success is None else sign, sign * (tokens_in or 0),
            sign * (tokens_out or 0), sign * cost_n, sign if known else 0, sign if cache is True else 0,
            0 if cache is None else sign, 0 if latency is None else sign,
            sign if tokens_in is not None and known and latency is not None else 0,
            sign * cost_n if reported else 0, sign if reported else 0,
            sign * cost_n if computed else 0, sign if computed else 0,
        ]  # fmt: skip
        key = (hour, get("app") or "", seg, rel, get("model") or "", get("prompt_version") or "")
        traffic = self.traffic
        current = traffic.get(key)
        traffic[key] = values if current is None else list(map(_add, current, values))
        value = self.value
        if latency is not None:
            k = (
                hour,
                seg,
                rel,
                "latency",
                ZERO_BUCKET if latency <= 0 else _floor(_log(latency) / _LOG_STEP),
            )
            c = value.get(k)
            if c is None:
                value[k] = [sign]
            else:
                c[0] += sign
        chars = get("input_chars")
        if chars is None:
            text = get("input")
            chars = None if text is None else len(text)
        if chars is not None:
            k = (hour, seg, rel, "input_chars", chars)
            c = value.get(k)
            if c is None:
                value[k] = [sign]
            else:
                c[0] += sign
        top = get("top_retrieval_score")
        if top is not None:
            k = (hour, seg, rel, "top_score", round(top * SCORE_SCALE))
            c = value.get(k)
            if c is None:
                value[k] = [sign]
            else:
                c[0] += sign

    def size(self) -> int:
        """How many keys the deltas hold (a caller that accumulates flushes past a bound)."""
        return len(self.traffic) + len(self.guard) + len(self.verdict) + len(self.value)

    def add_event(self, e: Mapping[str, Any], sign: int = 1) -> None:
        """One guardrail event row (ts, segment, release, name, stage, action)."""
        key = (
            hour_of(e["ts"]),
            e.get("segment") or "",
            e.get("release") or "",
            e["name"],
            e["stage"],
            e["action"],
        )
        self._bump(self.guard, key, (sign,))

    def add_verdict(self, v: Mapping[str, Any], sign: int = 1) -> None:
        """One judge verdict row; only successful ones (error null) are rolled up."""
        if v.get("error") is not None:
            return
        score = v.get("score")
        key = (
            hour_of(v.get("trace_ts")), v.get("segment") or "", v.get("release") or "", v["judge_config_id"],
            v["question_key"], score is not None, float(score) if score is not None else 0.0,
        )  # fmt: skip
        cost = v.get("cost_usd")
        self._bump(self.verdict, key, (sign, sign * nanos(cost), sign * int(cost is not None)))


_TABLES = (
    ("traffic", RollupTraffic, TRAFFIC_KEYS, TRAFFIC_SUMS),
    ("guard", RollupGuardrail, GUARD_KEYS, ("events",)),
    ("verdict", RollupVerdict, VERDICT_KEYS, VERDICT_SUMS),
    ("value", RollupValue, VALUE_KEYS, ("n",)),
)


def apply(conn: Any, deltas: Deltas, *, present: Mapping[str, set[str]] | None = None) -> None:
    """Add the deltas to the rollup tables on this connection (upserts), then drop rows that reach zero.

    `present` ({table name: its columns}) writes only the sums a table has: a migration's rebuild runs
    this code against the schema of its own revision, before later revisions add sums. On SQLite the
    upserts go through the driver's executemany with the values as SQLAlchemy's column types store them
    (the hour as `YYYY-MM-DD HH:MM:SS.ffffff`), as the trace writer does: the same rows, without binding
    each parameter through the column types (most of an import's rollup time)."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for attr, model, keys, all_sums in _TABLES:
        changes = getattr(deltas, attr)
        if not changes:
            continue
        table = model.__table__
        kept = [i for i, s in enumerate(all_sums) if present is None or s in present[table.name]]
        sums = tuple(all_sums[i] for i in kept)
        changed = [
            (key, values)
            for key, values in sorted(changes.items(), key=_first)  # one lock order for all writers
            if any(values)
        ]
        if not changed:
            continue
        if dialect == "sqlite" and len(sums) == len(all_sums):
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.executemany(
                    _sqlite_upsert(table.name, keys, sums),
                    [(key[0].isoformat(" ", "microseconds"), *key[1:], *values) for key, values in changed],
                )
            finally:
                cursor.close()
        else:
            if len(sums) < len(all_sums):  # only these columns (the model's would add its defaults)
                table = sa_table(table.name, *(column(c, table.c[c].type) for c in (*keys, *sums)))
            rows = [
                {**dict(zip(keys, key, strict=True)), **{all_sums[i]: values[i] for i in kept}}
                for key, values in changed
            ]
            stmt = insert(table)
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={s: table.c[s] + stmt.excluded[s] for s in sums}
            )
            for i in range(0, len(rows), 1000):
                conn.execute(stmt, rows[i : i + 1000])
        if any(v < 0 for _, values in changed for v in values):
            touched = [key for key, _ in changed]
            key_cols = tuple_(*(table.c[k] for k in keys))
            for i in range(0, len(touched), 200):
                conn.execute(
                    delete(table).where(and_(key_cols.in_(touched[i : i + 200]), table.c[sums[0]] <= 0))
                )


def _first(item: tuple[tuple, list[int]]) -> tuple:
    return item[0]


@cache
def _sqlite_upsert(name: str, keys: tuple[str, ...], sums: tuple[str, ...]) -> str:
    """`INSERT ... ON CONFLICT (keys) DO UPDATE SET s = s + excluded.s` for the SQLite driver."""
    columns = ", ".join(f'"{c}"' for c in (*keys, *sums))
    marks = ", ".join("?" * (len(keys) + len(sums)))
    conflict = ", ".join(f'"{k}"' for k in keys)
    add = ", ".join(f'"{s}" = "{s}" + excluded."{s}"' for s in sums)
    return f'INSERT INTO "{name}" ({columns}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {add}'


def add_traces(
    conn: Any, traces: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]] = (), *, sign: int = 1
) -> None:
    """Roll up (sign 1) or take back (sign -1) these traces and guardrail events, in conn's transaction."""
    deltas = Deltas()
    for r in traces:
        deltas.add_trace(r, sign)
    for e in events:
        deltas.add_event(e, sign)
    apply(conn, deltas)


def add_verdicts(conn: Any, verdicts: Iterable[Mapping[str, Any]], *, sign: int = 1) -> None:
    """Roll up (or take back) these judge verdicts, in conn's transaction."""
    deltas = Deltas()
    for v in verdicts:
        deltas.add_verdict(v, sign)
    apply(conn, deltas)
