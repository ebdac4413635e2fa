"""The README's benchmark table is exactly what bench/results.json says."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report

ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_matches_results_json():
    results = json.loads(report.RESULTS.read_text())
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(report.BEGIN), readme.index(report.END) + len(report.END)
    assert readme[start:end] == report.render(results)


def test_results_json_has_every_measure_the_issue_asks_for():
    results = json.loads(report.RESULTS.read_text())
    keys = {
        "ingest_rows_per_s",
        "ingest_floor_rows_per_s",
        "ingest_vs_floor",
        "next_item_ms_p50",
        "next_item_ms_p95",
        "page_render_s",
        "agreement_s",
        "agreement_continuous_s",
        "dashboard_query_ms",
        "peak_rss_mb",
    }
    assert keys <= set(results)
    assert {"lead", "owner", "reviewer"} <= {name.split("@")[1] for name in results["page_render_s"]}
    assert "sqlite" in results["dashboard_query_ms"]
