"""The claim query's plan on both databases: it walks the serving index and never sorts the open items,
even when the statistics predate the items closing (what a team sees mid-shift after a bulk sampling run).

PostgreSQL used to serve the claim's ORDER BY (created_at, id) from ix_reviewitem_created with a filter on
status: with statistics saying every item was open, it walked every closed item before the first open one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, text
from sqlmodel import select

from review_store import queue, sampling
from review_store.db import session_scope
from review_store.models import ReviewItem, Trace
from review_store.permissions import SYSTEM
from tests.factories import make_user

ITEMS = sampling.ANALYZE_AFTER + 200  # enough for the sampling run to refresh PostgreSQL's statistics
CLOSED = sampling.ANALYZE_AFTER


def _plan(engine, query) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return "\n".join(str(row[-1]) for row in conn.execute(text(prefix + sql)).all())


def test_the_claim_walks_the_serving_index_after_most_items_closed(engine):
    with session_scope(engine) as session:
        reviewer = make_user(session)
        rows = [
            {"external_id": f"p-{i}", "ts": datetime(2026, 5, 1) + timedelta(seconds=i), "app": "plan",
             "segment": "billing", "input": f"q{i}", "output": f"a{i}", "context": [], "meta": {}}
            for i in range(ITEMS)
        ]  # fmt: skip
        session.exec(insert(Trace), params=rows)
        sampling.sample(session, actor=SYSTEM, strategy="random", n=ITEMS, overlap_k=1)
    with session_scope(engine) as session:  # most items close after the statistics were taken
        ids = session.exec(select(ReviewItem.id).order_by(ReviewItem.id)).all()
        session.exec(
            text("UPDATE reviewitem SET status = 'done', labels_done = 1 WHERE id <= :last"),
            params={"last": ids[CLOSED - 1]},
        )
    plan = _plan(engine, queue.serving_query(reviewer.id, datetime(2026, 6, 1, 12)))
    assert "ix_reviewitem_serve" in plan, plan
    assert "ix_reviewitem_created" not in plan, plan
    if engine.dialect.name == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "Sort" not in plan, plan
    with session_scope(engine) as session:  # and it serves the oldest open item
        item = queue.next_item(session, actor=reviewer)
        assert item is not None and item.id == ids[CLOSED]
