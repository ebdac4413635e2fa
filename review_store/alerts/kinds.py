"""The kinds of alert rule. Each asks the ONE store function that owns its rule and turns what fires into
hits (subject + summary); nothing here re-implements a rule.

- guardrail_anomaly: dashboards.anomalies.guardrail_anomalies (the Guardrails dashboard's rule) over the
  `days` (default 1) days ending at the check's time; one subject per guardrail and segment.
- drift_act: dashboards.drift.drift_report ending at the check's time; one subject per metric at "act".
- budget: dashboards.costs.budget_status at the check's time (the "cost.budget" setting); fires when the
  period's spend exceeded the budget (`trigger: exceeded`, default) or the projection does
  (`trigger: projected`); the subject is the budget period.
- rollback_rule: releases.rollback_rule.evaluate (the live release against the known-good one); one
  subject per flagged live release.
- gate_failed: releases.catalog.gate (gate.evaluate) for every release still a candidate that has gate
  evidence (an eval run or a tier-1 check run); a candidate nobody evaluated yet is not a failure.
- escalation_sla: escalations.escalations at the check's time; one subject per open escalation past
  its SLA breach age (colour "red").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from review_store.errors import ValidationFailed


@dataclass(frozen=True)
class Hit:
    subject: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _guardrail_anomaly(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.dashboards.anomalies import guardrail_anomalies
    from review_store.dashboards.common import Filters

    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start = day - timedelta(days=params.get("days", 1) - 1)
    rows = guardrail_anomalies(session, filters=Filters(start, at, None, params.get("segment")))
    worst: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not row["anomalous"]:
            continue
        subject = f"{row['name']} in {row['segment']}"
        if subject not in worst or row["day"] > worst[subject]["day"]:
            worst[subject] = row
    return [
        Hit(
            subject,
            f"{r['name']} in {r['segment']}: {r['rate_per_1k']:.1f} per 1k traces on {r['day']:%Y-%m-%d} vs "
            f"baseline {r['baseline_rate_per_1k']:.1f} ({r['ratio']:.1f}x, p={r['p_value']:.2g})",
            {
                "day": r["day"].isoformat(),
                "rate_per_1k": r["rate_per_1k"],
                "baseline_rate_per_1k": r["baseline_rate_per_1k"],
                "observed": r["observed"],
                "p_value": r["p_value"],
            },
        )
        for subject, r in sorted(worst.items())
    ]


def _drift_act(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.dashboards.drift import drift_report

    return [
        Hit(
            r.metric,
            f"{r.label}: PSI {r.psi:.3f} (act) for the week to {at:%Y-%m-%d %H:%M}",
            {"psi": r.psi, "metric": r.metric},
        )
        for r in drift_report(session, end=at, release=params.get("release"))
        if r.status == "act"
    ]


def _budget(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.dashboards.costs import budget_status

    status = budget_status(session, as_of=at)
    trigger = params.get("trigger", "exceeded")
    if not status["exceeded" if trigger == "exceeded" else "alert"]:
        return []
    subject = f"{status['period']} from {status['period_start']:%Y-%m-%d}"
    verb = "spent" if status["exceeded"] else "projected to spend"
    amount = status["spent_usd"] if status["exceeded"] else status["projected_usd"]
    return [
        Hit(
            subject,
            f"cost budget for the {subject}: {verb} ${amount:,.2f} of ${status['budget_usd']:,.2f}",
            {k: status[k] for k in ("budget_usd", "spent_usd", "projected_usd", "daily_burn_usd")},
        )
    ]


def _rollback_rule(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.releases import rollback_rule

    status = rollback_rule.evaluate(session)
    if not status.flagged or status.live is None:
        return []
    return [Hit(status.live, status.summary, {"baseline": status.baseline, "mode": status.mode})]


def _gate_failed(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.evals.records import latest_check_run
    from review_store.models import Release
    from review_store.releases.catalog import gate

    hits = []
    for release in session.exec(
        select(Release).where(Release.status == "candidate").order_by(col(Release.id))
    ).all():
        result = gate(session, release=release.name)
        has_evidence = (
            result.eval_run_id is not None or latest_check_run(session, release_id=release.id) is not None
        )
        name = release.name
        if result.passed or not has_evidence:
            continue
        failing = "; ".join(f"{r.metric} {r.note}".strip() for r in result.failing)
        hits.append(
            Hit(
                name, f"gate failed on candidate {name}: {failing}", {"policy_version": result.policy_version}
            )
        )
    return hits


def _escalation_sla(session: Session, params: dict[str, Any], at: datetime) -> list[Hit]:
    from review_store.escalations import escalations

    return [
        Hit(
            f"item {row['item_id']}",
            f"escalation of item {row['item_id']} ({row['trace']}, {row['segment']}) open "
            f"{row['age_hours']:.1f} h, past its SLA: {row['reason'] or 'no reason given'}",
            {"item_id": row["item_id"], "age_hours": row["age_hours"], "queue": row["queue"]},
        )
        for row in escalations(session, now=at)
        if row["sla"] == "red"
    ]


def _int_in(value: Any, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"params.{name}: must be a whole number from {low} to {high}, not {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 120:
        raise ValidationFailed(f"params.{name}: must be a non-empty name (at most 120 characters)")
    return value.strip()


def _check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    allowed = PARAMS[kind]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none"
        raise ValidationFailed(f"params: {kind} takes no {', '.join(unknown)} (known: {known})")
    clean: dict[str, Any] = {}
    if "days" in params:
        clean["days"] = _int_in(params["days"], 1, 30, "days")
    for name in ("segment", "release"):
        if name in params:
            clean[name] = _text(params[name], name)
    if "trigger" in params:
        if params["trigger"] not in ("exceeded", "projected"):
            raise ValidationFailed(
                f"params.trigger: must be exceeded or projected, not {params['trigger']!r}"
            )
        clean["trigger"] = params["trigger"]
    return clean


Evaluator = Callable[[Session, dict[str, Any], datetime], list[Hit]]
KINDS: dict[str, Evaluator] = {
    "guardrail_anomaly": _guardrail_anomaly,
    "drift_act": _drift_act,
    "budget": _budget,
    "rollback_rule": _rollback_rule,
    "gate_failed": _gate_failed,
    "escalation_sla": _escalation_sla,
}
PARAMS: dict[str, tuple[str, ...]] = {
    "guardrail_anomaly": ("days", "segment"),
    "drift_act": ("release",),
    "budget": ("trigger",),
    "rollback_rule": (),
    "gate_failed": (),
    "escalation_sla": (),
}
DESCRIPTIONS = {
    "guardrail_anomaly": "a guardrail's rate rose against its baseline (the Guardrails dashboard's rule)",
    "drift_act": "a drift metric reached 'act' (PSI, week over week)",
    "budget": "the cost budget's period spend exceeded it (or is projected to)",
    "rollback_rule": "the rollback rule flags the live release",
    "gate_failed": "a candidate release fails its gate",
    "escalation_sla": "an escalation is open past its SLA breach age",
}


def validate(kind: str, params: Any) -> dict[str, Any]:
    """The kind and its parameters checked; ValidationFailed names the field."""
    if kind not in KINDS:
        raise ValidationFailed(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(params, dict):
        raise ValidationFailed("params: must be an object of parameters")
    return _check_params(kind, params)


def evaluate(session: Session, kind: str, params: dict[str, Any], at: datetime) -> list[Hit]:
    """What the rule of `kind` fires for at `at`, one hit per subject (sorted, subjects unique)."""
    hits = {h.subject[:240]: h for h in KINDS[kind](session, params, at)}
    return [hits[s] for s in sorted(hits)]
