"""A database created by an older migration (0001) and holding data is upgraded in place to head:
the rows survive, the columns 0002 adds are filled from the traces, 0003's trace.input_chars holds each
input's length in characters, and the dashboards read them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import MetaData, func, inspect, select, text
from sqlmodel import SQLModel

from review_store import schema
from review_store.dashboards import overview as dashboards
from review_store.dashboards.cost_sources import cost_sources
from review_store.db import make_engine, read_session
from review_store.desk import Desk
from review_store.permissions import SYSTEM
from tests.test_rollups import priced, records, snapshot, write

T0 = datetime(2026, 3, 2, 9, 30)
TRACES = [  # external id, ts, segment, release, latency
    ("t-1", T0, "refunds", "r1", 800.0),
    ("t-2", T0 + timedelta(days=1, hours=2), "billing", "r2", 1200.0),
    ("t-3", T0 + timedelta(days=2, minutes=5), "refunds", "r2", 400.0),
]
INPUTS = ["q", "Grüße, où est ma commande ?", ""]  # 0003 fills input_chars: characters, not bytes
VERDICTS = [  # trace index, question, score, error
    (0, "groundedness", 1.0, None),
    (1, "groundedness", 5.0, None),
    (2, "groundedness", 2.0, None),
    (2, "correctness", 4.0, None),
    (1, "tone", None, "provider timeout"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0001(request, tmp_path):
    """A blank database migrated to revision 0001 only."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
        engine = make_engine(url)
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    schema.upgrade(url, "0001")
    return url


def _fill_at_0001(url: str) -> None:
    """Rows written with the 0001 tables as they are in the database (reflected, not today's models)."""
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=["rubric", "judgeconfig", "trace", "judgeverdict", "guardrailevent"])
    assert "trace_ts" not in meta.tables["judgeverdict"].c  # really the old schema
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(
            t["rubric"].insert(),
            [
                {
                    "id": 1,
                    "name": "r",
                    "version": 1,
                    "questions": [],
                    "content_hash": "h",
                    "created_by": "x",
                    "created_at": T0,
                }
            ],
        )
        conn.execute(
            t["judgeconfig"].insert(),
            [
                {
                    "id": 1,
                    "name": "j",
                    "version": 1,
                    "model": "m",
                    "prompt_template": "p",
                    "rubric_id": 1,
                    "params": {},
                    "content_hash": "h",
                    "created_by": "x",
                    "created_at": T0,
                }
            ],
        )
        conn.execute(
            t["trace"].insert(),
            [
                {
                    "id": i + 1,
                    "external_id": ext,
                    "ts": ts,
                    "app": "support",
                    "segment": seg,
                    "release": rel,
                    "model": "m",
                    "prompt_version": "p1",
                    "input": INPUTS[i],
                    "output": "a",
                    "context": [],
                    "latency_ms": lat,
                    "task_success": True,
                    "cost_usd": 0.01,
                    "cache_hit": False,
                    "meta": {},
                }
                for i, (ext, ts, seg, rel, lat) in enumerate(TRACES)
            ],
        )
        conn.execute(
            t["judgeverdict"].insert(),
            [
                {
                    "trace_id": i + 1,
                    "judge_config_id": 1,
                    "question_key": q,
                    "value": score,
                    "score": score,
                    "error": err,
                    "created_at": T0,
                }
                for i, q, score, err in VERDICTS
            ],
        )
        conn.execute(
            t["guardrailevent"].insert(),
            [
                {
                    "trace_id": 1,
                    "ts": TRACES[0][1],
                    "name": "grounding",
                    "stage": "output",
                    "action": "flagged",
                    "segment": "refunds",
                    "release": "r1",
                }
            ],
        )
    engine.dispose()


