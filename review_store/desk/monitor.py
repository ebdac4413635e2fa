"""desk.monitor: behavioural monitoring per end user and tenant (review_store.monitor holds the rules).

Every read takes its time explicitly (a Range, or `as_of`, default the desk's clock now); each method
owns its transaction and returns frozen read models.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from review_store.desk import monitor_views as v
from review_store.desk.base import Part
from review_store.desk.dashboard_views import Range
from review_store.monitor import tenants, users
from review_store.permissions import Actor


def _users_view(report: users.InjectionReport) -> v.InjectionUsers:
    return v.InjectionUsers(
        as_of=report.as_of,
        window_start=report.window_start,
        guardrail=report.guardrail,
        threshold=report.threshold,
        users=tuple(v.UserTriggerRow(**asdict(u)) for u in report.users),
    )


class MonitorPart(Part):
    def tenant_costs(self, *, range: Range) -> v.TenantCosts:
        """Traces, tokens and cost per tenant and feature in [range.start, range.end) (at most 92 days; the
        range's release and segment do not apply), costliest tenant first."""
        with self._read() as session:
            rows = tenants.tenant_costs(session, start=range.start, end=range.end)
            return v.TenantCosts(
                start=range.start,
                end=range.end,
                rows=tuple(
                    v.TenantCostRow(
                        tenant=r.tenant,
                        feature=r.app,
                        traces=r.traces,
                        tokens_in=r.tokens_in,
                        tokens_out=r.tokens_out,
                        cost_usd=r.cost_usd,
                        cost_known=r.cost_known,
                    )
                    for r in rows
                ),
            )

    def tenant_spikes(self, *, as_of: datetime | None = None) -> v.TenantSpikes:
        """Each tenant's spend in the window ending at `as_of` against its own baseline; spikes first."""
        with self._read() as session:
            r = tenants.tenant_spikes(session, as_of=as_of)
            return v.TenantSpikes(
                as_of=r.as_of,
                window_start=r.window_start,
                baseline_start=r.baseline_start,
                ratio=r.ratio,
                min_usd=r.min_usd,
                tenants=tuple(v.TenantSpikeRow(**asdict(t)) for t in r.tenants),
            )

    def injection_users(self, *, as_of: datetime | None = None) -> v.InjectionUsers:
        """End users' prompt-injection triggers in the window ending at `as_of`; `over` the threshold."""
        with self._read() as session:
            return _users_view(users.injection_triggers(session, as_of=as_of))

    def escalate_users(self, *, actor: Actor, as_of: datetime | None = None) -> v.MonitorRunView:
        """Escalate the users over the threshold (once per user and window), audited; one transaction."""
        with self._write(actor) as (session, who):
            run = users.escalate_users(session, actor=who, as_of=as_of)
            return v.MonitorRunView(
                report=_users_view(run.report),
                raised=tuple(v.UserTriggerRow(**asdict(u)) for u in run.raised),
                already=tuple(v.UserTriggerRow(**asdict(u)) for u in run.already),
            )
