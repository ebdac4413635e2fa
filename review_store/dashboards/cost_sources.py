"""Where the costs of a range came from: reported by the source, computed at ingest from model and token
counts with litellm's price map (`review_store.ingest.costs`), or unknown. Read from the traffic rollup's
per-source sums (whole hours, plus the raw rows of a partial hour at the range's edges, as every rollup
read: `review_store.rollups.read.totals`); unknown is what neither source accounts for."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from review_store.dashboards.common import Filters
from review_store.rollups import read
from review_store.rollups.maintain import TRAFFIC_SUMS

SOURCES = ("reported", "computed", "unknown")


def cost_sources(session: Session, *, filters: Filters) -> list[dict[str, Any]]:
    """One row per source (in SOURCES order, every source present): traces and their cost in USD."""
    row = dict(zip(TRAFFIC_SUMS, read.one(read.totals(session, "traffic", filters), "traffic"), strict=True))
    found = {
        "reported": (row["cost_reported"], row["cost_reported_nanos"]),
        "computed": (row["cost_computed"], row["cost_computed_nanos"]),
    }
    found["unknown"] = (
        row["traces"] - row["cost_reported"] - row["cost_computed"],
        row["cost_nanos"] - row["cost_reported_nanos"] - row["cost_computed_nanos"],
    )
    return [{"source": s, "traces": int(found[s][0]), "cost_usd": found[s][1] / 1e9} for s in SOURCES]
