"""Rollups are kept in the writer's transaction (ingest, --update, re-import, judge, demo) and a rebuild from
the raw rows gives identical rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from review_store import judge
from review_store.db import make_engine, session_scope
from review_store.desk import Desk
from review_store.models import Trace
from review_store.permissions import SYSTEM
from review_store.rollups import maintain
from review_store.rollups.rebuild import rebuild
from review_store.rollups.tables import TABLES, RollupTraffic, RollupValue
from review_store.rubrics import create_rubric
from tests.factories import make_user

RATING = {"key": "correctness", "kind": "rating", "scale": 5, "prompt": "Correct?"}
START = datetime(2026, 5, 1)


def snapshot(conn) -> dict[str, list[tuple]]:
    out = {}
    for model in TABLES:
        table = model.__table__
        pk = [c for c in table.primary_key.columns]
        out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*pk)).all()]
    return out


def records(rng: random.Random, n: int, *, prefix: str = "t", shift: int = 0, days: int = 5) -> list[dict]:
    out = []
    for i in range(n):
        ts = START + timedelta(minutes=rng.randrange(0, 60 * 24 * days) + shift, seconds=rng.random() * 59)
        rec = {
            "trace_id": f"{prefix}{i}",
            "timestamp": ts.isoformat(),
            "app": rng.choice(["chat", "search"]),
            "segment": rng.choice(["billing", "refunds", ""]),
            "release": rng.choice(["r1", "r2"]),
            "model": rng.choice(["m-small", "m-large"]),
            "prompt_version": rng.choice(["p1", "p2"]),
            "input": "q" * rng.randrange(1, 300),
            "output": "answer",
            "context": [{"id": "c", "score": round(rng.random(), 3)}] if rng.random() < 0.8 else [],
            "latency_ms": rng.choice([None, 0.0, round(rng.lognormvariate(6.5, 0.8), 3)]),
            "tokens_in": rng.choice([None, rng.randrange(1, 3000)]),
            "tokens_out": rng.randrange(0, 800),
            "cost_usd": rng.choice([None, round(rng.random() / 50, 7)]),
            "cache_hit": rng.choice([None, True, False]),
            "task_success": rng.choice([None, True, False]),
            "guardrails": [
                {
                    "name": rng.choice(["pii", "grounding"]),
                    "stage": "output",
                    "action": rng.choice(["flagged", "blocked"]),
                    "score": 0.7,
                }
                for _ in range(rng.choice([0, 0, 1, 2]))
            ],
        }
        out.append(rec)
    return out


def priced(recs: list[dict], *, every: int = 3) -> list[dict]:
    """Every `every`-th record on a model litellm prices (its cost computed at ingest when missing, so the
    cost sources are reported, computed and unknown)."""
    return [{**r, "model": "gpt-4o-mini"} if i % every == 0 else r for i, r in enumerate(recs)]


def write(path, recs) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


def test_latency_buckets_read_back_within_one_percent():
    rng = random.Random(3)
    for _ in range(20_000):
        v = rng.lognormvariate(6, 2)
        assert abs(maintain.latency_value(maintain.latency_bucket(v)) - v) / v <= 0.00996
    assert maintain.latency_value(maintain.latency_bucket(0.0)) == 0.0


def test_ingest_update_reimport_and_judge_keep_rollups_equal_to_a_rebuild(engine, db_url, tmp_path):
    rng = random.Random(11)
    desk = Desk(engine)
    first = priced(records(rng, 400))
    desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "a.jsonl", first))
    with engine.connect() as conn:
        after_first = snapshot(conn)
    assert sum(r[6] for r in after_first["rolluptraffic"]) == 400  # traces column
    # re-import: nothing changes
    desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "a2.jsonl", first))
    with engine.connect() as conn:
        assert snapshot(conn) == after_first
    # --update with changed records (time, segment, latency, guardrails) and new ones
    changed = priced(records(random.Random(12), 250, shift=90), every=2)  # sources change too
    report = desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "b.jsonl", changed), update=True)
    assert report.updated > 0 and report.inserted == 0
    with engine.connect() as conn:
        split = conn.execute(
            select(func.sum(RollupTraffic.cost_reported), func.sum(RollupTraffic.cost_computed))
        ).one()
        by_source = dict(
            conn.execute(select(Trace.cost_source, func.count()).group_by(Trace.cost_source)).tuples().all()
        )
    assert tuple(split) == (by_source.get("reported", 0), by_source.get("computed", 0))
    assert by_source.get("computed") and by_source.get("reported") and by_source.get(None)
    desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "c.jsonl", records(rng, 50, prefix="n")))
    # judge verdicts (mock answers; cost from litellm's price map)
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        rubric = create_rubric(session, actor=lead, name="r", questions=[RATING])
        judge.create_judge_config(
            session, actor=lead, name="m", model="openai/gpt-4o-mini", rubric_id=rubric.id
        )
    run = judge.run_judge(
        engine, actor=lead, config="m@1", limit=120, mock_response='{"value": 4, "confidence": 1}'
    )
    assert run.n_ok == 120
    with engine.connect() as conn:
        kept = snapshot(conn)
    assert sum(r[7] for r in kept["rollupverdict"]) == 120  # verdicts column
    result = desk.rollups.rebuild(actor=SYSTEM)
    assert (result.traces, result.verdicts) == (450, 120)
    with engine.connect() as conn:
        assert snapshot(conn) == kept
    # a partial rebuild of two days leaves the same rows too
    desk.rollups.rebuild(
        actor=SYSTEM, start=START.date() + timedelta(days=1), end=START.date() + timedelta(days=2)
    )
    with engine.connect() as conn:
        assert snapshot(conn) == kept


def test_demo_world_rollups_equal_a_rebuild(demo_any_url):
    engine = make_engine(demo_any_url)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            kept = snapshot(conn)
            assert kept["rolluptraffic"] and kept["rollupverdict"] and kept["rollupguardrail"]
            rebuild(conn)
            assert snapshot(conn) == kept
            trans.rollback()  # the PostgreSQL demo is shared
    finally:
        engine.dispose()


def test_rollup_rebuild_cli(engine, db_url, tmp_path, monkeypatch):
    from review_store.cli import app

    Desk(engine).ingest.import_file(
        actor=SYSTEM, path=write(tmp_path / "a.jsonl", records(random.Random(5), 30))
    )
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rolluptraffic"))
    runner = CliRunner()
    out = runner.invoke(
        app, ["--db", db_url, "--json", "rollup", "rebuild", "--from", "2026-05-01", "--to", "2026-05-09"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["traces"] == 30
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(traces) FROM rolluptraffic")).scalar_one() == 30
    bad = runner.invoke(
        app, ["--db", db_url, "rollup", "rebuild", "--from", "2026-05-09", "--to", "2026-05-01"]
    )
    assert bad.exit_code == 2 and "before --from" in bad.output


def test_sqlite_driver_upserts_meet_rows_written_through_the_column_types(sqlite_engine):
    """On SQLite `apply` binds the hour as text itself; a row SQLAlchemy wrote for the same key is the one it
    adds to (no second row), and both read back through the column types as the same hour."""
    hour = datetime(2026, 5, 1, 9)
    with session_scope(sqlite_engine) as session:
        session.add(RollupValue(hour=hour, segment="s", release="r", metric="latency", bucket=7, n=2))
    deltas = maintain.Deltas()
    trace = {"ts": hour + timedelta(minutes=5), "segment": "s", "release": "r", "latency_ms": 1.02**7.5}
    for _ in range(3):
        deltas.add_trace({**trace, "input": "abc", "tokens_in": 5, "cost_usd": 0.25})
    deltas.add_verdict(
        {"trace_ts": None, "judge_config_id": 1, "question_key": "q", "score": 4, "cost_usd": None}
    )
    with sqlite_engine.begin() as conn:
        maintain.apply(conn, deltas)
    with sqlite_engine.connect() as conn:
        got = snapshot(conn)
        by_hour = conn.execute(select(func.count()).where(RollupValue.hour == hour)).scalar_one()
    assert got["rollupvalue"] == [(hour, "s", "r", "input_chars", 3, 3), (hour, "s", "r", "latency", 7, 5)]
    assert by_hour == 2
    assert got["rollupverdict"] == [(maintain.NO_TS, "", "", 1, "q", True, 4.0, 1, 0, 0)]
    traffic = got["rolluptraffic"][0]
    assert traffic[:6] == (hour, "", "s", "r", "", "") and traffic[6] == 3  # traces
    assert traffic[11] == 3 * 250_000_000  # cost_nanos
