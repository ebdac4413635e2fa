"""Costs at ingest: a reported cost is kept, a missing one is computed from model and tokens with litellm's
bundled price map (offline), an unknown model stays unknown; the Costs page shows the split."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import orjson
import pytest

from app import formatting
from review_store.desk import SYSTEM, Desk
from review_store.desk.dashboard_views import Range
from review_store.ingest import costs
from tests.apptest import open_app, page

T0 = datetime(2026, 5, 30, 9, 0)


def test_litellm_price_map_prices_known_models_and_not_unknown_ones():
    assert costs.compute("gpt-4o-mini", 1000, 100) == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6, rel=1e-12)
    assert costs.compute("gpt-4o-mini", 0, 0) is None  # no tokens: nothing to price
    assert costs.compute("", 10, 10) is None
    assert costs.compute("acme-private-model-7", 1000, 100) is None
    # a model with a token tier (above 200k tokens) is priced by litellm on each call, exactly
    small = costs.compute("gemini/gemini-2.5-pro", 1000, 1000)
    large = costs.compute("gemini/gemini-2.5-pro", 300_000, 0)
    assert small == pytest.approx(1000 * 1.25e-6 + 1000 * 10e-6, rel=1e-9)
    assert large == pytest.approx(300_000 * 2.5e-6, rel=1e-9)


def test_file_ingest_marks_reported_and_computed_costs_and_the_split_is_on_the_facade(db_url, tmp_path):
    desk = Desk.open(db_url)
    records = [
        {"trace_id": "rep", "cost_usd": 0.25, "model": "gpt-4o-mini", "tokens_in": 10, "tokens_out": 5},
        {"trace_id": "comp", "model": "gpt-4o-mini", "tokens_in": 1000, "tokens_out": 100},
        {"trace_id": "unk", "model": "acme-private-model-7", "tokens_in": 1000, "tokens_out": 100},
        {"trace_id": "none"},
    ]
    path = tmp_path / "traces.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"timestamp": T0.isoformat(), "input": "q", "output": "a", **r}) + b"\n"
            for r in records
        )
    )
    report = desk.ingest.import_file(actor=SYSTEM, path=path)
    assert report.ok and report.inserted == 4
    preview = {r.external_id: r.cost_usd for r in desk.ingest.preview(actor=SYSTEM, path=path).rows}
    assert preview["comp"] == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6, rel=1e-12)
    split = {
        r.source: r
        for r in desk.dashboards.cost_sources(
            range=Range(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
        )
    }
    assert [split[s].traces for s in ("reported", "computed", "unknown")] == [1, 1, 2]
    assert split["reported"].cost_usd == 0.25
    assert split["computed"].cost_usd == pytest.approx(preview["comp"], rel=1e-12)
    assert split["unknown"].cost_usd == 0.0
    again = desk.ingest.import_file(actor=SYSTEM, path=path)
    assert again.inserted == 0 and again.unchanged == 4 and again.existing_changed == 0
    desk.engine.dispose()


def test_costs_page_shows_reported_and_computed_spend(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("costs")).run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Cost reported by the sources"))
    found = re.fullmatch(
        r"Cost reported by the sources: \$[\d,.]+ \(([\d,]+) traces\) · computed from model and tokens with "
        r"litellm's price map: (\S+) \(([\d,]+) traces\) · unknown: ([\d,]+) traces",
        caption,
    )
    assert found, caption
    reported, computed_usd, computed, unknown = found.groups()
    assert int(reported.replace(",", "")) > 0  # the demo's traffic reports its costs
    assert (computed_usd, computed, unknown) == (formatting.money(0.0), "0", "0")
