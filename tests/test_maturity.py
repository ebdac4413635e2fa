"""Maturity from evidence: worlds that sit exactly at levels 0-4, the demo world's level, the audited questionnaire."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from review_store import settings
from review_store.dashboards import maturity
from review_store.db import read_session, session_scope
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.models import (
    Approval,
    AuditEvent,
    Deployment,
    GatePolicy,
    JudgeConfig,
    JudgeRun,
    JudgeVerdict,
    Label,
    Release,
    ReviewItem,
    Rubric,
    Trace,
)
from review_store.permissions import SYSTEM
from review_store.rollups.maintain import add_verdicts
from review_store.rollups.rebuild import rebuild
from tests.factories import make_trace, make_user

AS_OF = datetime(2026, 3, 1)


def build(session, level: int) -> None:
    """Evidence for exactly `level`: everything up to it, and one criterion of the next level missing too."""
    if level == 0:
        make_trace(session, ts=AS_OF - timedelta(days=1), tokens_in=None, cost_usd=None)
        return
    lead = make_user(session, role="lead")
    for i in range(3):
        make_trace(session, ts=AS_OF - timedelta(days=i + 1), model="m-small", cache_hit=False)
    if level == 1:
        return
    session.add(
        Release(name="r1", manifest={"prompts": {"version": "v1"}}, manifest_hash="h", author_id=lead.id)
    )
    rubric = Rubric(name="r", questions=[], content_hash="h")
    session.add(rubric)
    session.flush()
    judge = JudgeConfig(name="j", model="m", rubric_id=rubric.id, content_hash="h")
    session.add(judge)
    session.flush()
    trace = make_trace(session, ts=AS_OF - timedelta(days=1), model="m-small")
    verdict = JudgeVerdict(trace_id=trace.id, judge_config_id=judge.id, question_key="q", value=4, score=4.0)
    session.add(verdict)
    add_verdicts(session.connection(), [verdict.model_dump()])  # as the judge does
    policy = GatePolicy(version=1, thresholds=[], content_hash="h")
    session.add(policy)
    session.flush()
    settings.put(session, actor=lead, key="cost.budget", value={"usd": 100.0})
    if level == 2:
        return
    make_trace(session, ts=AS_OF - timedelta(days=1), model="m-large", cache_hit=True)
    release = session.exec(Release.__table__.select()).first()
    session.add(
        Approval(
            release_id=release.id,
            approver_id=lead.id,
            decision="approved",
            evidence_hash="e",
            gate_policy_id=policy.id,
        )
    )
    session.add(Deployment(release_id=release.id, kind="canary", stage_pct=5))
    if level == 3:
        return
    session.add(JudgeRun(judge_config_id=judge.id, scheduled=True))
    item = ReviewItem(trace_id=trace.id)
    session.add(item)
    session.flush()
    for week in range(3):
        reviewer = make_user(session, role="reviewer")
        session.add(
            Label(
                item_id=item.id,
                reviewer_id=reviewer.id,
                rubric_id=rubric.id,
                created_at=AS_OF - timedelta(days=7 * week + 1),
            )
        )
    settings.put(session, actor=lead, key="rollback.rule", value={"mode": "auto"})
    for key in maturity.QUESTIONS:
        maturity.answer(session, actor=lead, question_key=key, value=True)


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_world_sits_exactly_at_level(engine, level):
    with session_scope(engine) as session:
        build(session, level)
    with read_session(engine) as session:
        report = maturity.assess(session, as_of=AS_OF)
    assert report.level == level, [(c.key, c.met, c.evidence) for c in report.criteria]
    assert report.name == maturity.LEVELS[level]
    assert all(c.met for c in report.criteria if c.level <= level)
    if level < 4:
        assert any(not c.met for c in report.criteria if c.level == level + 1)
        assert report.next_steps and all(report.next_steps)
    for c in report.criteria:
        assert c.evidence and (c.met or c.missing)


def test_a_higher_level_does_not_count_without_the_lower_one(engine):
    with session_scope(engine) as session:
        build(session, 4)
        for trace in session.exec(select(Trace)).all():
            trace.latency_ms = None  # level 1 evidence gone
        session.flush()
        rebuild(session.connection())  # raw rows changed behind the writers' back: rebuild their rollups
    with read_session(engine) as session:
        report = maturity.assess(session, as_of=AS_OF)
    assert report.level == 0
    assert sum(c.met for c in report.criteria if c.level >= 2) == 13


def test_demo_world_is_level_3_with_evidence(demo_engine):
    with read_session(demo_engine) as session:
        end = session.exec(select(func.max(Label.created_at))).one()
        report = maturity.assess(
            session, as_of=end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
        )
    by_key = {c.key: c for c in report.criteria}
    assert report.level == 3 and report.name == "optimized"
    assert by_key["models_routed"].evidence == "2 model(s) serve traffic"
    assert by_key["gates_enforced"].evidence == "2 of 2 approvals reference a gate policy"
    assert by_key["canary_stages"].evidence == "6 partial canary stage(s)"
    assert (
        not by_key["auto_rollback"].met and by_key["auto_rollback"].evidence == "rollback rule mode: suggest"
    )
    assert not by_key["routing_quality_cost"].met
    assert "Switch the rollback rule to automatic." in report.next_steps


def test_questionnaire_is_audited_and_lead_only(engine):
    with session_scope(engine) as session:
        lead, owner = make_user(session, role="lead"), make_user(session, role="owner")
        maturity.answer(
            session, actor=lead, question_key="routing_quality_cost", value=True, note="router v2"
        )
        maturity.answer(session, actor=lead, question_key="routing_quality_cost", value=False)
        with pytest.raises(PermissionDenied):
            maturity.answer(session, actor=owner, question_key="routing_quality_cost", value=True)
        with pytest.raises(ValidationFailed, match="unknown question"):
            maturity.answer(session, actor=SYSTEM, question_key="nope", value=True)
    with read_session(engine) as session:
        assert maturity.latest_answers(session)["routing_quality_cost"]["value"] is False
        actors = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "maturity.answer")).all()
    assert actors == [lead.username, lead.username]
