"""desk.dashboards: typed, frozen read models that carry exactly the store queries' numbers; time-dependent
reads take an explicit as_of (default: the desk's clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from review_store.clock import FixedClock
from review_store.dashboards import costs, guardrails, maturity
from review_store.dashboards import overview as kpi_queries
from review_store.db import make_engine, read_session
from review_store.desk import Desk, ValidationFailed
from review_store.desk.dashboard_views import Range
from review_store.permissions import actor_for


@pytest.fixture
def demo_desk_engine(demo_any_url):
    engine = make_engine(demo_any_url)
    yield engine
    engine.dispose()


@pytest.fixture
def desk(demo_desk_engine):
    return Desk(demo_desk_engine)


def _month(desk: Desk, **kw) -> Range:
    last = desk.dashboards.filter_options().last_ts
    end = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return Range(start=end - timedelta(days=30), end=end, **kw)


def test_overview_matches_the_store_queries_and_is_frozen(desk):
    window = _month(desk)
    view = desk.dashboards.overview(range=window, as_of=window.end)
    filters = kpi_queries.Filters(window.start, window.end)
    with read_session(desk.engine) as session:
        expected = kpi_queries.overview_kpis(session, filters)
        budget = costs.budget_status(session, as_of=window.end)
        traces = kpi_queries.trace_count(session, filters)
    assert [(k.key, k.value, k.previous) for k in view.kpis] == [
        (k.key, k.value, k.previous) for k in expected
    ]
    assert view.traces == traces == sum(p.traces for p in view.trend("task_success_rate").points)
    assert view.budget.projected_usd == budget["projected_usd"] and view.budget.as_of == window.end
    assert len(view.trend("p95_latency_ms").points) == 30
    assert {m.metric for m in view.drift.metrics} == {
        "input_length",
        "segment_mix",
        "judge_score",
        "top_retrieval_score",
        "retrieval_precision_at_k",
        "retrieval_recall",
    }
    with pytest.raises(ValidationError):
        view.kpis[0].value = 1.0  # type: ignore[misc]
    assert isinstance(view.kpis, tuple)


def test_budget_and_maturity_default_to_the_desk_clock(demo_desk_engine):
    at = datetime(2026, 5, 20, 9, 0)
    desk = Desk(demo_desk_engine, clock=FixedClock(at))
    assert desk.dashboards.budget().as_of == at
    assert desk.dashboards.budget().period_start == datetime(2026, 5, 1)
    assert desk.dashboards.maturity().as_of == at
    later = desk.dashboards.budget(as_of=datetime(2026, 7, 2))
    assert later.period_start == datetime(2026, 7, 1)


def test_guardrails_view_and_point_drilldown(desk):
    window = _month(desk, segment="refunds")
    view = desk.dashboards.guardrails(range=window, by="name", name="grounding")
    with read_session(desk.engine) as session:
        rows = guardrails.guardrail_rates(
            session,
            filters=kpi_queries.Filters(window.start, window.end, None, "refunds"),
            by="name",
            name="grounding",
        )
    assert [r.model_dump() for r in view.rates] == rows
    assert {(a.name, a.segment) for a in view.anomalies} == {("grounding", "refunds")}
    assert any(m.release == "r2" for m in view.markers)
    point = [r for r in view.rates if r.events][-1]
    events = desk.dashboards.guardrail_point(
        range=window, bucket="day", at=point.bucket, by="name", group=point.group, name="grounding"
    )
    assert len(events) == point.events and {e.name for e in events} == {"grounding"}
    assert "Binomial" in desk.dashboards.anomaly_rule()


def test_drilldown_costs_and_bad_input(desk):
    window = _month(desk)
    drill = desk.dashboards.kpi_drilldown(range=window, key="task_success_rate", limit=5)
    assert len(drill.traces) == 5 and all(t.task_success is False for t in drill.traces)
    assert sum(r.poor for r in drill.by_version) >= 5
    assert any(t.context for t in drill.traces)
    view = desk.dashboards.costs(range=window, by="segment", as_of=window.end)
    assert {r.group for r in view.rows} == {"billing", "technical", "account", "refunds"}
    assert view.budget.budget_usd == 40.0
    for call, message in [
        (lambda: desk.dashboards.kpi_drilldown(range=window, key="nope"), "kpi: 'nope' is not one of"),
        (lambda: desk.dashboards.guardrails(range=window, bucket="month"), "bucket: 'month' is not one of"),
        (lambda: desk.dashboards.costs(range=window, by="tenant"), "by: 'tenant' is not one of"),
        (lambda: desk.dashboards.overview(range=Range(start=window.end, end=window.start)), "range: end"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            call()


def test_maturity_and_the_audited_questionnaire(desk):
    before = desk.dashboards.maturity(as_of=datetime(2026, 6, 1))
    assert before.next_level == before.level + 1 and before.next_steps
    assert {q.key for q in before.questions} == set(maturity.QUESTIONS)
    with read_session(desk.engine) as session:
        lena = actor_for(session, "lena")
    assert desk.dashboards.answer_maturity(actor=lena, answers={"routing_quality_cost": True}) == 1
    assert desk.dashboards.answer_maturity(actor=lena, answers={"routing_quality_cost": True}) == 0
    after = desk.dashboards.maturity(as_of=datetime(2026, 6, 1))
    answered = next(q for q in after.questions if q.key == "routing_quality_cost")
    assert (answered.answer, answered.answered_by) == (True, "lena")
    with pytest.raises(ValidationFailed, match="unknown question"):
        desk.dashboards.answer_maturity(actor=lena, answers={"nope": True})
