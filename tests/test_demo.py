"""The demo world: deterministic, refuses to overwrite, and tells the story the product is built around."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from sqlmodel import SQLModel

from review_store.backup import canonical_digest, canonical_export
from review_store.db import make_engine, read_session
from review_store.demo import build_demo
from review_store.errors import DatabaseNotEmpty

END = datetime(2026, 6, 1)


def _build(path, seed=7):
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    build_demo(engine, seed=seed, traces=800, end=END, password="demo-pass-123")
    return engine


def test_same_seed_same_data(tmp_path):
    a, b = _build(tmp_path / "a.db"), _build(tmp_path / "b.db")
    with read_session(a) as sa, read_session(b) as sb:
        export_a, export_b = canonical_export(sa), canonical_export(sb)
    assert export_a["trace"] and export_a == export_b
    c = _build(tmp_path / "c.db", seed=8)
    with read_session(a) as sa, read_session(c) as sc:
        assert canonical_digest(sa) != canonical_digest(sc)


def test_refuses_non_empty_database_without_force(tmp_path):
    engine = _build(tmp_path / "a.db")
    with pytest.raises(DatabaseNotEmpty):
        build_demo(engine, seed=7, traces=100, end=END)
    build_demo(engine, seed=7, traces=100, end=END, force=True, password="demo-pass-123")
    assert pd.read_sql("SELECT COUNT(*) AS n FROM trace", engine)["n"][0] == 101


def test_story_r2_grounding_regression_in_refunds(demo_engine):
    traces = pd.read_sql("SELECT id, segment, release FROM trace", demo_engine)
    events = pd.read_sql("SELECT trace_id FROM guardrailevent WHERE name = 'grounding'", demo_engine)
    traces["grounding"] = traces["id"].isin(events["trace_id"])
    rate = traces.groupby(["release", "segment"])["grounding"].mean()
    assert rate[("r2", "refunds")] > 2.2 * rate[("r1", "refunds")]
    assert rate[("r2", "billing")] < 1.8 * rate[("r1", "billing")]
    assert set(traces["segment"]) == {"billing", "technical", "account", "refunds"}


def test_labels_overlap_and_roles(demo_engine):
    labels = pd.read_sql("SELECT item_id, reviewer_id FROM label", demo_engine)
    per_item = labels.groupby("item_id").size()
    assert 250 <= len(per_item) <= 350
    assert set(per_item.unique()) == {2, 3}
    roles = set(pd.read_sql("SELECT role FROM user", demo_engine)["role"])
    assert roles == {"reviewer", "owner", "lead", "admin"}
    releases = pd.read_sql("SELECT name, status FROM release ORDER BY name", demo_engine)
    assert list(releases["name"]) == ["r1", "r2", "r3"]
    assert dict(zip(releases["name"], releases["status"], strict=True))["r3"] == "candidate"


def test_time_comes_from_the_end_date_only(tmp_path):
    """Built to end in 2030 while the suite's clock says 2026: every stored time lies in the world's span
    (from the users' week before it to its end), and the audit trail is in time order and verifies."""
    from sqlalchemy import inspect, text

    from review_store.clock import FixedClock
    from review_store.desk import SYSTEM, Desk

    url = f"sqlite:///{tmp_path / 'far.db'}"
    desk = Desk.open(url, clock=FixedClock(datetime(2026, 6, 1, 12)), migrate=True)
    built = desk.demo.build(seed=3, traces=600, end=datetime(2030, 1, 1), password="demo-pass-123")
    lo, hi = datetime(2029, 11, 25), datetime(2030, 1, 1)
    assert built.start == datetime(2029, 12, 2) and built.end == hi
    schema = inspect(desk.engine)
    timed = [
        (table, column["name"])
        for table in schema.get_table_names()
        for column in schema.get_columns(table)
        if "DATETIME" in str(column["type"]).upper()
    ]
    columns = 0
    with desk.engine.connect().execution_options(read_only=True) as conn:
        for table, name in timed:
            first, last = conn.execute(text(f'SELECT MIN("{name}"), MAX("{name}") FROM "{table}"')).one()
            if first is None:
                continue
            columns += 1
            assert lo <= datetime.fromisoformat(str(first)) and datetime.fromisoformat(str(last)) < hi, (
                f"{table}.{name}: {first} .. {last}"
            )
        stamps = [r[0] for r in conn.execute(text("SELECT ts FROM auditevent ORDER BY seq")).all()]
    assert columns >= 20 and stamps == sorted(stamps)
    assert desk.audit.verify(actor=SYSTEM).ok


def test_default_end_is_midnight_of_the_desk_clock(tmp_path):
    from review_store.clock import FixedClock
    from review_store.desk import Desk

    desk = Desk.open(
        f"sqlite:///{tmp_path / 'd.db'}", clock=FixedClock(datetime(2027, 1, 1, 15, 30)), migrate=True
    )
    built = desk.demo.build(seed=1, traces=300, password="demo-pass-123")
    assert built.end == datetime(2027, 1, 1) and built.traces == 301
    again = desk.demo.build(if_empty=True)
    assert not again.built and again.traces == 0 and again.credentials == ()


def test_cli_end_must_be_an_iso_date(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from review_store.cli import app

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    bad = CliRunner().invoke(app, ["--db", url, "demo", "--end", "2026-13-01", "--traces", "50"])
    assert bad.exit_code == 2 and "--end: '2026-13-01' is not an ISO date" in bad.output
    ok = CliRunner().invoke(
        app,
        ["--db", url, "--json", "demo", "--end", "2026-02-28", "--traces", "50"],
        env={"REVIEW_DESK_DEMO_PASSWORD": "demo-pass-123"},
    )
    assert ok.exit_code == 0, ok.output
    assert '"end": "2026-02-28T00:00:00"' in ok.output and '"start": "2026-01-29T00:00:00"' in ok.output


def test_releases_are_made_by_the_release_service(demo_any_url):
    """The demo's sign-offs and rollout are the service's: r1's approval carries the hash of the evidence
    its gate computes (policy, eval runs, rows), r2's is an exception with its override reason recorded,
    each promote's audit event names the evidence hash the approval was given, and the audit trail holds
    one event per release step (create, eval runs, approvals, 8 canary stages, r1's health check)."""
    from sqlmodel import Session

    from review_store.models import Approval, AuditEvent, GatePolicy, Release
    from review_store.releases import gate

    engine = make_engine(demo_any_url)
    try:
        with read_session(engine) as s:
            names = {r.id: r.name for r in s.query(Release).all()}
            signed = {names[a.release_id]: a for a in s.query(Approval).all()}
            assert set(signed) == {"r1", "r2"} and all(a.decision == "approved" for a in signed.values())
            policies = [(p.id, p.version) for p in s.query(GatePolicy).order_by(GatePolicy.version).all()]
            assert [v for _, v in policies] == [1, 2]  # v2 (day 28) adds r3's pairwise rule
            r1_hash = signed["r1"].evidence_hash
            with Session(engine) as s2:  # r1's gate under the policy its approval saw (v1); rolled back
                s2.delete(s2.get(GatePolicy, policies[1][0]))
                s2.flush()
                assert r1_hash == gate(s2, release="r1").evidence_hash
                s2.rollback()
            assert signed["r1"].override_reason is None and signed["r2"].override_reason
            events = s.query(AuditEvent).filter(AuditEvent.entity == "release").order_by(AuditEvent.seq).all()
            actions = [(e.action, e.entity_id) for e in events]
            assert actions.count(("release.promote", "r1")) == actions.count(("release.promote", "r2")) == 4
            assert ("release.health_check", "r1") in actions and len(actions) == 3 + 4 + 2 + 8 + 1
            for e in events:
                if e.action == "release.promote":
                    assert json.loads(e.payload)["evidence_hash"] == signed[e.entity_id].evidence_hash
                if e.action == "release.approve" and e.entity_id == "r2":
                    assert json.loads(e.payload)["exception"] is True
    finally:
        engine.dispose()
