"""Every state-changing store function of the releases capability writes exactly one audit event;
tampering with the chain is caught by `review-desk audit verify` on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from review_store import audit, releases
from review_store.cli import app
from review_store.db import read_session, session_scope
from review_store.releases import deployments, watch
from tests.factories import make_user
from tests.test_releases import MANIFEST, POLICY


def _count(engine) -> int:
    with read_session(engine) as s:
        return audit.count_events(s)


def test_every_state_changing_function_writes_exactly_one_event(engine):
    with session_scope(engine) as s:
        author = make_user(s, role="owner", username="author")
        owner = make_user(s, role="owner", username="owner2")
        lead = make_user(s, role="lead", username="lead")
    metrics = {"accuracy": 0.9, "p95_latency_ms": 100}
    steps = [
        ("gate_policy.create", lambda s: releases.create_gate_policy(s, actor=lead, thresholds=POLICY)),
        ("release.create", lambda s: releases.create_release(s, actor=author, name="a", manifest=MANIFEST)),
        ("eval.record", lambda s: releases.record_eval_run(s, actor=lead, release="a", metrics=metrics)),
        ("release.approve", lambda s: releases.approve_release(s, actor=owner, release="a", comment="ok")),
        *[("release.promote", lambda s: deployments.promote_release(s, actor=owner, release="a"))] * 4,
        (
            "release.health_check",
            lambda s: deployments.health_check(s, actor=owner, release="a", healthy=True),
        ),
        (
            "release.create",
            lambda s: releases.create_release(s, actor=author, name="b", manifest=dict(MANIFEST, tools=[])),
        ),
        ("eval.record", lambda s: releases.record_eval_run(s, actor=lead, release="b", metrics=metrics)),
        ("release.approve", lambda s: releases.approve_release(s, actor=owner, release="b", comment="ok")),
        ("release.promote", lambda s: deployments.promote_release(s, actor=owner, release="b")),
        ("release.rollback", lambda s: deployments.rollback(s, actor=owner, reason="test")),
        ("release.create", lambda s: releases.create_release(s, actor=author, name="c", manifest=MANIFEST)),
        ("release.reject", lambda s: releases.reject_release(s, actor=owner, release="c", comment="no")),
    ]
    for action, step in steps:
        before = _count(engine)
        with session_scope(engine) as s:
            step(s)
        with read_session(engine) as s:
            newest = audit.list_events(s, limit=1)[0].action
        assert _count(engine) == before + 1, action
        assert newest == action
    # read-only functions write nothing
    before = _count(engine)
    with read_session(engine) as s:
        releases.gate(s, release="a"), releases.list_releases(s), releases.diff_releases(s, a="a", b="b")
        deployments.timeline(s, release="a")
    assert _count(engine) == before


def test_auto_rollback_rule_writes_one_rollback_event(demo_engine):
    from review_store import settings
    from review_store.permissions import actor_for

    with session_scope(demo_engine) as s:
        settings.put(s, actor=actor_for(s, "lena"), key="rollback.rule", value={"mode": "auto"})
    before = _count(demo_engine)
    with session_scope(demo_engine) as s:
        status = watch.apply_rollback_rule(s)
    assert status.action == "rolled_back"
    assert _count(demo_engine) == before + 1
    with read_session(demo_engine) as s:
        assert audit.list_events(s, limit=1)[0].action == "release.rollback"
        assert deployments.deployed_manifest(s)["release"] == "r1"


# --- tampering, through the CLI, on SQLite and PostgreSQL -------------------------------------------------


def _chain(engine, n: int = 6) -> None:
    with session_scope(engine) as s:
        owner = make_user(s, role="owner", username="o")
    for i in range(n):
        with session_scope(engine) as s:
            releases.create_release(
                s, actor=owner, name=f"r{i}", manifest=dict(MANIFEST, tools=[{"name": f"t{i}"}])
            )


def _verify(db_url: str):
    result = CliRunner().invoke(app, ["--db", db_url, "audit", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_untouched_chain_verifies(engine, db_url):
    _chain(engine)
    code, out = _verify(db_url)
    assert code == 0 and out["ok"] and out["checked"] == 6


@pytest.mark.parametrize(
    ("sql", "bad_seq"),
    [
        ('UPDATE auditevent SET payload = \'{"manifest_hash":"forged"}\' WHERE seq = 3', 3),
        ("DELETE FROM auditevent WHERE seq = 4", 4),
        (
            "INSERT INTO auditevent (seq, ts, actor, action, entity, entity_id, payload, prev_hash, hash) "
            "SELECT 100, ts, 'mallory', 'release.approve', 'release', 'r1', '{}', hash, 'f00d' FROM auditevent WHERE seq = 6",
            7,
        ),
    ],
    ids=["edit-payload", "delete", "insert"],
)
def test_tampering_is_named_by_first_bad_seq(engine, db_url, sql, bad_seq):
    _chain(engine)
    with engine.begin() as conn:
        conn.execute(text(sql))
    code, out = _verify(db_url)
    assert code == 1 and not out["ok"] and out["first_bad_seq"] == bad_seq
    plain = CliRunner().invoke(app, ["--db", db_url, "audit", "verify"])
    assert plain.exit_code == 1 and f"seq {bad_seq}" in plain.stdout


def test_audit_export_csv_and_jsonl(engine, db_url):
    _chain(engine, n=3)
    jsonl = CliRunner().invoke(app, ["--db", db_url, "audit", "export", "--format", "jsonl"])
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert jsonl.exit_code == 0 and [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    csv_out = CliRunner().invoke(app, ["--db", db_url, "audit", "export", "--format", "csv"])
    assert csv_out.stdout.splitlines()[0] == "seq,ts,actor,action,entity,entity_id,payload,prev_hash,hash"
    assert len(csv_out.stdout.splitlines()) == 4
    bad = CliRunner().invoke(app, ["--db", db_url, "audit", "export", "--format", "xml"])
    assert bad.exit_code == 2
