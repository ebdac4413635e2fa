"""The dashboards read at a glance: one formatting helper (money at its magnitude, dates without midnight,
human headers), KPI trends visible with release bands, guardrail anomalies on their own series, one label
per release, movers over the last 7 days, and costs over time against the budget."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

from app import formatting
from review_store.desk import Desk
from review_store.desk.dashboard_views import Range
from tests.apptest import open_app, page, plotly_figures


@pytest.mark.parametrize(
    "value,shown",
    [
        (12345.678, "$12,346"),
        (12.345, "$12.35"),
        (0.04213, "$0.042"),
        (0.000812, "$0.00081"),
        (0.0, "$0.00"),
        (-0.0042, "-$0.0042"),
        (None, "—"),
    ],
)
def test_money_is_formatted_for_its_magnitude(value, shown):
    assert formatting.money(value) == shown


def test_a_tiny_cost_delta_is_no_delta_never_minus_zero():
    assert formatting.delta(-0.0000004, "usd", reference=0.0042) is None
    assert formatting.delta(-0.0004, "usd", reference=0.0042) == "-$0.0004"
    assert formatting.delta(0.0004, "usd", reference=0.0042) == "+$0.0004"
    assert formatting.delta(0.0004, "%", reference=0.9) is None
    assert formatting.delta(0.012, "%", reference=0.9) == "+1.2 pp"


def test_money_axis_never_uses_si_prefixes():
    axis = formatting.money_axis([0.0008, 0.0002])
    assert axis == {"tickprefix": "$", "tickformat": ",.4f"}
    assert formatting.money_axis([40.0, 2.7])["tickformat"] == ",.0f"
    assert formatting.money_axis([2.0])["tickformat"] == ",.1f"


def test_column_config_humanises_headers_dates_money_and_shares():
    frame = pd.DataFrame(
        {
            "baseline_rate_per_1k": [1.0],
            "day": [datetime(2026, 11, 30)],
            "ts": [datetime(2026, 11, 30, 14, 5)],
            "cost_usd": [0.0042],
            "cache_hit_rate": [0.5],
            "external_id": ["t1"],
        }
    )
    config = formatting.column_config(frame)
    assert config["baseline_rate_per_1k"]["label"] == "Baseline rate per 1k"
    assert config["day"]["type_config"]["format"] == "YYYY-MM-DD"
    assert config["ts"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert config["cost_usd"]["label"] == "Cost"
    assert config["cost_usd"]["type_config"]["format"] == "$%.4f"
    assert config["cache_hit_rate"]["type_config"]["format"] == "percent"
    assert config["external_id"]["label"] == "Trace ID"
    assert formatting.when(datetime(2026, 11, 30)) == "2026-11-30"


def _open(monkeypatch, url, name):
    at = open_app(monkeypatch, url, "lena")
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def _headers(at) -> dict[str, str]:
    """Every shown table's field -> header, as the page configured them."""
    out = {}
    for frame in at.dataframe:
        for field, config in json.loads(frame.proto.columns).items():
            if "label" in config:
                out[field] = config["label"]
    return out


def test_overview_shows_every_kpi_trend_with_release_bands_and_no_expander(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "overview")
    at.date_input(key="overview_dates").set_value((date(2026, 5, 10), date(2026, 5, 31))).run()
    assert not at.exception, at.exception
    assert not at.expander or all("Daily trend" not in e.label for e in at.expander)
    figures = plotly_figures(at)
    assert len(figures) == len(at.metric) == 6
    for figure in figures:  # each sparkline has values and shows r2's rollout as a band with its name
        assert any(v is not None for v in figure["data"][0]["y"])
        assert any(s["type"] == "rect" for s in figure["layout"]["shapes"])
        assert "r2" in [a["text"] for a in figure["layout"]["annotations"]]
    for metric in at.metric:
        assert "-$0.0000" not in (metric.proto.delta or "")
        assert "µ" not in metric.value
    cost = next(m for m in at.metric if m.label == "Cost per successful task")
    assert cost.value.startswith("$") and not cost.value.startswith("$0.0000")


