"""Where the costs of a range came from: reported by the source, computed at ingest from model and token
counts with litellm's price map (`review_store.ingest.costs`), or unknown. One grouped, index-only scan
(ix_trace_ts_cost_source) over the raw traces."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store.dashboards.common import Filters
from review_store.models import Trace

SOURCES = ("reported", "computed", "unknown")


def cost_sources(session: Session, *, filters: Filters) -> list[dict[str, Any]]:
    """One row per source (in SOURCES order, every source present): traces and their cost in USD."""
    stmt = (
        select(Trace.cost_source, func.count(), func.sum(Trace.cost_usd))
        .where(col(Trace.ts) >= filters.start, col(Trace.ts) < filters.end)
        .group_by(Trace.cost_source)
    )
    if filters.release:
        stmt = stmt.where(Trace.release == filters.release)
    if filters.segment:
        stmt = stmt.where(Trace.segment == filters.segment)
    found = {source or "unknown": (n, cost) for source, n, cost in session.exec(stmt).all()}
    return [
        {
            "source": s,
            "traces": int(found.get(s, (0, None))[0]),
            "cost_usd": float(found.get(s, (0, None))[1] or 0.0),
        }
        for s in SOURCES
    ]
