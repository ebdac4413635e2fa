"""Token burn and cost per tenant and feature, and each tenant's spend spike against its own baseline.

Why a grouped query over raw traces and not the traffic rollup: the rollup is keyed by hour x app x
segment x release x model x prompt version; adding the tenant to its key would multiply its rows by the
tenants active in each hour (hundreds in a multi-tenant app), and every dashboard read of the rollup would
pay for it. Instead one covering index, ix_trace_ts_tenant (ts, tenant, app, tokens_in, tokens_out,
cost_usd), serves these reads as an index-only range scan; the range is bounded (MAX_RANGE_DAYS) so a read
never walks the whole history. Raw traces only: traces a prune deleted are not counted here (their
numbers live on in the rollups, which know no tenant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import settings
from review_store.errors import ValidationFailed
from review_store.models import Trace, utcnow

MAX_RANGE_DAYS = 92


@dataclass(frozen=True)
class TenantCost:
    tenant: str  # "" for traces that named no tenant
    app: str
    traces: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cost_known: int  # traces with a cost (the rest have none: unknown model, no price)


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(f"range: end {end:%Y-%m-%d %H:%M} is not after start {start:%Y-%m-%d %H:%M}")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ValidationFailed(
            f"range: {(end - start).days} days; per-tenant costs read raw traces, at most {MAX_RANGE_DAYS} days"
        )


def tenant_costs(session: Session, *, start: datetime, end: datetime) -> list[TenantCost]:
    """Per (tenant, feature) in [start, end): traces, tokens in/out and cost; costliest tenant first, its
    features costliest first. One GROUP BY over the covering index."""
    _check_range(start, end)
    rows = session.exec(
        select(
            Trace.tenant,
            Trace.app,
            func.count(),
            func.coalesce(func.sum(Trace.tokens_in), 0),
            func.coalesce(func.sum(Trace.tokens_out), 0),
            func.coalesce(func.sum(Trace.cost_usd), 0.0),
            func.count(Trace.cost_usd),
        )
        .where(Trace.ts >= start, Trace.ts < end, col(Trace.shadow_of).is_(None))  # production traffic only
        .group_by(Trace.tenant, Trace.app)
    ).all()
    out = [TenantCost(t, a, int(n), int(i), int(o), float(c), int(k)) for t, a, n, i, o, c, k in rows]
    per_tenant: dict[str, float] = {}
    for r in out:
        per_tenant[r.tenant] = per_tenant.get(r.tenant, 0.0) + r.cost_usd
    out.sort(key=lambda r: (-per_tenant[r.tenant], r.tenant, -r.cost_usd, r.app))
    return out


@dataclass(frozen=True)
class TenantSpike:
    tenant: str
    window_usd: float  # spend in the window
    window_tokens: int
    baseline_usd: float  # spend in the baseline period
    expected_usd: float  # the baseline's hourly rate x the window's hours
    ratio: float | None  # window / expected; None when the baseline spent nothing
    spike: bool


@dataclass(frozen=True)
class SpikeReport:
    as_of: datetime
    window_start: datetime
    baseline_start: datetime
    ratio: float
    min_usd: float
    tenants: list[TenantSpike]


def _spend(session: Session, start: datetime, end: datetime) -> dict[str, tuple[float, int]]:
    rows = session.exec(
        select(
            Trace.tenant,
            func.coalesce(func.sum(Trace.cost_usd), 0.0),
            func.coalesce(func.sum(Trace.tokens_in), 0) + func.coalesce(func.sum(Trace.tokens_out), 0),
        )
        .where(Trace.ts >= start, Trace.ts < end, Trace.tenant != "", col(Trace.shadow_of).is_(None))
        .group_by(Trace.tenant)
    ).all()
    return {t: (float(c), int(k)) for t, c, k in rows}


def tenant_spikes(session: Session, *, as_of: datetime | None = None) -> SpikeReport:
    """THE spike rule, per tenant: the spend of the window [as_of - window_hours, as_of) against the
    tenant's own hourly rate over the `baseline_days` before the window (setting monitor.tenant_spike).
    A spike: window spend >= min_usd and above `ratio` x (rate x window hours); a tenant whose baseline
    spent nothing spikes as soon as its window reaches min_usd (new spend, ratio None). Tenants with
    spend in either period are listed, spikes first."""
    as_of = as_of or utcnow()
    rule = settings.get(session, "monitor.tenant_spike")
    window_start = as_of - timedelta(hours=rule.window_hours)
    baseline_start = window_start - timedelta(days=rule.baseline_days)
    window = _spend(session, window_start, as_of)
    baseline = _spend(session, baseline_start, window_start)
    out = []
    for tenant in sorted(set(window) | set(baseline)):
        spent, tokens = window.get(tenant, (0.0, 0))
        before = baseline.get(tenant, (0.0, 0))[0]
        expected = before / (rule.baseline_days * 24) * rule.window_hours
        ratio = spent / expected if expected > 0 else None
        spike = spent > 0 and spent >= rule.min_usd and (ratio is None or ratio > rule.ratio)
        out.append(TenantSpike(tenant, spent, tokens, before, expected, ratio, spike))
    out.sort(key=lambda s: (not s.spike, -s.window_usd, s.tenant))
    return SpikeReport(as_of, window_start, baseline_start, rule.ratio, rule.min_usd, out)