def test_guardrail_anomalies_sit_on_their_segment_series(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "guardrails")
    figure = plotly_figures(at)[0]
    traces = {t["name"]: t for t in figure["data"]}
    line = traces["grounding in refunds"]
    marks = traces["anomaly: grounding in refunds"]
    on_line = dict(zip(line["x"], line["y"], strict=True))
    assert marks["x"] and all(on_line[x] == y for x, y in zip(marks["x"], marks["y"], strict=True))
    pooled = dict(zip(traces["grounding"]["x"], traces["grounding"]["y"], strict=True))
    assert all(
        y > 1.5 * pooled[x] for x, y in zip(marks["x"], marks["y"], strict=True)
    )  # refunds, not pooled
    assert all(t["name"] != "anomaly" for t in figure["data"])


def test_guardrails_one_label_per_release_that_never_overlap(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "guardrails")
    figure = plotly_figures(at)[0]
    labels = [a for a in figure["layout"]["annotations"] if a.get("yref") == "paper"]
    assert [a["text"] for a in labels] == ["r2 · canary 5%→25%→50%→100%"]
    bands = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert len(bands) == 1 and bands[0]["x0"].startswith("2026-05-18")
    positions = {(a["x"], a.get("yshift")) for a in labels}
    assert len(positions) == len(labels)


def test_guardrail_movers_compare_the_last_seven_days_with_the_seven_before(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "guardrails")
    movers = next(d.value for d in at.dataframe if "rate_before" in d.value.columns)
    assert len(movers) > 0
    assert movers["traces_before"].gt(0).all() and movers["rate_before"].notna().all()
    caption = next(c.value for c in at.caption if c.value.startswith("The last 7 day(s)"))
    assert caption == "The last 7 day(s) of the range (2026-05-25 to 2026-05-31) against the 7 day(s) before."
    assert _headers(at)["rate_before"] == "Rate before (per 1k)"
    assert _headers(at)["baseline_rate_per_1k"] == "Baseline rate per 1k"


def test_movers_window_is_validated_and_optional(demo_db_url):
    desk = Desk.open(demo_db_url)
    window = Range(start=datetime(2026, 5, 25), end=datetime(2026, 6, 1))
    whole = desk.dashboards.guardrails(range=window, movers_days=None)
    assert whole.movers_range.start == datetime(2026, 5, 25)
    from review_store.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="movers_days"):
        desk.dashboards.guardrails(range=window, movers_days=0)


def test_costs_over_time_stack_by_group_with_budget_and_projection(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "costs")
    at.segmented_control(key="costs_by").set_value("model").run()
    assert not at.exception, at.exception
    over_time, burn, *rest = plotly_figures(at)
    assert over_time["layout"]["barmode"] == "stack"
    assert len(over_time["data"]) >= 2 and all(t["type"] == "bar" for t in over_time["data"])
    assert all(len(t["x"]) > 1 for t in over_time["data"])  # a bar per day, never a one-bar chart
    assert over_time["layout"]["yaxis"]["title"]["text"] == "cost per day (USD)"
    assert over_time["layout"]["yaxis"]["tickprefix"] == "$"
    assert "s" not in over_time["layout"]["yaxis"]["tickformat"]
    budget = Desk.open(demo_db_url).dashboards.budget()
    names = [t["name"] for t in burn["data"]]
    assert names[0] == "spent so far" and names[1].startswith("projection (")
    assert names[2] == f"budget {formatting.money(budget.budget_usd)} per {budget.period}"
    assert burn["data"][1]["y"][-1] == pytest.approx(budget.projected_usd)
    assert burn["data"][2]["y"] == [budget.budget_usd, budget.budget_usd]
    assert burn["layout"]["yaxis"]["title"]["text"] == "cumulative spend (USD)"
    for figure in rest:  # cost per successful task: only with two groups or more
        assert len(figure["data"][0]["y"]) >= 2
    assert _headers(at)["cost_per_successful_task_usd"] == "Cost per successful task"
