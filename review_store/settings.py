"""Team settings a lead edits in the app (trust thresholds, SLAs, budgets, rollback rule, drift), typed.

One frozen pydantic model per key (SCHEMAS). `put` validates the whole value before anything is written:
a bad value raises ValidationFailed naming `key.field: reason` and stores nothing. `get` returns the typed
model (stored value, else the default), so every caller reads typed fields (`get(s, "cost.budget").usd`).
A partial value is merged over the current one: `{"mode": "auto"}` changes only the rollback rule's mode.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlmodel import Session, select

from review_store import audit
from review_store.errors import ValidationFailed
from review_store.models import Setting, utcnow
from review_store.permissions import Actor, require


class SettingModel(BaseModel):
    """A setting's value: frozen, no unknown fields, every number range-checked."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)  # "0.9" is not a number

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _above(info_data: dict[str, Any], other: str, value: float, *, strict: bool, what: str) -> float:
    """Cross-field rule: `value` must be above (or at least) the already validated field `other`."""
    low = info_data.get(other)
    if low is not None and (value <= low if strict else value < low):
        raise PydanticCustomError(
            "order",
            "must be {op} {other} ({low}) {what}",
            {"op": "above" if strict else "at least", "other": other, "low": low, "what": what},
        )
    return value


class JudgeTrust(SettingModel):
    """When the judge's verdicts count as release evidence (Krippendorff's alpha against humans)."""

    calibrate_alpha: float = Field(
        0.667, ge=0.0, le=1.0, description="Below this alpha: do not use the judge."
    )
    trusted_alpha: float = Field(
        0.80, ge=0.0, le=1.0, description="CI lower bound needed to trust the judge."
    )
    min_items: int = Field(50, ge=2, le=100_000, description="Items judged and human-labelled, at least.")

    @field_validator("trusted_alpha")
    @classmethod
    def _trusted_above_calibrate(cls, value: float, info) -> float:
        return _above(info.data, "calibrate_alpha", value, strict=False, what="(trust is the higher bar)")


class EscalationSla(SettingModel):
    """Hours after escalation when an item turns amber (warn) and red (breach)."""

    warn: float = Field(24, gt=0, le=24 * 365, description="Hours until an escalation turns amber.")
    breach: float = Field(48, gt=0, le=24 * 365, description="Hours until an escalation turns red.")

    @field_validator("breach")
    @classmethod
    def _breach_after_warn(cls, value: float, info) -> float:
        return _above(info.data, "warn", value, strict=True, what="(red comes after amber)")


