"""Hourly rollups: what every dashboard reads instead of raw traces.

Four tables (rollups/tables.py), each keyed by the hour and the dimensions the dashboards split by:
- rolluptraffic: hour x app x segment x release x model x prompt version -> traces, successes, tokens,
  cost (integer nano-dollars, so sums are exact and independent of order), cache hits, latencies known;
- rollupguardrail: hour x segment x release x guardrail name x stage x action -> events;
- rollupverdict: hour (of the judged trace) x segment x release x judge config x question x score ->
  successful verdicts and their cost;
- rollupvalue: hour x segment x release x metric x bucket -> traces, the histograms behind p95 latency
  (log buckets) and drift (input length in characters, top retrieval score at 0.001).

They are maintained in the same transaction as the raw write (`rollups.maintain`: ingest, its --update,
the judge, the demo) and can be rebuilt from the raw rows (`rollups.rebuild`), which gives identical rows
because both paths use the same Python functions and integer sums. Reads: `rollups.read`.
"""
