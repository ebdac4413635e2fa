"""The README's benchmark table, rendered from bench/results.json (`python -m bench.report`).

A test checks that the README holds exactly this text, so the table and the file cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"


def _fmt(value) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:g}"


def render(results: dict) -> str:
    lines = [
        BEGIN,
        f"Measured on {results['machine']} at {results['traces']:,} traces (`make bench`, `bench/results.json`).",
        "",
        "| measure | value (worst) | target | met |",
        "|---|---|---|---|",
    ]
    for key, check in results["checks"].items():
        lines.append(
            f"| `{key}` | {_fmt(check['worst'])} | {check['target']} | {'yes' if check['met'] else '**no**'} |"
        )
    lines += [
        "",
        f"Ingest: {results['ingest_rows_per_s']:,} rows/s through `review-desk ingest` against a floor of "
        f"{results['ingest_floor_rows_per_s']:,} rows/s (orjson + `sqlite3.executemany` into the same tables and "
        f"indexes, one transaction). Queue: `next_item` p50 {results['next_item_ms_p50']} ms, "
        f"p95 {results['next_item_ms_p95']} ms with 100,000 open items.",
        "",
        "<details><summary>Every page and dashboard query</summary>",
        "",
        "| page@role | first render (s) |",
        "|---|---|",
    ]
    lines += [f"| {page} | {_fmt(seconds)} |" for page, seconds in results["page_render_s"].items()]
    backends = list(results["dashboard_query_ms"])
    lines += [
        "",
        "| query | " + " | ".join(f"{b} (ms)" for b in backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    queries = results["dashboard_query_ms"][backends[0]]
    for query in queries:
        cells = " | ".join(_fmt(results["dashboard_query_ms"][b].get(query)) for b in backends)
        lines.append(f"| {query} | {cells} |")
    lines += ["", "</details>", END]
    return "\n".join(lines)


def main() -> None:
    print(render(json.loads(RESULTS.read_text())))


if __name__ == "__main__":
    sys.exit(main())
