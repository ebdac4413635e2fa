"""Agreement page on the demo world: correctness trusted-ish, tone untrusted (the demo judge's designed
behaviour), the confusion heatmap equals a pandas crosstab of the raw rows, drill-down and lead tools."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import create_engine

from review_store.desk import Desk
from tests.apptest import open_app, page, plotly_figures


def _open(monkeypatch, url, question, user="lena"):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page("agreement")).run()
    assert not at.exception, at.exception
    at.selectbox(key="agreement_judge").set_value("acme-judge@1")
    at.selectbox(key="agreement_question").set_value(question)
    at.run()
    assert not at.exception, at.exception
    return at


def _tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _crosstab(url: str, question: str) -> pd.DataFrame:
    """Human (each label; an adjudicated answer replaces an item's labels) x judge, from raw rows."""
    engine = create_engine(url)
    labels = pd.read_sql(
        "SELECT l.item_id, i.trace_id, l.answers FROM label l JOIN reviewitem i ON i.id = l.item_id", engine
    )
    adjudications = pd.read_sql("SELECT item_id, answers FROM adjudication", engine)
    verdicts = pd.read_sql(
        "SELECT v.trace_id, v.value FROM judgeverdict v JOIN judgeconfig c ON c.id = v.judge_config_id "
        f"WHERE c.name = 'acme-judge' AND c.version = 1 AND v.question_key = '{question}' AND v.error IS NULL",
        engine,
    )
    engine.dispose()

    def parse(x):
        return json.loads(x) if isinstance(x, str) else x

    labels["human"] = labels["answers"].map(lambda a: parse(a).get(question))
    adjudications["human"] = adjudications["answers"].map(lambda a: parse(a).get(question))
    settled = adjudications.dropna(subset=["human"])
    units = labels[~labels["item_id"].isin(settled["item_id"])][["item_id", "trace_id", "human"]]
    traces = labels.drop_duplicates("item_id").set_index("item_id")["trace_id"]
    settled = settled.assign(trace_id=settled["item_id"].map(traces))[["item_id", "trace_id", "human"]]
    units = pd.concat([units, settled]).dropna(subset=["human"])
    verdicts["judge"] = verdicts["value"].map(lambda v: parse(v))
    both = units.merge(verdicts[["trace_id", "judge"]], on="trace_id")
    table = pd.crosstab(both["human"].astype(int), both["judge"].astype(int))
    return table.reindex(index=range(1, 6), columns=range(1, 6), fill_value=0)


@pytest.mark.parametrize(
    "question,expected,evidence", [("correctness", "trusted", "yes"), ("tone", "untrusted", "no")]
)
def test_verdicts_and_confusion_matrix(monkeypatch, demo_any_url, question, expected, evidence):
    at = _open(monkeypatch, demo_any_url, question)
    tiles = _tiles(at)
    assert tiles["Verdict"] == expected and tiles["Release evidence"] == evidence, tiles
    trust = Desk.open(demo_any_url).agreement.trust(judge="acme-judge@1", question=question)
    assert (trust.verdict, trust.trusted) == (expected, evidence == "yes")
    assert any(trust.reason in c.value for c in at.caption)
    assert tiles["Reference alpha"] == f"{trust.alpha:.3f}"
    assert tiles["Human ceiling"] != "—"
    at.selectbox(key="agreement_human").set_value("each").run()  # every label its own unit
    assert not at.exception, at.exception
    assert _tiles(at)["Verdict"] == expected  # the pairing shown never changes the verdict
    heatmap = next(f for f in plotly_figures(at) if f["data"][0]["type"] == "heatmap")
    shown = pd.DataFrame(heatmap["data"][0]["z"]).astype(int)
    expected_table = _crosstab(demo_any_url, question)
    assert shown.to_numpy().tolist() == expected_table.to_numpy().tolist()
    assert shown.to_numpy().sum() > 300


def test_drill_down_reviewer_quality_and_version_without_verdicts(monkeypatch, demo_db_url):
    from review_store.desk import SYSTEM

    desk = Desk.open(demo_db_url)  # a new version that has judged nothing yet
    v1 = desk.judge.get(config="acme-judge@1")
    desk.judge.create(actor=SYSTEM, name="acme-judge", model="openai/gpt-4o-2024-08-06", rubric=v1.rubric)
    at = _open(monkeypatch, demo_db_url, "tone")
    codes = [c.value for c in at.code]
    assert any("tone" in c and "/5" in c for c in codes)  # the judge's rationale of the opened trace
    frames = [df.value for df in at.dataframe]
    assert any("mean_abs_diff" in f.columns and set(f["reviewer"]) >= {"rita", "raj"} for f in frames)
    at.selectbox(key="agreement_judge").set_value("acme-judge@3").run()
    assert not at.exception
    assert any("no verdicts on labelled traces" in i.value for i in at.info)


def test_run_judge_explains_missing_provider_key(monkeypatch, demo_db_url):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = _open(monkeypatch, demo_db_url, "correctness")
    assert any("OPENAI_API_KEY" in w.value for w in at.warning)
    assert at.button(key="agreement_run").disabled


def test_settings_judges_tab_creates_the_next_version(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception, at.exception
    listed = next(df.value for df in at.dataframe if "verdicts_ok" in df.value.columns)
    assert {"acme-judge@1", "acme-judge@2"} <= set(listed["config"])
    at.selectbox(key="judge_base").set_value("acme-judge").run()
    at.text_input(key="judge_model").input("openai/gpt-4o")
    at.button(key="FormSubmitter:judge_config-Save judge config").click().run()
    assert not at.exception, at.exception
    assert any("Saved acme-judge@3" in s.value for s in at.success)
    saved = Desk.open(demo_db_url).judge.get(config="acme-judge")
    assert (saved.config, saved.model) == ("acme-judge@3", "openai/gpt-4o")


def test_trend_and_comparison_are_computed_when_toggled_on(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "correctness")
    assert not any("n_common_items" in c.value or "judged by both" in c.value for c in at.caption)
    at.toggle(key="agreement_trend_on").set_value(True)
    at.toggle(key="agreement_compare_on").set_value(True)
    at.run()
    assert not at.exception, at.exception
    trend = next(df.value for df in at.dataframe if "cost_per_1k_usd" in df.value.columns)
    assert list(trend["config"]) == ["acme-judge@1", "acme-judge@2"]
    assert any("labelled items judged by both configs" in c.value for c in at.caption)
