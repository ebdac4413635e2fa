"""AppTest: the dashboard pages render for a lead on the demo world; drill-downs list the traces behind a point."""

from __future__ import annotations

import pytest

from review_store.desk import Desk
from tests.apptest import open_app, page, plotly_figures


@pytest.mark.parametrize(
    "name,title",
    [("overview", "Overview"), ("guardrails", "Guardrails"), ("costs", "Costs"), ("maturity", "Maturity")],
)
def test_page_renders_for_a_lead(monkeypatch, demo_db_url, name, title):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    assert at.title[0].value == title
    if name != "maturity":
        assert plotly_figures(at)


def test_guardrails_drilldown_lists_the_traces_behind_a_point(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("guardrails")).run()
    at.selectbox(key="guardrails_segment").set_value("refunds")
    at.selectbox(key="gr_name").set_value("grounding")
    at.run()
    assert not at.exception
    point = at.selectbox(key="gr_point")
    events = int(point.format_func(point.value).split("·")[2].split()[0])
    table = at.dataframe[
        [i for i, d in enumerate(at.dataframe) if {"external_id", "name"} <= set(d.value.columns)][0]
    ]
    assert len(table.value) == events > 0
    assert set(table.value["name"]) == {"grounding"} and set(table.value["segment"]) == {"refunds"}
    figure = plotly_figures(at)[0]
    assert any(s.get("name") == "grounding" for s in figure["data"])
    assert any("r2" in (a.get("text") or "") for a in figure["layout"].get("annotations", []))


def test_overview_drilldown_shows_prompt_version_model_and_context(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.selectbox(key="overview_drill").set_value("task_success_rate")
    at.run()
    assert not at.exception
    versions = [d.value for d in at.dataframe if "poor_share" in d.value.columns][0]
    assert {"prompt_version", "model"} <= set(versions.columns) and versions["poor"].sum() > 0
    assert any(c.value.startswith("prompt ") for c in at.caption)
    assert any(c.value.startswith("Context ") for c in at.caption)
    assert len(plotly_figures(at)) == 6  # one sparkline per KPI


def test_lead_answers_the_questionnaire(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("maturity")).run()
    at.radio(key="mat_q_routing_quality_cost").set_value("yes")
    at.button[0].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Answers saved and audited."]
    answers = {q.key: q for q in Desk.open(demo_db_url).dashboards.maturity().questions}
    assert (answers["routing_quality_cost"].answer, answers["routing_quality_cost"].answered_by) == (
        True,
        "lena",
    )
    assert at.radio(key="mat_q_routing_quality_cost").value == "yes"


def test_cli_dashboards(demo_db_url):
    import json

    from typer.testing import CliRunner

    from review_store.cli import app

    runner = CliRunner()
    gr = runner.invoke(app, ["--db", demo_db_url, "--json", "guardrails", "--segment", "refunds"])
    assert gr.exit_code == 1  # the r2 grounding anomaly fails the check
    payload = json.loads(gr.output)
    assert {(a["name"], a["segment"]) for a in payload["anomalies"]} == {("grounding", "refunds")}
    # As of the demo world's end (the suite pins its clock, so the fixture's world ends 2026-06-01).
    mat = runner.invoke(app, ["--db", demo_db_url, "--json", "maturity", "--as-of", "2026-06-01"])
    assert mat.exit_code == 0 and json.loads(mat.output)["level"] == 3
    bad = runner.invoke(app, ["--db", demo_db_url, "guardrails", "--bucket", "month"])
    assert bad.exit_code == 2 and "bucket: 'month' is not one of hour, day, week" in bad.output
    bad_date = runner.invoke(app, ["--db", demo_db_url, "costs", "--as-of", "June 1st"])
    assert bad_date.exit_code == 2 and "--as-of: 'June 1st' is not an ISO 8601 date" in bad_date.output


def test_cli_dashboards_as_of(demo_db_url):
    """--as-of pins the desk's clock: the budget period, maturity's review weeks, and the default range end."""
    import json

    from typer.testing import CliRunner

    from review_store.cli import app

    runner = CliRunner()
    costs = runner.invoke(app, ["--db", demo_db_url, "--json", "costs", "--as-of", "2026-05-20T12:00"])
    payload = json.loads(costs.output)
    assert payload["budget"]["as_of"] == "2026-05-20T12:00:00"
    assert payload["budget"]["period_start"] == "2026-05-01T00:00:00"
    assert payload["range"]["end"] == "2026-05-20T12:00:00"
    assert costs.exit_code == (1 if payload["budget"]["alert"] else 0)
    early = json.loads(
        runner.invoke(app, ["--db", demo_db_url, "--json", "maturity", "--as-of", "2026-01-01"]).output
    )
    assert early["as_of"] == "2026-01-01T00:00:00"
    cadence = next(c for c in early["criteria"] if c["key"] == "review_cadence")
    assert cadence["evidence"] == "labels in 0 of the last 4 weeks" and not cadence["met"]
    drift = runner.invoke(app, ["--db", demo_db_url, "--json", "drift", "--as-of", "2026-05-25"])
    assert json.loads(drift.output)["end"] == "2026-05-25T00:00:00"


def test_costs_page_shows_the_facades_budget_and_rows(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("costs")).run()
    assert not at.exception, at.exception
    budget = Desk.open(demo_db_url).dashboards.budget()  # as of the (pinned) clock, as the page
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Spent this {budget.period}"] == f"${budget.spent_usd:,.2f}"
    assert metrics["Projected"] == f"${budget.projected_usd:,.2f}"
    assert metrics["Budget"] == f"${budget.budget_usd:,.2f}"
    at.segmented_control(key="costs_by").set_value("segment").run()
    assert not at.exception
    table = [d.value for d in at.dataframe if "cost_usd" in d.value.columns][0]
    assert set(table["segment"]) == {"billing", "technical", "account", "refunds"}
