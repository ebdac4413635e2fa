"""`make bench BENCH_ARGS="--traces 10000000"` (or `python -m bench.scale`): the dashboards at 1M and 10M traces
on SQLite and PostgreSQL.

Per database: the demo world at BASE traces (the normal build, rollups maintained by the writers), every
dashboard read timed (bench.queries, median of 3); then the fast path multiplies the traffic in place to
--traces: each trace is copied FACTOR - 1 times with its guardrail events (same time, same values, new id
and external id `<id>~k`), with the secondary indexes dropped during the copy and rebuilt after, and the
traffic, guardrail and histogram rollups multiplied by FACTOR in SQL (exact: every copy falls in its
original's hour). Judge verdicts, labels and review items are not copied: at 10M the judge covers one
trace in ten, and human review work does not grow with traffic. Then every dashboard read is timed again,
the pages are rendered (first render, every role) and the database's bytes per trace measured.

Writes, per database: dashboard_query_ms at both sizes (dashboard_query_ms_1m / _10m), dashboard_growth_10x
(t(10M) / t(1M) per query), page_render_s_10m, bytes_per_trace, and the time each world step took; plus
ingest_vs_floor (rollups maintained) at BASE. Results are merged into results.json after every step, so an
interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex

from bench import world
from bench.run import HERE, bench_dashboards, bench_ingest, bench_pages, merge_into
from review_store import schema
from review_store.db import make_engine
from review_store.demo import build_demo
from review_store.models import GuardrailEvent, RollupGuardrail, RollupTraffic, RollupValue, Trace
from review_store.rollups import maintain

BASE = 1_000_000
EXTRA = 1  # the demo world adds one trace to the N it is asked for (the HTML-injection example)
PG_DATABASE = "review_desk_scale"


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def sqlite_world(work: Path, n: int, *, reuse: bool) -> str:
    path = work / "scale.db"
    if reuse and path.exists() and world.count_traces(f"sqlite:///{path}") == n + EXTRA:
        return f"sqlite:///{path}"
    return world.build_world(path, n)


def pg_world(pg: str, n: int, *, reuse: bool) -> str:
    url = make_url(pg).set(database=PG_DATABASE).render_as_string(hide_password=False)
    os.environ.setdefault("REVIEW_DESK_AUDIT_KEY", secrets.token_hex(32))  # team mode needs a key
    if reuse:
        try:
            if world.count_traces(url) == n + EXTRA:
                return url
        except Exception:  # noqa: BLE001 - no such database yet: build it
            pass
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    schema.upgrade(url)
    engine = make_engine(url)
    build_demo(engine, seed=11, traces=n, password="bench-pass-123")
    world.add_open_items(engine, world.OPEN_ITEMS)
    engine.dispose()
    maintenance(url)
    return url


def maintenance(url: str) -> None:
    """What autovacuum does shortly after a bulk load on PostgreSQL (planner statistics, visibility map);
    a WAL checkpoint on SQLite (so the file size is the data's)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM (ANALYZE)"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()


def multiply(url: str, factor: int) -> None:
    """The fast path: every trace (with its guardrail events) copied factor - 1 times, rollups x factor."""
    engine = create_engine(url)
    tables = (Trace.__table__, GuardrailEvent.__table__)
    indexes = [i for t in tables for i in t.indexes if not i.unique]
    with engine.begin() as conn:
        for index in indexes:
            conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
        max_trace = conn.execute(select(func.max(Trace.__table__.c.id))).scalar_one()
        max_event = conn.execute(select(func.max(GuardrailEvent.__table__.c.id))).scalar_one()
    trace_cols = [c.name for c in Trace.__table__.columns]
    event_cols = [c.name for c in GuardrailEvent.__table__.columns]
    for k in range(1, factor):
        pick = {c: c for c in trace_cols}
        pick["id"] = f"id + {k * max_trace}"
        pick["external_id"] = f"external_id || '~{k}'"
        ev = {c: c for c in event_cols}
        ev["id"] = f"id + {k * max_event}"
        ev["trace_id"] = f"trace_id + {k * max_trace}"
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO trace ({', '.join(trace_cols)}) SELECT {', '.join(pick.values())} "
                    f"FROM trace WHERE id <= {max_trace}"
                )
            )
            conn.execute(
                text(
                    f"INSERT INTO guardrailevent ({', '.join(event_cols)}) SELECT {', '.join(ev.values())} "
                    f"FROM guardrailevent WHERE id <= {max_event}"
                )
            )
        print(f"[scale] copy {k}/{factor - 1} done ({_load()})", flush=True)
    with engine.begin() as conn:
        for index in indexes:
            conn.execute(CreateIndex(index))
        for model, sums in (
            (RollupTraffic, maintain.TRAFFIC_SUMS),
            (RollupGuardrail, ("events",)),
            (RollupValue, ("n",)),
        ):
            table = model.__table__
            conn.execute(table.update().values({s: table.c[s] * factor for s in sums}))
        if engine.dialect.name == "postgresql":
            for name in ("trace", "guardrailevent"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"
                    )
                )
    engine.dispose()


