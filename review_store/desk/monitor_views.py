"""Frozen read models of desk.monitor: cost per tenant and feature, tenant spend spikes, end users'
prompt-injection triggers and the monitor's escalations."""

from __future__ import annotations

from datetime import datetime

from review_store.desk.base import ReadModel


class TenantCostRow(ReadModel):
    tenant: str  # "" for traces that named no tenant
    feature: str  # the trace's app
    traces: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cost_known: int


class TenantCosts(ReadModel):
    start: datetime
    end: datetime
    rows: tuple[TenantCostRow, ...]


class TenantSpikeRow(ReadModel):
    tenant: str
    window_usd: float
    window_tokens: int
    baseline_usd: float
    expected_usd: float
    ratio: float | None
    spike: bool


class TenantSpikes(ReadModel):
    as_of: datetime
    window_start: datetime
    baseline_start: datetime
    ratio: float
    min_usd: float
    tenants: tuple[TenantSpikeRow, ...]

    @property
    def spikes(self) -> tuple[TenantSpikeRow, ...]:
        return tuple(t for t in self.tenants if t.spike)


class UserTriggerRow(ReadModel):
    end_user: str
    triggers: int
    last_at: datetime
    over: bool
    escalated_item_id: int | None


class InjectionUsers(ReadModel):
    as_of: datetime
    window_start: datetime
    guardrail: str
    threshold: int
    users: tuple[UserTriggerRow, ...]

    @property
    def over(self) -> tuple[UserTriggerRow, ...]:
        return tuple(u for u in self.users if u.over)


class MonitorRunView(ReadModel):
    report: InjectionUsers
    raised: tuple[UserTriggerRow, ...]
    already: tuple[UserTriggerRow, ...]
