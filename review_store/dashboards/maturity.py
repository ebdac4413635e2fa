"""The team's LLMOps maturity level (0 ad hoc .. 4 adaptive), computed from evidence in the store.

Each criterion shows its evidence or what is missing. A level is reached only when all its criteria and
all lower levels' criteria hold (climb one level at a time). What the store cannot see comes from a short
questionnaire (MaturityAnswer rows, newest answer per question wins, each answer audited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal
from sqlmodel import Session, col, select

from review_store import audit, settings
from review_store.errors import ValidationFailed
from review_store.models import (
    Approval,
    Deployment,
    GatePolicy,
    JudgeRun,
    Label,
    MaturityAnswer,
    Release,
    utcnow,
)
from review_store.permissions import Actor, require
from review_store.rollups import read
from review_store.rollups.tables import RollupTraffic, RollupVerdict

LEVELS = {0: "ad hoc", 1: "instrumented", 2: "managed", 3: "optimized", 4: "adaptive"}
INSTRUMENTED_SHARE = 0.9
CADENCE_WEEKS, CADENCE_MIN_WEEKS = 4, 3
QUESTIONS = {
    "routing_quality_cost": "Do you route requests between models using measured quality and cost "
    "(not a fixed model per feature)?",
    "automated_safety_monitoring": "Do guardrail-rate anomalies alert a named owner automatically "
    "(pager or chat), without someone opening a dashboard?",
}


@dataclass
class Criterion:
    key: str
    level: int
    label: str
    met: bool
    evidence: str
    missing: str  # what to do when not met


@dataclass
class MaturityReport:
    level: int
    name: str
    criteria: list[Criterion]
    next_steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "name": self.name,
            "criteria": [c.__dict__ for c in self.criteria],
            "next_steps": self.next_steps,
        }


def latest_answers(session: Session) -> dict[str, dict[str, Any]]:
    """The newest answer to each question: {key: {"value": bool, "note": str, "by": user, "at": time}}."""
    out: dict[str, dict[str, Any]] = {}
    rows = session.exec(
        select(MaturityAnswer).order_by(col(MaturityAnswer.created_at), col(MaturityAnswer.id))
    )
    for row in rows.all():
        value = row.answer if isinstance(row.answer, dict) else {"value": row.answer}
        out[row.question_key] = {**value, "by": row.answered_by, "at": row.created_at}
    return out


def answer(
    session: Session, *, actor: Actor, question_key: str, value: bool, note: str = ""
) -> MaturityAnswer:
    """Record a questionnaire answer (leads); the newest answer per question counts."""
    require(actor, "answer_maturity")
    if question_key not in QUESTIONS:
        raise ValidationFailed(f"maturity: unknown question {question_key!r}; known: {', '.join(QUESTIONS)}")
    if not isinstance(value, bool):
        raise ValidationFailed(f"maturity: answer to {question_key!r} must be yes or no")
    row = MaturityAnswer(
        question_key=question_key, answer={"value": value, "note": note}, answered_by=actor.username
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="maturity.answer",
        entity="maturity_answer",
        entity_id=question_key,
        payload={"value": value, "note": note},
    )
    return row


def _count(session: Session, *where: Any, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _l1_traces(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    t = RollupTraffic.__table__
    n, full = session.connection().execute(select(func.sum(t.c.traces), func.sum(t.c.instrumented))).one()
    n, full = int(n or 0), int(full or 0)
    share = full / n if n else 0.0
    evidence = f"{full:,} of {n:,} traces ({share:.0%}) carry tokens, cost and latency"
    return (
        share >= INSTRUMENTED_SHARE and n > 0,
        evidence,
        "Log tokens, cost and latency on at least 90% of traces.",
    )


def _l2_prompts(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    manifests = session.exec(select(Release.name, Release.manifest)).all()
    versioned = [
        n for n, m in manifests if isinstance((m or {}).get("prompts"), dict) and m["prompts"].get("version")
    ]
    evidence = f"{len(versioned)} release manifest(s) with a prompt version ({', '.join(versioned[:5])})"
    return bool(versioned), evidence, "Create releases whose manifest names the prompt version."


def _exists(session: Session, *where: Any, model: Any) -> bool:
    """Whether any row matches: LIMIT 1 stops at the first, where a count would walk millions of rows."""
    return session.exec(select(literal(1)).select_from(model).where(*where).limit(1)).first() is not None


def _l2_judge(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    found = _exists(session, model=RollupVerdict)  # successful verdicts only are rolled up
    evidence = "at least one model-graded verdict" if found else "no model-graded verdict"
    return found, evidence, "Run an LLM judge over traces (review-desk judge run)."


def _l2_gate(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    n = _count(session, model=GatePolicy)
    return n > 0, f"{n} gate policy version(s)", "Define a release gate policy with metric thresholds."


def _l2_budget(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    row = settings.is_set(session, "cost.budget")
    budget = settings.get(session, "cost.budget")
    evidence = (
        f"${budget.usd:,.2f} per {budget.period} set by {row.updated_by}"
        if row
        else "only the default budget"
    )
    return row is not None, evidence, "Set a cost budget per period under Settings > Thresholds."


def _l3_models(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    models = [m for m in read.distinct(session, RollupTraffic, "model") if m]
    return len(models) >= 2, f"{len(models)} model(s) serve traffic", "Route some requests to a second model."


def _l3_cache(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    found = _exists(session, RollupTraffic.cache_hits > 0, model=RollupTraffic)
    evidence = "at least one cache hit" if found else "no cache hit logged"
    return found, evidence, "Add a (semantic) cache in front of the model and log cache_hit."


def _l3_gates(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    approved = _count(session, Approval.decision == "approved", model=Approval)
    gated = _count(
        session, Approval.decision == "approved", Approval.gate_policy_id.is_not(None), model=Approval
    )
    evidence = f"{gated} of {approved} approvals reference a gate policy"
    return approved > 0 and gated == approved, evidence, "Approve every release against a gate policy."


def _l3_canary(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    n = _count(
        session,
        Deployment.kind == "canary",
        Deployment.stage_pct > 0,
        Deployment.stage_pct < 100,
        model=Deployment,
    )
    return n > 0, f"{n} partial canary stage(s)", "Roll releases out in canary stages (e.g. 5%, 25%, 50%)."


def _l4_scheduled(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    n = _count(session, JudgeRun.scheduled.is_(True), model=JudgeRun)
    return n > 0, f"{n} scheduled judge run(s)", "Schedule judge runs (not only manual ones)."


def _l4_cadence(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    weeks = 0
    for w in range(CADENCE_WEEKS):
        end = as_of - timedelta(days=7 * w)
        weeks += (
            _count(session, Label.created_at >= end - timedelta(days=7), Label.created_at < end, model=Label)
            > 0
        )
    evidence = f"labels in {weeks} of the last {CADENCE_WEEKS} weeks"
    return (
        weeks >= CADENCE_MIN_WEEKS,
        evidence,
        f"Review every week (labels in {CADENCE_MIN_WEEKS} of {CADENCE_WEEKS} weeks).",
    )


def _l4_rollback(session: Session, as_of: datetime) -> tuple[bool, str, str]:
    mode = settings.get(session, "rollback.rule").mode
    return mode == "auto", f"rollback rule mode: {mode}", "Switch the rollback rule to automatic."


def _question(key: str) -> Callable[[Session, datetime], tuple[bool, str, str]]:
    def check(session: Session, as_of: datetime) -> tuple[bool, str, str]:
        given = latest_answers(session).get(key)
        if given is None:
            return False, "not answered", f"Answer the questionnaire: {QUESTIONS[key]}"
        evidence = f"answered {'yes' if given.get('value') else 'no'} by {given['by']}"
        return (
            bool(given.get("value")),
            evidence,
            QUESTIONS[key].replace("Do you", "Start to").rstrip("?") + ".",
        )

    return check


CRITERIA: list[tuple[str, int, str, Callable[[Session, datetime], tuple[bool, str, str]]]] = [
    ("traces_instrumented", 1, "Traces carry tokens, cost and latency", _l1_traces),
    ("prompts_versioned", 2, "Prompts versioned in release manifests", _l2_prompts),
    ("judge_evals", 2, "Model-graded (judge) evaluations", _l2_judge),
    ("gate_policy", 2, "A release gate policy", _l2_gate),
    ("cost_budget", 2, "A cost budget", _l2_budget),
    ("models_routed", 3, "Several models routed", _l3_models),
    ("cache_hits", 3, "Cache hits", _l3_cache),
    ("gates_enforced", 3, "Gates enforced on releases", _l3_gates),
    ("canary_stages", 3, "Canary stages used", _l3_canary),
    ("scheduled_judge_runs", 4, "Scheduled judge runs", _l4_scheduled),
    ("review_cadence", 4, "Steady human review cadence", _l4_cadence),
    ("auto_rollback", 4, "Automated rollback rule on", _l4_rollback),
    ("routing_quality_cost", 4, "Routing by quality and cost", _question("routing_quality_cost")),
    (
        "automated_safety_monitoring",
        4,
        "Automated safety monitoring",
        _question("automated_safety_monitoring"),
    ),
]


def assess(session: Session, *, as_of: datetime | None = None) -> MaturityReport:
    """Every criterion with its evidence, the level reached and the checklist for the next level."""
    as_of = as_of or utcnow()
    criteria = []
    for key, level, label, check in CRITERIA:
        met, evidence, missing = check(session, as_of)
        criteria.append(Criterion(key, level, label, met, evidence, "" if met else missing))
    level = 0
    for candidate in range(1, 5):
        if all(c.met for c in criteria if c.level <= candidate):
            level = candidate
        else:
            break
    next_steps = [c.missing for c in criteria if c.level <= level + 1 and not c.met] if level < 4 else []
    return MaturityReport(level, LEVELS[level], criteria, next_steps)