def db_bytes(url: str) -> int:
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    else:
        path = Path(make_url(url).database)
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    engine.dispose()
    return int(size)


def run_backend(backend: str, url_for, n: int, out: Path, *, pages: bool) -> None:
    """1M world, dashboards, multiply to n, dashboards, pages, bytes per trace; merged after each step."""
    factor = n // BASE
    measured: dict = {}

    def step(name: str, fn):
        started = time.perf_counter()
        print(f"[scale] {backend}: {name} ... ({_load()})", flush=True)
        value = fn()
        seconds = round(time.perf_counter() - started, 1)
        measured.setdefault("scale_steps_s", {})[f"{backend}:{name}"] = seconds
        measured.setdefault("scale_load", {})[f"{backend}:{name}"] = _load()
        print(f"[scale] {backend}: {name} done in {seconds}s ({_load()})", flush=True)
        return value

    url = step(f"world {BASE:,}", lambda: url_for(BASE))
    base = step("dashboards 1M", lambda: bench_dashboards(url))
    _merge(out, {"dashboard_query_ms_1m": {backend: base}}, measured)
    if factor > 1:
        step(f"multiply x{factor}", lambda: multiply(url, factor))
        step("maintenance", lambda: maintenance(url))
    big = step(f"dashboards {n:,}", lambda: bench_dashboards(url))
    growth = {q: round(big[q] / base[q], 2) if base[q] else None for q in big}
    per_trace = round(db_bytes(url) / world.count_traces(url))
    _merge(
        out,
        {
            "dashboard_query_ms_10m": {backend: big},
            "dashboard_growth_10x": {backend: growth},
            "bytes_per_trace": {backend: per_trace},
        },
        measured,
    )
    if pages:
        rendered = step("pages", lambda: bench_pages(url))
        _merge(out, {"page_render_s_10m": {backend: rendered["page_render_s"]}}, measured)


def _merge(out: Path, values: dict, measured: dict) -> None:
    import json

    current = json.loads(out.read_text()) if out.exists() else {}
    for key, value in {**values, **measured}.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            value = {**current[key], **value}
        values[key] = value
    merge_into(out, values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=10 * BASE)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--no-ingest", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="Keep a world of BASE traces from an earlier run."
    )
    args = parser.parse_args()
    run(args)


def run(args) -> None:
    if args.traces % BASE:
        raise SystemExit(f"--traces: a multiple of {BASE:,}, not {args.traces:,}")
    args.work.mkdir(parents=True, exist_ok=True)
    for backend in args.databases.split(","):
        if backend == "sqlite":
            run_backend(
                "sqlite", lambda n: sqlite_world(args.work, n, reuse=args.reuse), args.traces, args.out,
                pages=not args.no_pages,
            )  # fmt: skip
        else:
            pg = os.environ.get("REVIEW_STORE_TEST_PG_URL")
            if not pg:
                print("[scale] REVIEW_STORE_TEST_PG_URL is not set: PostgreSQL skipped", flush=True)
                continue
            run_backend(
                "postgresql", lambda n, pg=pg: pg_world(pg, n, reuse=args.reuse), args.traces, args.out,
                pages=not args.no_pages,
            )  # fmt: skip
    if not args.no_ingest:
        started = time.perf_counter()
        ingest = bench_ingest(args.work, BASE)
        ingest["ingest_s"] = round(time.perf_counter() - started, 1)
        ingest["ingest_load"] = _load()
        merge_into(args.out, ingest)
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