class LowConfidence(SettingModel):
    """Judge confidence below which the low_confidence sampling strategy escalates a trace."""

    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Judge confidence (0..1) below which to escalate."
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, value: Any) -> Any:
        return (
            {"threshold": value} if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class CostBudget(SettingModel):
    """The spend budget per calendar period; the Costs page projects the burn against it."""

    period: Literal["day", "week", "month"] = Field("month", description="Calendar period of the budget.")
    usd: float = Field(250.0, gt=0, le=1e9, description="Budget in US dollars for one period.")


class RollbackRule(SettingModel):
    """When the live release is worse than the known-good one (ratios of the two windows' rates)."""

    mode: Literal["suggest", "auto"] = Field(
        "suggest", description="suggest a rollback, or roll back at once."
    )
    window_hours: float = Field(24, gt=0, le=24 * 90, description="Hours of traffic compared on each side.")
    max_guardrail_rate_ratio: float = Field(2.0, ge=1.0, le=100, description="Guardrail rate, live / good.")
    max_judge_fail_rate_ratio: float = Field(1.5, ge=1.0, le=100, description="Judge fail rate, live / good.")
    max_p95_latency_ratio: float = Field(1.5, ge=1.0, le=100, description="p95 latency, live / good.")


class DriftPsi(SettingModel):
    """Week-over-week population stability index levels for 'watch' and 'act'."""

    watch: float = Field(0.1, gt=0, le=10, description="PSI from which a metric is watched.")
    act: float = Field(0.25, gt=0, le=10, description="PSI from which a metric needs action.")

    @field_validator("act")
    @classmethod
    def _act_above_watch(cls, value: float, info) -> float:
        return _above(info.data, "watch", value, strict=True, what="(act is the higher level)")


class RawRetention(SettingModel):
    """How long raw traces are kept: `review-desk prune` without --older-than deletes older ones (the
    rollups keep their hours; traces under review, golden, in an eval run or audited are never pruned)."""

    days: int = Field(90, ge=1, le=3650, description="Days a raw trace is kept before prune may delete it.")


class InjectionMonitor(SettingModel):
    """Per end user: prompt-injection guardrail triggers (events of the guardrail named
    review_store.monitor.users.INJECTION_GUARDRAIL) over a window; more than `threshold` escalates the user
    (`review-desk monitor users`)."""

    threshold: int = Field(3, ge=0, le=100_000, description="Triggers in a window above which to escalate.")
    window_hours: int = Field(24, ge=1, le=24 * 90, description="Hours of traffic counted, up to as-of.")


class TenantSpike(SettingModel):
    """A tenant's spend spike: its cost over the last `window_hours` against its own hourly rate over the
    `baseline_days` before (review_store.monitor.tenants)."""

    window_hours: int = Field(24, ge=1, le=24 * 31, description="Hours of spend checked, up to as-of.")
    baseline_days: int = Field(7, ge=1, le=90, description="Days before the window the rate comes from.")
    ratio: float = Field(
        3.0, gt=1.0, le=1000, description="Window cost / baseline-rate cost that is a spike."
    )
    min_usd: float = Field(1.0, ge=0, le=1e9, description="Window spend below this is never a spike.")


class RetrievalK(SettingModel):
    """The k of retrieval precision@k and recall (review_store.retrieval): the gate's metrics and the
    default of the Overview section and `review-desk retrieval report`."""

    k: int = Field(5, ge=1, le=100, description="Top retrieved chunks judged for precision@k and recall.")


class AlertWebhooks(SettingModel):
    """Which hosts alert webhooks may point at besides public ones (review_store.alerts.webhooks).
    Link-local and cloud metadata addresses (169.254.169.254, ...) are refused whatever this says."""

    loopback: Literal["allow", "refuse"] = Field(
        "allow", description="127.0.0.0/8, ::1 and localhost (local receivers, tests)."
    )
    private: Literal["allow", "refuse"] = Field(
        "allow", description="Private networks: 10/8, 172.16/12, 192.168/16, fc00::/7."
    )

    def hosts(self) -> dict[str, bool]:
        """The keyword arguments of webhooks.validate_url and delivery.send."""
        return {"allow_loopback": self.loopback == "allow", "allow_private": self.private == "allow"}


SCHEMAS: dict[str, type[SettingModel]] = {
    "judge.trust": JudgeTrust,
    "escalation.sla_hours": EscalationSla,
    "escalation.low_confidence": LowConfidence,
    "cost.budget": CostBudget,
    "rollback.rule": RollbackRule,
    "drift.psi": DriftPsi,
    "retention.raw_traces": RawRetention,
    "monitor.injection": InjectionMonitor,
    "monitor.tenant_spike": TenantSpike,
    "retrieval.k": RetrievalK,
    "alerts.webhooks": AlertWebhooks,
}
DEFAULTS: dict[str, SettingModel] = {key: schema() for key, schema in SCHEMAS.items()}


def _schema(key: str) -> type[SettingModel]:
    if key not in SCHEMAS:
        raise ValidationFailed(f"setting: unknown key {key!r}; known: {', '.join(sorted(SCHEMAS))}")
    return SCHEMAS[key]


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required"
    reason = error["msg"].removeprefix("Value error, ").replace("Input should", "should")
    given = error.get("input")
    return reason if isinstance(given, dict) else f"{reason} (got {given!r})"


def parse(key: str, value: Any) -> SettingModel:
    """The typed value of `key`, or ValidationFailed listing each bad field as `key.field: reason`."""
    schema = _schema(key)
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(f"{key}.{where}: {_reason(error)}" if where else f"{key}: {_reason(error)}")
        errors = exc.errors()
        hint = ""
        if any(e["type"] in ("extra_forbidden", "missing") for e in errors):
            hint = f" (fields of {key}: {', '.join(schema.model_fields)})"
        raise ValidationFailed("; ".join(problems) + hint) from None


def _stored(session: Session, key: str) -> SettingModel | None:
    row = session.get(Setting, key)
    if row is None:
        return None
    try:
        return parse(key, row.value)
    except ValidationFailed as exc:  # written before settings were typed, or edited in the database
        raise ValidationFailed(
            f"stored setting is invalid, fix it under Settings > Thresholds: {exc}"
        ) from None


@overload
def get(session: Session, key: Literal["judge.trust"]) -> JudgeTrust: ...
@overload
def get(session: Session, key: Literal["escalation.sla_hours"]) -> EscalationSla: ...
@overload
def get(session: Session, key: Literal["escalation.low_confidence"]) -> LowConfidence: ...
@overload
def get(session: Session, key: Literal["cost.budget"]) -> CostBudget: ...
@overload
def get(session: Session, key: Literal["rollback.rule"]) -> RollbackRule: ...
@overload
def get(session: Session, key: Literal["drift.psi"]) -> DriftPsi: ...
@overload
def get(session: Session, key: Literal["retention.raw_traces"]) -> RawRetention: ...
@overload
def get(session: Session, key: Literal["monitor.injection"]) -> InjectionMonitor: ...
@overload
def get(session: Session, key: Literal["monitor.tenant_spike"]) -> TenantSpike: ...
@overload
def get(session: Session, key: Literal["retrieval.k"]) -> RetrievalK: ...
@overload
def get(session: Session, key: Literal["alerts.webhooks"]) -> AlertWebhooks: ...
@overload
def get(session: Session, key: str) -> SettingModel: ...
def get(session: Session, key: str) -> SettingModel:
    """The typed value of `key` (its SCHEMAS model): the stored one, else the default."""
    _schema(key)
    return _stored(session, key) or DEFAULTS[key]


def put(session: Session, *, actor: Actor, key: str, value: Any) -> SettingModel:
    """Change a setting (leads only), validated whole before anything is written; audited (old and new).

    `value` may name only some fields (the others keep their current values); a bare number is
    accepted for escalation.low_confidence. Returns the stored typed value.
    """
    require(actor, "edit_settings")
    schema = _schema(key)
    current = get(session, key)
    if isinstance(value, dict):
        merged: Any = {**current.model_dump(), **value}
    elif isinstance(value, SettingModel):
        merged = value.model_dump()
    elif schema is LowConfidence:
        merged = value
    else:
        raise ValidationFailed(f"{key}: expected an object with {', '.join(schema.model_fields)}")
    typed = parse(key, merged)
    row = session.get(Setting, key)
    before = row.value if row is not None else None
    stored = typed.to_json()
    if row is None:
        row = Setting(key=key, value=stored, updated_by=actor.username)
    else:
        row.value, row.updated_by, row.updated_at = stored, actor.username, utcnow()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="setting.put",
        entity="setting",
        entity_id=key,
        payload={"from": before, "to": stored},
    )
    return typed


def all_settings(session: Session) -> dict[str, SettingModel]:
    """Every team setting, typed (stored values, else defaults), in SCHEMAS order."""
    stored = {row.key for row in session.exec(select(Setting)).all()}
    return {key: (_stored(session, key) if key in stored else None) or DEFAULTS[key] for key in SCHEMAS}


def is_set(session: Session, key: str) -> Setting | None:
    """The stored row of `key` (who set it, when), or None while the default applies."""
    _schema(key)
    return session.get(Setting, key)
