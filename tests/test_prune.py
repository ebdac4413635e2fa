"""Retention: `prune` deletes old raw traces but never one under review, labelled, adjudicated, escalated,
golden, in an eval run's golden set or named by an audit event; the dashboards read the same numbers
before and after (the rollups keep the pruned hours); audited, and the chain verifies; both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from typer.testing import CliRunner

from review_store import audit
from review_store.cli import app
from review_store.db import make_engine, read_session, session_scope
from review_store.demo import build_demo
from review_store.desk import Desk
from review_store.desk.dashboard_views import Range
from review_store.desk.dashboards import COST_GROUPINGS, GUARDRAIL_GROUPINGS
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.judge import agreement as judge_agreement
from review_store.models import (
    Adjudication,
    Assignment,
    AuditEvent,
    EvalRun,
    GoldenExample,
    GuardrailEvent,
    JudgeConfig,
    JudgeVerdict,
    Label,
    Release,
    ReviewItem,
    Trace,
)
from review_store.permissions import SYSTEM
from tests.conftest import DEMO_SEED, DEMO_TRACES, TEST_NOW
from tests.factories import make_user

CUTOFF = datetime(2026, 5, 22, 12)  # TEST_NOW - 10 days, a whole hour


def dashboards(desk: Desk) -> dict:
    """Every dashboard number over the demo's whole days, as JSON."""
    rng = Range(start=datetime(2026, 5, 1), end=datetime(2026, 6, 2))
    out = {
        "overview": desk.dashboards.overview(range=rng, as_of=TEST_NOW).to_json(),
        "drift": desk.dashboards.drift(end=datetime(2026, 6, 1)).to_json(),
        "drift_r2": desk.dashboards.drift(end=datetime(2026, 5, 25), release="r2").to_json(),
        "budget": desk.dashboards.budget(as_of=TEST_NOW).to_json(),
        "maturity": desk.dashboards.maturity(as_of=TEST_NOW).to_json(),
    }
    for by in GUARDRAIL_GROUPINGS:
        out[f"guardrails_{by}"] = desk.dashboards.guardrails(range=rng, by=by).to_json()
    out["anomalies"] = [a.to_json() for a in desk.dashboards.guardrail_anomalies(range=rng)]
    for by in COST_GROUPINGS:
        out[f"costs_{by}"] = desk.dashboards.costs(range=rng, by=by, as_of=TEST_NOW).to_json()
    seg = Range(start=datetime(2026, 5, 10), end=datetime(2026, 5, 28), segment="refunds", release="r2")
    out["overview_refunds_r2"] = desk.dashboards.overview(range=seg, as_of=TEST_NOW).to_json()
    return out


def _old_plain(session, n: int) -> list[Trace]:
    """n old traces nothing points at (no item, not golden)."""
    taken = select(ReviewItem.trace_id).union(select(GoldenExample.trace_id))
    return list(
        session.exec(
            select(Trace)
            .where(col(Trace.ts) < CUTOFF, col(Trace.id).not_in(taken))
            .order_by(Trace.id)
            .limit(n)
        ).scalars()
    )


def protected_ids(session) -> dict[str, set[int]]:
    """Oracle: the old traces each rule protects, straight from the tables."""
    old = select(Trace.id).where(col(Trace.ts) < CUTOFF)
    items = select(ReviewItem.trace_id, ReviewItem.id, ReviewItem.status, ReviewItem.queue).where(
        col(ReviewItem.trace_id).in_(old)
    )
    rows = session.exec(items).all()
    labelled = set(session.exec(select(Label.item_id)).scalars())
    adjudicated = set(session.exec(select(Adjudication.item_id)).scalars())
    old_by_external = dict(
        session.exec(select(Trace.external_id, Trace.id).where(col(Trace.ts) < CUTOFF)).all()
    )
    events = session.exec(
        select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.action, AuditEvent.ts)
    ).all()
    last_run = session.exec(select(func.max(EvalRun.created_at))).scalar_one()
    named_items = {int(e) for entity, e, _, _ in events if entity == "review_item" and e.isdigit()}
    item_traces = dict(session.exec(select(ReviewItem.id, ReviewItem.trace_id)).all())
    old_ids = set(old_by_external.values())
    audit = {
        old_by_external[e]
        for entity, e, _, _ in events
        if entity == "golden_example" and e in old_by_external
    }
    audit |= {item_traces[i] for i in named_items if item_traces.get(i) in old_ids}
    promoted = {
        old_by_external[e]
        for entity, e, action, ts in events
        if action == "golden.promote" and e in old_by_external and last_run is not None and ts <= last_run
    }
    return {
        "eval_run": promoted,
        "audit": audit,
        "review": {t for t, i, s, _ in rows if s in ("open", "adjudication") or i in labelled},
        "adjudication": {t for t, i, _, _ in rows if i in adjudicated},
        "escalation": {t for t, _, _, q in rows if q == "escalation"},
        "golden": set(
            session.exec(select(GoldenExample.trace_id).where(col(GoldenExample.trace_id).in_(old))).scalars()
        ),
    }


