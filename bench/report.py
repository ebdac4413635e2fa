"""The README's benchmark table, rendered from bench/results.json (`python -m bench.report [--write]`).

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


def _agreement_line(results: dict) -> str:
    continuous = results.get("agreement_continuous_s") or {}
    cpu = results.get("agreement_continuous_cpu_s") or {}
    per_level = ", ".join(
        f"{level} {_fmt(seconds)} s" + (f" ({_fmt(cpu[level])} s CPU)" if level in cpu else "")
        for level, seconds in continuous.items()
    )
    return (
        f"Agreement (`python -m bench.agreement`): 100,000 items x 3 raters on a 1-5 scale, ordinal, 1,000 "
        f"bootstrap resamples: {_fmt(results.get('agreement_s'))} s. 1,000,000 continuous ratings (333,334 "
        f"items x 3 raters, ~890,000 distinct values), exact alpha + 1,000-resample CI + kappa per level: "
        f"{per_level or '—'}; the four levels in one `summarize_levels` call (one set of Poisson resample "
        f"weights): {_fmt(results.get('agreement_continuous_all_levels_s'))} s "
        f"({_fmt(results.get('agreement_continuous_all_levels_cpu_s'))} s CPU) "
        f"({results.get('agreement_continuous_check', 'not run')}; load average "
        f"{_fmt(results.get('agreement_load'))} on the machine during the run)."
    )


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
        f"indexes, one transaction)." + (f" {results['ingest_note']}" if results.get("ingest_note") else ""),
        "",
        f"Queue (`python -m bench.claim`): a claim (`next_item`, lease written) with 100,000 open items "
        f"sampled just before, no manual ANALYZE: SQLite p50 {results['next_item_ms_p50']} ms, "
        f"p95 {results['next_item_ms_p95']} ms; PostgreSQL p50 {_fmt(results.get('next_item_ms_p50_pg'))} ms, "
        f"p95 {_fmt(results.get('next_item_ms_p95_pg'))} ms. 16 reviewer processes claiming and labelling "
        f"for {_fmt(results.get('claim_seconds'))} s (4,000 items, overlap 2): "
        f"{_fmt(results.get('claim_labels_per_s_sqlite'))} labels/s on SQLite, "
        f"{_fmt(results.get('claim_labels_per_s_pg'))} on PostgreSQL; afterwards no item over k labels, no "
        "reviewer twice on an item, every stored label accounted for."
        + (f" {results['claim_note']}" if results.get("claim_note") else ""),
        "",
        _otlp_line(results),
        "",
        _agreement_line(results),
        *_scale_lines(results),
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


def _pool(results: dict) -> str:
    pool = results.get("otlp_http_pool_batches")
    if not pool:
        return ""
    return f" (each process builds {pool} batches of SDK spans once and re-exports them with fresh ids)"


def _worst(values: dict, op: str):
    found = [v for v in values.values() if v is not None]
    return None if not found else (min if op == ">=" else max)(found)


def _scale_lines(results: dict) -> list[str]:
    """The 10M table (`make bench BENCH_ARGS="--traces 10000000"`, bench/scale.py), when it was run."""
    if "dashboard_query_ms_1m" not in results:
        return []
    backends = list(results["dashboard_query_ms_1m"])
    lines = [
        "",
        'Scale (`make bench BENCH_ARGS="--traces 10000000"`, bench/scale.py): the demo world at 1,000,000 '
        "traces, then multiplied in place to 10,000,000 by the fast path; worst over every dashboard read.",
        "",
        "| measure | " + " | ".join(backends) + " | target |",
        "|---|" + "---|" * len(backends) + "---|",
    ]
    rows = [
        ("dashboard_query_ms at 1M", "dashboard_query_ms_1m", "<=", None),
        ("dashboard_query_ms at 10M", "dashboard_query_ms_10m", "<=", 100),
        ("dashboard_growth_10x", "dashboard_growth_10x", "<=", 1.5),
        ("page_render_s at 10M", "page_render_s_10m", "<=", 1.0),
    ]
    for label, key, op, target in rows:
        cells = []
        for b in backends:
            if key == "dashboard_growth_10x" and b in results.get("scale_growth_not_comparable", ()):
                cells.append("not comparable: 1M and 10M timed at different loads (see (7))")
                continue
            worst = _worst((results.get(key) or {}).get(b) or {}, op)
            met = (
                "" if target is None or worst is None else (" (met)" if worst <= target else " (**not met**)")
            )
            cells.append(_fmt(worst) + met)
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {'' if target is None else f'{op} {target}'} |"
        )
    per_trace = results.get("bytes_per_trace") or {}
    lines.append(
        "| bytes_per_trace at 10M | " + " | ".join(_fmt(per_trace.get(b)) for b in backends) + " | |"
    )
    lines.append(
        f"| ingest_vs_floor (rollups on, 1M, SQLite) | {_fmt(results.get('ingest_vs_floor'))}"
        + " |" * (len(backends) - 1)
        + " | >= 0.8 |"
    )
    if results.get("scale_note"):
        lines += ["", results["scale_note"]]
    lines += ["", "<details><summary>Every dashboard query at 1M and 10M, growth</summary>", ""]
    lines.append(
        "| query | " + " | ".join(f"{b} 1M (ms) | {b} 10M (ms) | {b} growth" for b in backends) + " |"
    )
    lines.append("|---|" + "---|---|---|" * len(backends))
    for query in results["dashboard_query_ms_1m"][backends[0]]:
        cells = []
        for b in backends:
            for key in ("dashboard_query_ms_1m", "dashboard_query_ms_10m", "dashboard_growth_10x"):
                cells.append(_fmt(((results.get(key) or {}).get(b) or {}).get(query)))
        lines.append(f"| {query} | " + " | ".join(cells) + " |")
    steps = results.get("scale_steps_s") or {}
    loads = results.get("scale_load") or {}
    lines += ["", "| step | seconds | load average after |", "|---|---|---|"]
    lines += [f"| {step} | {_fmt(sec)} | {loads.get(step, '')} |" for step, sec in steps.items()]
    lines += ["", "</details>"]
    return lines


def _otlp_line(results: dict) -> str:
    if results.get("otlp_http_spans_per_s") is None:
        return "OTLP over HTTP (`python -m bench.otlp`): not measured yet."
    return (
        f"OTLP over HTTP (`python -m bench.otlp`): {results['otlp_http_spans']:,} GenAI spans sent by the "
        f"OpenTelemetry SDK's OTLP/HTTP exporter from {results['otlp_http_clients']} processes in batches of "
        f"{results['otlp_http_batch']:,}{_pool(results)} to `review-desk api` on the same machine (SQLite, every span's cost "
        f"computed): {results['otlp_http_spans_per_s']:,} spans/s acknowledged, one export call p50 "
        f"{_fmt(results['otlp_http_batch_ms_p50'])} ms, p99 {_fmt(results['otlp_http_batch_ms_p99'])} ms; "
        f"`review-desk ingest` of as many JSONL records in the same run: {results['otlp_ingest_rows_per_s']:,} "
        f"rows/s ({results['otlp_machine']}). CPU per span: the receiver "
        f"{_fmt(results.get('otlp_http_server_cpu_us_per_span'))} µs, the SDK exporters "
        f"{_fmt(results.get('otlp_http_client_cpu_us_per_span'))} µs."
        + (f" {results['otlp_note']}" if results.get("otlp_note") else "")
    )


README = RESULTS.parent.parent / "README.md"


def write_readme(readme: Path = README) -> None:
    """Replace the README's table (between the markers) with the one rendered from results.json."""
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + render(json.loads(RESULTS.read_text())) + text[end:])


def main() -> None:
    if "--write" in sys.argv[1:]:
        write_readme()
        print(f"updated {README}")
    else:
        print(render(json.loads(RESULTS.read_text())))


if __name__ == "__main__":
    sys.exit(main())
