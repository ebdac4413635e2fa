"""Every store read a dashboard page runs, by name, as callables (session, filters) for the benchmark.

Arguments are what the pages pass by default: the filter bar's 7-day window (`filters`), day buckets, the
groundedness judge looked up once (as the Overview does),
the drill-down of the first KPI, the newest chart point, the Agreement page's default judge/question.
"""

from __future__ import annotations

from datetime import timedelta

from review_store import judge, settings
from review_store.dashboards import costs, drift, guardrails, maturity, trends
from review_store.dashboards import overview as dashboards
from review_store.judge import agreement as ja
from review_store.judge import agreement_views as views
from review_store.permissions import actor_for

JUDGE, OTHER_JUDGE, QUESTION = "acme-judge@1", "acme-judge@2", "correctness"


def _month(f: dashboards.Filters) -> dashboards.Filters:
    """The Guardrails and Costs pages default to 30 days."""
    return dashboards.Filters(f.end - timedelta(days=30), f.end, f.release, f.segment)


def _newest_point(s, f):
    f = _month(f)
    rows = guardrails.guardrail_rates(s, filters=f, bucket="day", by="name")
    point = [r for r in rows if r["events"]][-1]
    return guardrails.guardrail_traces(
        s, filters=f, bucket="day", at=point["bucket"], by="name", group=point["group"]
    )


_JUDGE_IDS: dict[str, int | None] = {}


def _judge_id(s) -> int | None:
    """The Overview looks the groundedness judge up once per render (its own line below) and passes it on."""
    url = str(s.get_bind().url)
    if url not in _JUDGE_IDS:
        _JUDGE_IDS[url] = dashboards.groundedness_judge_id(s)
    return _JUDGE_IDS[url]


OVERVIEW = {
    "filter_options": lambda s, f: dashboards.filter_options(s),
    "groundedness_judge": lambda s, f: dashboards.groundedness_judge_id(s),
    "overview_kpis": lambda s, f: dashboards.overview_kpis(s, f, judge_id=_judge_id(s)),
    "kpi_trends": lambda s, f: trends.kpi_trends(s, f, bucket="day", judge_id=_judge_id(s)),
    "drift_report": lambda s, f: drift.drift_report(s, end=f.end, judge_id=_judge_id(s)),
    "drift_settings": lambda s, f: settings.get(s, "drift.psi"),
    "budget_status": lambda s, f: costs.budget_status(s, as_of=f.end),
    "kpi_drilldown": lambda s, f: trends.kpi_drilldown(
        s, filters=f, key="task_success_rate", limit=100, judge_id=_judge_id(s)
    ),
    "kpi_drilldown_hallucination": lambda s, f: trends.kpi_drilldown(
        s, filters=f, key="hallucination_rate", limit=100, judge_id=_judge_id(s)
    ),
    "traces_in": lambda s, f: dashboards.traces_in(s, f, limit=200),
}
GUARDRAILS = {
    "guardrail_options": lambda s, f: guardrails.guardrail_options(s),
    "guardrail_rates": lambda s, f: guardrails.guardrail_rates(s, filters=_month(f), bucket="day", by="name"),
    "deploy_markers": lambda s, f: guardrails.deploy_markers(s, start=_month(f).start, end=f.end),
    "guardrail_anomalies": lambda s, f: guardrails.guardrail_anomalies(s, filters=_month(f)),
    "guardrail_changes": lambda s, f: guardrails.guardrail_changes(s, filters=_month(f), by="name"),
    "guardrail_traces": _newest_point,
}
COSTS = {
    "cost_breakdown": lambda s, f: costs.cost_breakdown(s, filters=_month(f), by="feature"),
}
MATURITY = {
    "maturity_assess": lambda s, f: maturity.assess(s, as_of=f.end),
    "maturity_answers": lambda s, f: maturity.latest_answers(s),
}
AGREEMENT = {
    "judge_configs": lambda s, f: judge.list_judge_configs(s),
    "agreement_segments": lambda s, f: ja.segments(s),
    "judge_vs_human": lambda s, f: ja.judge_vs_human(s, judge=JUDGE, question=QUESTION, human="each"),
    "judge_trust": lambda s, f: ja.judge_trust(s, judge=JUDGE, question=QUESTION),
    "version_trend": lambda s, f: views.version_trend(s, judge=JUDGE, question=QUESTION),
    "disagreements": lambda s, f: views.disagreements(s, judge=JUDGE, question=QUESTION, limit=100),
    "compare_configs": lambda s, f: views.compare_configs(s, a=JUDGE, b=OTHER_JUDGE, question=QUESTION),
    "agreement_by_segment": lambda s, f: views.by_segment(s, judge=JUDGE, question=QUESTION),
    "reviewer_quality": lambda s, f: views.reviewer_quality(s, actor=actor_for(s, "lena"), question=QUESTION),
}

ALL = {**OVERVIEW, **GUARDRAILS, **COSTS, **MATURITY, **AGREEMENT}