@pytest.fixture
def demo(engine):
    build_demo(engine, seed=DEMO_SEED, traces=DEMO_TRACES, password="demo-pass-123")
    return Desk(engine)


def test_prune_keeps_protected_traces_and_every_dashboard_number(demo, engine):
    lead = None
    with session_scope(engine) as session:
        plain = _old_plain(session, 3)
        audited, eval_run, closed = plain
        # a closed item nobody labelled, named by an audit event (a skip): kept for the audit reference
        item = ReviewItem(trace_id=audited.id, status="done", queue="sampled")
        session.add(item)
        session.flush()
        audit.record(
            session, actor=SYSTEM, action="review_item.skip", entity="review_item", entity_id=item.id
        )
        # promoted to the golden set (then removed) before an eval run: that run may have scored it
        audit.record(
            session,
            actor=SYSTEM,
            action="golden.promote",
            entity="golden_example",
            entity_id=eval_run.external_id,
        )
        release = session.exec(select(Release)).scalars().first()
        session.add(
            EvalRun(release_id=release.id, golden_set_version="g", created_at=TEST_NOW + timedelta(hours=1))
        )
        # a closed, unlabelled, never-audited item with an expired lease: deleted with its trace
        lead = make_user(session, role="lead", username="prune-lead")
        closed_item = ReviewItem(trace_id=closed.id, status="done", queue="sampled")
        session.add(closed_item)
        session.flush()
        session.add(
            Assignment(item_id=closed_item.id, reviewer_id=lead.id, expires_at=TEST_NOW, status="expired")
        )
        closed_id, closed_item_id = closed.id, closed_item.id
        audited_id, eval_id = audited.id, eval_run.id
    with read_session(engine) as session:
        oracle = protected_ids(session)
        old_before = session.exec(
            select(func.count()).select_from(Trace).where(col(Trace.ts) < CUTOFF)
        ).scalar_one()
        events_total = session.exec(select(func.count()).select_from(GuardrailEvent)).scalar_one()
    assert all(oracle.values()), oracle  # the demo world has every kind before the cut-off
    before = dashboards(demo)
    costs_before = agreement_costs(engine)

    dry = demo.rollups.prune(actor=SYSTEM, older_than="10d", dry_run=True)
    assert dry.dry_run and dry.cutoff == CUTOFF and dry.pruned_before is None
    with read_session(engine) as session:
        assert (
            session.exec(select(func.count()).select_from(Trace).where(col(Trace.ts) < CUTOFF)).scalar_one()
            == old_before
        )

    report = demo.rollups.prune(actor=SYSTEM, older_than="10d")
    assert report.to_json() | {"dry_run": True, "pruned_before": None} == dry.to_json()
    assert report.cutoff == CUTOFF and report.pruned_before == CUTOFF and report.candidates == old_before
    reasons = {k.reason: k.traces for k in report.kept_by_reason}
    for reason, ids in oracle.items():
        assert reasons[reason] == len(ids), reason
    assert eval_id in oracle["eval_run"] and audited_id in oracle["audit"]
    assert report.deleted_traces == old_before - report.kept > 0
    assert (
        report.deleted_review_items == 1
        and report.deleted_guardrail_events > 0
        and report.deleted_verdicts > 0
    )

    with read_session(engine) as session:
        left = set(session.exec(select(Trace.id).where(col(Trace.ts) < CUTOFF)).scalars())
        assert left == set().union(*oracle.values(), {audited_id, eval_id})
        assert len(left) == report.kept
        assert closed_id not in left
        assert session.get(ReviewItem, closed_item_id) is None
        assert not session.exec(select(Assignment).where(Assignment.item_id == closed_item_id)).all()
        orphans = [
            session.exec(
                select(func.count()).select_from(m).where(col(m.trace_id).not_in(select(Trace.id)))
            ).scalar_one()
            for m in (GuardrailEvent, JudgeVerdict, ReviewItem)
        ]
        assert orphans == [0, 0, 0]
        assert session.exec(select(func.count()).select_from(GuardrailEvent)).scalar_one() == (
            events_total - report.deleted_guardrail_events
        )

    after = dashboards(demo)
    assert agreement_costs(engine) == costs_before  # Agreement's cost figures: from the verdict rollup
    for name in before:
        assert after[name] == before[name], name

    verified = demo.audit.verify(actor=SYSTEM)
    assert verified.ok, verified.problem
    last = demo.audit.events(actor=SYSTEM, action="trace.prune", limit=1)
    assert len(last) == 1 and last[0].actor == "system"

    with pytest.raises(ValidationFailed, match="pruned"):
        demo.rollups.rebuild(actor=SYSTEM, start=datetime(2026, 5, 20).date())
    demo.rollups.rebuild(actor=SYSTEM, start=datetime(2026, 5, 23).date())  # after the cut-off: allowed
    assert dashboards(demo) == before

    again = demo.rollups.prune(actor=SYSTEM, older_than="10d")
    assert again.deleted_traces == 0 and again.kept == report.kept
    with pytest.raises(PermissionDenied):
        demo.rollups.prune(actor=lead, older_than="10d")


