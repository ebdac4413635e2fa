"""Dashboard queries over a date range use an index on trace, not a full scan.

What is checked, honestly:
- SQLite (demo world): EXPLAIN QUERY PLAN says "SEARCH trace USING ... INDEX" and never "SCAN trace".
- PostgreSQL: a table of 100,000 traces over ~140 days, ANALYZEd, so the planner's own cost model picks
  the plan (no enable_seqscan trick): a 7-day range must use an Index/Bitmap scan on trace, no Seq Scan.
  On tiny tables the planner rightly prefers a seq scan; `SET enable_seqscan = off` is only the way to
  see that an index *can* serve the predicate, which the last test does on the demo world as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from review_store.dashboards import guardrails
from review_store.dashboards.overview import Filters
from review_store.db import make_engine, read_session


def _statements(session, filters: Filters):
    return {
        "traffic by day": guardrails.traffic_query(session, filters, "day"),
        "traffic by segment": guardrails.traffic_query(session, filters, "day", "segment"),
        "traffic of a segment": guardrails.traffic_query(
            session, Filters(filters.start, filters.end, segment="refunds"), "hour", "segment"
        ),
    }


def _plan(session, statement, prefix: str) -> str:
    compiled = statement.compile(session.get_bind())
    conn = session.connection()
    if session.get_bind().dialect.name == "sqlite":
        params = tuple(compiled.params[k] for k in compiled.positiontup)
        rows = conn.exec_driver_sql(f"{prefix} {compiled}", params).all()
        return "\n".join(str(r[-1]) for r in rows)
    rows = conn.exec_driver_sql(f"{prefix} {compiled}", compiled.params).all()
    return "\n".join(r[0] for r in rows)


def test_sqlite_searches_trace_by_index(demo_engine):
    with read_session(demo_engine) as session:
        last = session.exec(text("SELECT MAX(ts) FROM trace")).one()[0]
        end = datetime.fromisoformat(str(last)).replace(hour=0, minute=0, second=0, microsecond=0)
        for name, statement in _statements(session, Filters(end - timedelta(days=7), end)).items():
            plan = _plan(session, statement, "EXPLAIN QUERY PLAN")
            assert "SEARCH trace USING" in plan and "INDEX" in plan, (name, plan)
            assert "SCAN trace" not in plan, (name, plan)


def test_postgresql_uses_an_index_on_a_realistic_table(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner check: this variant runs on the PostgreSQL engine only")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO trace (external_id, ts, app, segment, release, model, prompt_version, input, output, "
                "context, meta) SELECT 't' || g, timestamp '2026-01-01' + g * interval '2 minutes', 'a', "
                "(array['billing','refunds','technical','account'])[1 + g % 4], 'r1', 'm', 'v', 'q', 'a', "
                "'[]', '{}' FROM generate_series(1, 100000) g"
            )
        )
        conn.execute(text("ANALYZE trace"))
    start = datetime(2026, 3, 1)
    with read_session(engine) as session:
        for name, statement in _statements(session, Filters(start, start + timedelta(days=7))).items():
            plan = _plan(session, statement, "EXPLAIN")
            assert "Seq Scan on trace" not in plan, (name, plan)
            assert "Index" in plan or "Bitmap" in plan, (name, plan)


def test_postgresql_demo_index_serves_the_range_when_seqscan_is_off(demo_any_url):
    engine = make_engine(demo_any_url)
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner check: this variant runs on the PostgreSQL engine only")
    with read_session(engine) as session:
        session.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")
        end = session.exec(text("SELECT date_trunc('day', MAX(ts)) FROM trace")).one()[0]
        for name, statement in _statements(session, Filters(end - timedelta(days=7), end)).items():
            plan = _plan(session, statement, "EXPLAIN")
            assert "Seq Scan on trace" not in plan and ("Index" in plan or "Bitmap" in plan), (name, plan)
    engine.dispose()
