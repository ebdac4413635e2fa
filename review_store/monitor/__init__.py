"""Behavioural monitoring per end user and tenant (issue 16 part 6), from the trace fields `end_user` and
`tenant` that every ingest path fills (JSONL, CSV, Parquet, OTLP files and OTLP over HTTP).

- `tenants`: token burn and cost per tenant and feature over a bounded range, and each tenant's spend
  spike against its own baseline (setting monitor.tenant_spike);
- `users`: prompt-injection guardrail triggers per end user over a window, and the escalation of users
  over the threshold (setting monitor.injection), once per user and window, audited.
"""
