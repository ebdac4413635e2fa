"""The review queue under load: claim throughput with many reviewer processes, and next_item latency right
after a bulk load, on SQLite and PostgreSQL (`python -m bench.claim [--seconds 60]`).

- claim_labels_per_s_{sqlite,pg}: REVIEWERS processes (each its own engine) loop next_item -> submit_label
  for --seconds over CLAIM_ITEMS open items with overlap 2; labels stored per second of labelling (a run
  that drains the queue early is divided by the time the draining took). Afterwards the
  invariants are checked: no item over k labels, no reviewer twice on an item, nothing lost (every label a
  worker was told was stored is in the store, and each item's labels_done equals its label rows).
- next_item_ms_p50/p95 (SQLite) and next_item_ms_p50_pg/p95_pg: OPEN_ITEMS open items sampled through the
  store into a freshly loaded database (no VACUUM, no manual ANALYZE: what a team sees right after a bulk
  sampling run), then timed claims, each lease given back untimed so the next call claims anew.

Results are merged into bench/results.json (other measures are kept); `python -m bench.report` renders the
README table from it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from review_store import schema
from review_store.db import make_engine, session_scope
from review_store.desk import SYSTEM, Actor, Desk
from review_store.models import Trace, User

HERE = Path(__file__).resolve().parent
REVIEWERS = 16
CLAIM_ITEMS = 4_000
OPEN_ITEMS = 100_000
OVERLAP = 2
ANSWERS = {"correctness": 5, "groundedness": 4, "tone": 4, "issue_type": "none", "notes": ""}
T0 = datetime(2026, 5, 1)


def _pg_database(name: str) -> str | None:
    pg = os.environ.get("REVIEW_STORE_TEST_PG_URL")
    if not pg:
        return None
    # Team mode refuses to write without an audit key; a throwaway database gets a throwaway key (set
    # before the reviewer processes start, so they inherit it).
    os.environ.setdefault("REVIEW_DESK_AUDIT_KEY", secrets.token_hex(32))
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg).set(database=name).render_as_string(hide_password=False)


def _sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def load(url: str, *, items: int, reviewers: int) -> tuple[int, list[Actor]]:
    """Schema, one rubric, the reviewers and `items` traces, then `items` open items sampled by the store."""
    from review_store.demo import RUBRIC_QUESTIONS

    schema.upgrade(url)
    engine = make_engine(url)
    names = [f"rev{i:02d}" for i in range(reviewers)]
    with engine.begin() as conn:
        conn.execute(insert(User), [{"username": n, "display_name": n, "role": "reviewer"} for n in names])
        rows = [
            {
                "external_id": f"b-{i}",
                "ts": T0 + timedelta(seconds=i),
                "app": "bench",
                "segment": ("billing", "technical", "account", "refunds")[i % 4],
                "input": f"question {i}",
                "output": f"answer {i}",
                "context": [],
                "meta": {},
            }
            for i in range(items)
        ]
        for start in range(0, items, 10_000):
            conn.execute(insert(Trace), rows[start : start + 10_000])
    engine.dispose()
    desk = Desk.open(url)
    rubric = desk.rubrics.create(actor=SYSTEM, name="support", questions=RUBRIC_QUESTIONS)
    desk.sampling.sample(actor=SYSTEM, strategy="random", n=items, overlap_k=OVERLAP)
    with desk.engine.connect() as conn:
        ids = dict(conn.execute(select(User.username, User.id)).all())
    desk.engine.dispose()
    return rubric.id, [Actor(username=n, role="reviewer", id=ids[n]) for n in names]


def _reviewer(url: str, actor: Actor, rubric_id: int, seconds: float, ready, out: mp.Queue) -> None:
    """One reviewer process: its own engine; claim -> submit until the time is up or the queue is empty."""
    desk = Desk(make_engine(url, workers=REVIEWERS))
    ready.wait()  # every process is started and imported before the clock runs
    stored: list[int] = []
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        claim = desk.review.claim(actor=actor)
        if claim.item is None:
            break
        item_id = claim.item.item.id
        desk.review.submit(
            actor=actor, item_id=item_id, rubric_id=rubric_id, answers=ANSWERS, seconds_spent=1
        )
        stored.append(item_id)
    busy = time.monotonic() - started
    desk.engine.dispose()
    out.put((actor.username, stored, busy))


def claim_throughput(
    url: str, *, seconds: float, reviewers: int = REVIEWERS, items: int = CLAIM_ITEMS
) -> dict:
    """Labels per second with `reviewers` processes, and the invariants checked after the run."""
    rubric_id, people = load(url, items=items, reviewers=reviewers)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    ready = ctx.Barrier(len(people))
    procs = [ctx.Process(target=_reviewer, args=(url, a, rubric_id, seconds, ready, out)) for a in people]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 900) for _ in procs]
    for p in procs:
        p.join()
    told = sum(len(ids) for _, ids, _ in results)
    # a queue drained before the time is up is divided by the time the draining took (the last reviewer
    # to stop), not by --seconds: the rate is the rate, whether or not the work ran out
    elapsed = max(busy for _, _, busy in results)
    report = invariants(url, [(name, ids) for name, ids, _ in results])
    report["labels"] = told
    report["seconds"] = round(elapsed, 1)
    report["drained"] = elapsed < seconds
    report["labels_per_s"] = round(told / elapsed, 1)
    return report


def invariants(url: str, results: list[tuple[str, list[int]]]) -> dict:
    """No item over k, no (item, reviewer) twice, every label a reviewer was told was stored is there."""
    engine = make_engine(url)
    with engine.connect() as conn:
        over_k = conn.execute(
            text(
                "SELECT count(*) FROM reviewitem r WHERE r.labels_done > r.overlap_k "
                "OR (SELECT count(*) FROM label l WHERE l.item_id = r.id) > r.overlap_k"
            )
        ).scalar_one()
        duplicates = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT item_id, reviewer_id FROM label GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
        ).scalar_one()
        miscounted = conn.execute(
            text(
                "SELECT count(*) FROM reviewitem r "
                "WHERE r.labels_done <> (SELECT count(*) FROM label l WHERE l.item_id = r.id)"
            )
        ).scalar_one()
        stored = {
            (name, item)
            for name, item in conn.execute(
                text('SELECT u.username, l.item_id FROM label l JOIN "user" u ON u.id = l.reviewer_id')
            ).all()
        }
    engine.dispose()
    told = {(name, item) for name, ids in results for item in ids}
    lost = len(told - stored)
    checks = {"over_k": over_k, "duplicates": duplicates, "miscounted": miscounted, "lost": lost}
    if any(checks.values()):
        raise AssertionError(f"queue invariants broken at {make_url(url).get_backend_name()}: {checks}")
    return {"invariants": "held", **checks}


def next_item_latency(url: str, *, items: int = OPEN_ITEMS, samples: int = 400) -> dict:
    """p50/p95 of a real claim (queue.next_item writing a lease, in its own transaction) at `items` open
    items sampled through the store just before: no VACUUM, no manual ANALYZE. Each lease is given back
    untimed (a skip), so the next call claims anew."""
    from review_store import queue

    _, people = load(url, items=items, reviewers=2)
    engine = make_engine(url)
    desk = Desk(engine)
    timings = []
    for i in range(samples):
        actor = people[i % 2]
        started = time.perf_counter()
        with session_scope(engine) as session:
            item_id = queue.next_item(session, actor=actor).id
        timings.append((time.perf_counter() - started) * 1000)
        desk.review.skip(actor=actor, item_id=item_id)
    engine.dispose()
    p50, p95 = np.percentile(timings, [50, 95])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2)}


def run(work: Path, *, seconds: float, prefix: str = "review_desk_bench") -> dict:
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    backends = {"sqlite": lambda name: _sqlite(work / f"{name}.db"), "pg": _pg_database}
    for backend, make in backends.items():
        url = make(f"{prefix}_claim")
        if url is None:
            print(f"[claim] {backend}: REVIEW_STORE_TEST_PG_URL not set, skipped", flush=True)
            continue
        started = time.perf_counter()
        claim = claim_throughput(url, seconds=seconds)
        out[f"claim_labels_per_s_{backend}"] = claim["labels_per_s"]
        print(f"[claim] {backend}: {claim} ({time.perf_counter() - started:.0f} s)", flush=True)
        latency = next_item_latency(make(f"{prefix}_next"))
        suffix = "" if backend == "sqlite" else "_pg"
        out[f"next_item_ms_p50{suffix}"], out[f"next_item_ms_p95{suffix}"] = latency["p50"], latency["p95"]
        print(f"[claim] {backend}: next_item at {OPEN_ITEMS:,} open items {latency}", flush=True)
    if out.get("claim_labels_per_s_sqlite") and "claim_labels_per_s_pg" in out:
        out["claim_pg_vs_sqlite"] = round(out["claim_labels_per_s_pg"] / out["claim_labels_per_s_sqlite"], 2)
    out["claim_seconds"] = seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="How long the reviewers label (default 60)."
    )
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument(
        "--prefix",
        default="review_desk_bench",
        help="Names of the scratch databases (PREFIX_claim, PREFIX_next; dropped and recreated on "
        "PostgreSQL, files under --work on SQLite), so runs on a shared server do not collide.",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="Merged into; other keys kept."
    )
    args = parser.parse_args()
    measured = run(args.work, seconds=args.seconds, prefix=args.prefix)
    from bench.run import merge_into

    merge_into(args.out, measured)


if __name__ == "__main__":
    main()