def test_database_at_0001_with_data_upgrades_in_place(url_at_0001):
    _fill_at_0001(url_at_0001)
    schema.upgrade(url_at_0001)
    schema.check(url_at_0001)  # the upgraded database matches today's models
    engine = make_engine(url_at_0001)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("trace")}
    assert {"ix_trace_ts_kpi", "ix_trace_ts_drift", "ix_trace_ts_cost"} <= indexes
    with engine.connect() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(text(name))).scalar_one()
            for name in ("trace", "judgeverdict", "guardrailevent", "rubric", "judgeconfig")
        }
        rows = conn.execute(
            text(
                "SELECT v.trace_id, v.question_key, v.score, v.error, v.trace_ts, v.segment, v.release "
                "FROM judgeverdict v ORDER BY v.id"
            )
        ).all()
    with engine.connect() as conn:
        chars = conn.execute(text("SELECT input_chars FROM trace ORDER BY id")).scalars().all()
    assert chars == [len(s) for s in INPUTS] == [1, 27, 0]
    assert counts == {"trace": 3, "judgeverdict": 5, "guardrailevent": 1, "rubric": 1, "judgeconfig": 1}
    for (trace_id, q, score, err, ts, seg, rel), (i, q0, score0, err0) in zip(rows, VERDICTS, strict=True):
        _, ts0, seg0, rel0, _ = TRACES[i]
        assert (trace_id, q, score, err) == (i + 1, q0, score0, err0)  # data intact
        assert (dashboards.bucket_start(ts), seg, rel) == (ts0, seg0, rel0)  # copies filled from the trace
    with read_session(engine) as session:
        filters = dashboards.Filters(T0.replace(hour=0, minute=30), T0 + timedelta(days=3))
        kpis = {k.key: k for k in dashboards.overview_kpis(session, filters)}
        refunds = dashboards.Filters(filters.start, filters.end, segment="refunds")
        refunds_kpis = {k.key: k for k in dashboards.overview_kpis(session, refunds)}
    assert kpis["hallucination_rate"].value == pytest.approx(2 / 3)  # scores 1 and 2 of 1, 5, 2
    assert refunds_kpis["hallucination_rate"].value == pytest.approx(1.0)  # both refunds verdicts <= 2
    # the upgraded database reads p95 from the rollup's log buckets: within their documented 1 % of 1200
    assert kpis["p95_latency_ms"].value == pytest.approx(1200.0, rel=0.01)
    assert kpis["safety_triggers_per_1k"].value == pytest.approx(1000 / 3)
    # 0010 marks the old costs reported, 0015 sums them per source into the traffic rollup
    with read_session(engine) as session:
        split = {r["source"]: (r["traces"], r["cost_usd"]) for r in cost_sources(session, filters=filters)}
    assert split == {"reported": (3, pytest.approx(0.03)), "computed": (0, 0.0), "unknown": (0, 0.0)}
    engine.dispose()


def test_0015_backfills_the_cost_source_sums_of_a_database_at_0014(engine, db_url, tmp_path):
    """Traces of every source ingested at head; down to 0014 (the columns dropped) and up again: the
    backfill gives the rows the writers kept, and the split the raw rows give."""

    desk = Desk(engine)
    recs = priced(records(random.Random(5), 300))
    desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "a.jsonl", recs))
    with engine.connect() as conn:
        kept = snapshot(conn)["rolluptraffic"]
    engine.dispose()
    schema.downgrade(db_url, "0014")
    assert "cost_computed" not in {c["name"] for c in inspect(engine).get_columns("rolluptraffic")}
    engine.dispose()
    schema.upgrade(db_url)
    with engine.connect() as conn:
        assert snapshot(conn)["rolluptraffic"] == kept
    names = [c.name for c in SQLModel.metadata.tables["rolluptraffic"].columns]
    sums = {n: sum(r[names.index(n)] for r in kept) for n in ("cost_reported", "cost_computed", "traces")}
    assert 0 < sums["cost_reported"] and 0 < sums["cost_computed"]
    assert sums["cost_reported"] + sums["cost_computed"] < sums["traces"]  # unknown ones too
    engine.dispose()
