"""Cost dashboards: tokens and cost per feature/segment/release/model, cost per successful task, cache hit
rate, and the budget burn for the current period (setting "cost.budget": {"period": day|week|month, "usd"}).

Projection: spent so far in the period + the average daily cost of the 7 days before `as_of` x the days
left in the period. A recent burn rate, not the period's mean, so a cost blow-up yesterday already counts.
The alert fires when the projection exceeds the budget (and says so when the spend already has).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from review_store import settings
from review_store.dashboards.common import Filters, bucket_grid, ratio
from review_store.models import Trace, utcnow
from review_store.rollups import read
from review_store.rollups.maintain import TRAFFIC_SUMS

GROUPINGS = {"feature": Trace.app, "segment": Trace.segment, "release": Trace.release, "model": Trace.model}
BURN_DAYS = 7


GROUP_KEYS = {"feature": "app", "segment": "segment", "release": "release", "model": "model"}


def cost_breakdown(session: Session, *, filters: Filters, by: str = "feature") -> list[dict[str, Any]]:
    """Per group: traces, tokens, cost, successes, cost per successful task and cache hit rate (from the
    traffic rollup), most cost first (groups without any cost last)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    out = []
    for (group,), sums in read.totals(session, "traffic", filters, by=(GROUP_KEYS[by],)).items():
        row = dict(zip(TRAFFIC_SUMS, sums, strict=True))
        n, t_in, t_out, ok = row["traces"], row["tokens_in"], row["tokens_out"], row["successes"]
        if not n:
            continue
        cost = read.cost_usd(row["cost_nanos"], row["cost_known"])
        out.append(
            {
                by: group,
                "traces": n,
                "tokens_in": t_in,
                "tokens_out": t_out,
                "tokens_per_trace": ratio(t_in + t_out, n),
                "cost_usd": float(cost or 0.0),
                "successes": ok,
                "cost_per_successful_task_usd": ratio(cost, ok),
                "cache_hit_rate": ratio(row["cache_hits"], row["cache_known"]),
                "_known": row["cost_known"],
            }
        )
    out.sort(key=lambda r: (not r["_known"], -r["cost_usd"], r[by]))
    for r in out:
        del r["_known"]
    return out


def period_bounds(period: str, as_of: datetime) -> tuple[datetime, datetime]:
    """The calendar day, Monday week or month that contains as_of."""
    day = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    raise ValueError(f"cost.budget period must be day, week or month, not {period!r}")


def _spent(session: Session, start: datetime, end: datetime) -> float:
    sums = read.one(read.totals(session, "traffic", Filters(start, end)), "traffic")
    return sums[TRAFFIC_SUMS.index("cost_nanos")] / 1e9


def budget_status(session: Session, *, as_of: datetime | None = None) -> dict[str, Any]:
    """Spend against the "cost.budget" setting for the period containing as_of (default now), projected."""
    as_of = as_of or utcnow()
    budget = settings.get(session, "cost.budget")
    start, end = period_bounds(budget.period, as_of)
    spent = _spent(session, start, as_of)
    daily = _spent(session, as_of - timedelta(days=BURN_DAYS), as_of) / BURN_DAYS
    remaining_days = max(0.0, (end - as_of).total_seconds() / 86400)
    projected = spent + daily * remaining_days
    usd = budget.usd
    return {
        "period": budget.period,
        "period_start": start,
        "period_end": end,
        "as_of": as_of,
        "budget_usd": usd,
        "spent_usd": spent,
        "daily_burn_usd": daily,
        "projected_usd": projected,
        "exceeded": spent > usd,
        "alert": projected > usd,
    }


MAX_SERIES = 8  # groups drawn one by one in cost_over_time; the rest add up as "other"


def cost_over_time(
    session: Session, *, filters: Filters, by: str = "feature", bucket: str = "day"
) -> list[dict[str, Any]]:
    """Cost and traces per bucket per group: {bucket, group, cost_usd, traces}, every bucket of the range
    for every group (0 where a group spent nothing), from the traffic rollup. The MAX_SERIES costliest
    groups of the range keep their name, the rest are summed as "other", so a stacked chart stays readable."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    cost_at, traces_at = TRAFFIC_SUMS.index("cost_nanos"), TRAFFIC_SUMS.index("traces")
    rows = read.totals(session, "traffic", filters, by=(GROUP_KEYS[by],), bucket=bucket)
    totals: dict[str, int] = {}
    for (_, group), sums in rows.items():
        totals[group or ""] = totals.get(group or "", 0) + sums[cost_at]
    kept = sorted(totals, key=lambda g: (-totals[g], g))[:MAX_SERIES]
    cells: dict[tuple[datetime, str], list[int]] = {}
    for (start, group), sums in rows.items():
        name = (group or "") if (group or "") in kept else "other"
        cell = cells.setdefault((start, name), [0, 0])
        cell[0] += sums[cost_at]
        cell[1] += sums[traces_at]
    groups = kept + (["other"] if len(totals) > len(kept) else [])
    return [
        {
            "bucket": start,
            "group": group,
            "cost_usd": cells.get((start, group), [0, 0])[0] / 1e9,
            "traces": cells.get((start, group), [0, 0])[1],
        }
        for start in bucket_grid(filters.start, filters.end, bucket)
        for group in groups
    ]


def period_spend(session: Session, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """The budget period's spend so far, cumulative at the end of each day up to `as_of`: {day, spent_usd}
    (the last point is the spend at `as_of`, which budget_status reports as spent_usd)."""
    as_of = as_of or utcnow()
    start, _ = period_bounds(settings.get(session, "cost.budget").period, as_of)
    cost_at = TRAFFIC_SUMS.index("cost_nanos")
    per_day = {
        key[0]: sums[cost_at]
        for key, sums in read.totals(session, "traffic", Filters(start, as_of), bucket="day").items()
    }
    out, total = [], 0
    for day in bucket_grid(start, as_of, "day"):
        total += per_day.get(day, 0)
        out.append({"day": min(day + timedelta(days=1), as_of), "spent_usd": total / 1e9})
    return out