@pytest.mark.parametrize(
    ("age", "message"),
    [("90x", "'90x' is not an age"), ("", "is not an age"), ("-3d", "is not an age"), ("0h", "out of range")],
)
def test_bad_age_is_refused_before_anything(sqlite_engine, age, message):
    with pytest.raises(ValidationFailed, match=message):
        Desk(sqlite_engine).rollups.prune(actor=SYSTEM, older_than=age)


def test_setting_gives_the_default_window(sqlite_engine):
    desk = Desk(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        admin = make_user(session, role="admin", username="ada")
        lead = make_user(session, role="lead", username="lee")
        for i, days in enumerate((100, 40, 5)):
            session.add(Trace(external_id=f"t{i}", ts=TEST_NOW - timedelta(days=days, minutes=30)))
    assert desk.rollups.prune(actor=admin, dry_run=True).cutoff == datetime(2026, 3, 3, 12)  # 90 days
    desk.settings.put(actor=lead, key="retention.raw_traces", value={"days": 30})
    report = desk.rollups.prune(actor=admin)
    assert report.cutoff == datetime(2026, 5, 2, 12) and report.deleted_traces == 2
    with pytest.raises(ValidationFailed, match="retention.raw_traces.days"):
        desk.settings.put(actor=lead, key="retention.raw_traces", value={"days": 0})


def test_cli_prune(sqlite_engine):
    url = str(sqlite_engine.url)
    with session_scope(sqlite_engine) as session:
        for i, days in enumerate((100, 40, 5)):
            session.add(Trace(external_id=f"t{i}", ts=TEST_NOW - timedelta(days=days)))
    runner = CliRunner()
    bad = runner.invoke(app, ["--db", url, "prune", "--older-than", "90x"])
    assert bad.exit_code == 2 and "--older-than: '90x' is not an age" in bad.output
    dry = runner.invoke(app, ["--db", url, "prune", "--older-than", "30d", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    payload = json.loads(dry.stdout)
    assert (
        payload["dry_run"] is True
        and payload["deleted_traces"] == 2
        and payload["cutoff"] == "2026-05-02T12:00:00"
    )
    done = runner.invoke(app, ["--db", url, "prune", "--older-than", "30d", "--as-of", "2026-06-01T12:00"])
    assert done.exit_code == 0, done.output
    assert "deleted 2 traces" in done.output and "kept 0" in done.output
    with read_session(sqlite_engine) as session:
        assert session.exec(select(Trace.external_id)).scalars().all() == ["t2"]


def agreement_costs(engine) -> dict[int, dict]:
    with read_session(engine) as session:
        configs = session.exec(select(JudgeConfig)).scalars().all()
        return {c.id: judge_agreement.cost_per_1k(session, config=c) for c in configs}


def test_agreement_cost_per_1k_reads_the_rollup_and_equals_the_raw_verdicts(demo_any_url):
    engine = make_engine(demo_any_url)
    try:
        costs = agreement_costs(engine)
        with read_session(engine) as session:
            for config_id, got in costs.items():
                n, mean, unknown = session.exec(
                    select(
                        func.count(),
                        func.avg(JudgeVerdict.cost_usd),
                        func.count().filter(col(JudgeVerdict.cost_usd).is_(None)),
                    ).where(JudgeVerdict.judge_config_id == config_id, col(JudgeVerdict.error).is_(None))
                ).one()
                assert got["n_verdicts"] == n > 0 and got["n_cost_unknown"] == unknown
                assert got["cost_per_1k_usd"] == pytest.approx(float(mean) * 1000, rel=1e-9, abs=1e-6)
    finally:
        engine.dispose()
