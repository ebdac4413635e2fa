"""Every dashboard query the pages run, by name, as callables (session, filters) for the benchmark."""

from __future__ import annotations

from review_store import dashboards

ALL = {
    "overview_kpis": lambda s, f: dashboards.overview_kpis(s, f),
    "filter_options": lambda s, f: dashboards.filter_options(s),
    "traces_in": lambda s, f: dashboards.traces_in(s, f, limit=200),
    "trace_count": lambda s, f: dashboards.trace_count(s, f),
}
