"""The 10M benchmark's fast path (bench/scale.py multiply) is exact: after copying every trace with its
guardrail events and multiplying the rollups in SQL, the rollups equal a rebuild from the raw rows, and every
copy is a new trace in its original's hour; both databases."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from bench import scale
from review_store.demo import build_demo
from review_store.models import GuardrailEvent, Trace
from review_store.rollups.rebuild import rebuild
from tests.test_rollups import snapshot


def test_multiply_keeps_the_rollups_equal_to_a_rebuild(engine):
    build_demo(engine, seed=3, traces=400, password="demo-pass-123")
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        traces, events = (
            conn.execute(select(func.count()).select_from(m)).scalar_one() for m in (Trace, GuardrailEvent)
        )
    engine.dispose()
    scale.multiply(url, 3)
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(Trace)).scalar_one() == 3 * traces
        assert conn.execute(select(func.count()).select_from(GuardrailEvent)).scalar_one() == 3 * events
        assert conn.execute(select(func.count(func.distinct(Trace.external_id)))).scalar_one() == 3 * traces
        multiplied = snapshot(conn)
        rebuild(conn)
        assert snapshot(conn) == multiplied
        built = {i["name"] for i in inspect(conn).get_indexes("trace")}
        assert {i.name for i in Trace.__table__.indexes if not i.unique} <= built  # rebuilt after the copy
