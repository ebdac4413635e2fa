"""The release gate: eval evidence (metrics) checked against the versioned gate policy's thresholds.

Kept apart from releases.py, which looks up the release and its eval runs and re-exports these names:
this module needs no release lookup, so it imports nothing from releases (no import cycle).
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from review_store import retrieval, versioning
from review_store.errors import ValidationFailed
from review_store.hashing import content_hash
from review_store.judge.agreement import TrustResult, judge_trust
from review_store.models import CheckRun, EvalRun, GatePolicy
from review_store.pairwise import report as pairwise_report
from review_store.permissions import Actor, require

# The gate metric fed by tier-1 checks (`review-desk eval run`): the newest check run's share of cases that
# pass every check. A policy threshold on it reads that run, never an imported eval run's metric.
TIER1_METRIC = "tier1_pass_rate"
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


def normalize_metrics(metrics: Any, *, source: str = "metrics") -> dict[str, dict[str, Any]]:
    """{name: number | {"value", "judge"?, "question"?, "segment"?}} -> the stored shape, validated."""
    if not isinstance(metrics, dict) or not metrics:
        raise ValidationFailed(f"{source}: 'metrics' must be a non-empty object of metric name -> value")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in metrics.items():
        entry = {"value": entry} if not isinstance(entry, dict) else dict(entry)
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationFailed(f"{source}: field 'metrics.{name}.value' must be a number, got {value!r}")
        unknown = set(entry) - {"value", "judge", "question", "segment"}
        if unknown:
            raise ValidationFailed(f"{source}: metrics.{name}: unknown field(s) {', '.join(sorted(unknown))}")
        if ("judge" in entry) != ("question" in entry):
            raise ValidationFailed(f"{source}: metrics.{name}: 'judge' and 'question' go together")
        out[str(name)] = entry
    return out


def parse_eval_json(text: str, *, source: str = "eval.json") -> list[dict[str, Any]]:
    """The eval job's JSON (one run object or a list of them) -> kwargs for record_eval_run."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{source}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    runs = data if isinstance(data, list) else [data]
    out = []
    for i, run in enumerate(runs):
        where = f"{source}[{i}]" if isinstance(data, list) else source
        if not isinstance(run, dict) or not run.get("release"):
            raise ValidationFailed(f"{where}: field 'release' is required")
        out.append(
            {
                "release": str(run["release"]),
                "golden_set_version": str(run.get("golden_set_version", "")),
                "source": str(run.get("source", source)),
                "metrics": normalize_metrics(run.get("metrics"), source=where),
            }
        )
    return out


def parse_thresholds(text: str, *, source: str = "thresholds") -> list[dict[str, Any]]:
    """YAML or JSON text: a list of {"metric", "op", "threshold"} (or {"thresholds": [...]}); checked
    again, row by row, by `create_gate_policy`."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ValidationFailed(f"{where}: not valid YAML/JSON ({getattr(exc, 'problem', exc)})") from exc
    if isinstance(data, dict) and set(data) == {"thresholds"}:
        data = data["thresholds"]
    if not isinstance(data, list):
        raise ValidationFailed(f"{source}: expected a list of {{metric, op, threshold}}")
    return data


def create_gate_policy(session: Session, *, actor: Actor, thresholds: list[dict[str, Any]]) -> GatePolicy:
    """A new version of the thresholds (older versions stay, so old approvals keep their meaning)."""
    require(actor, "edit_gate_policy")
    if not isinstance(thresholds, list) or not thresholds:
        raise ValidationFailed(
            "gate policy: 'thresholds' must be a non-empty list of {metric, op, threshold}"
        )
    clean = []
    for i, row in enumerate(thresholds):
        if not isinstance(row, dict) or not row.get("metric"):
            raise ValidationFailed(f"gate policy: thresholds[{i}].metric is required")
        if row.get("op") not in OPS:
            raise ValidationFailed(f"gate policy: thresholds[{i}].op must be one of {', '.join(OPS)}")
        threshold = row.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValidationFailed(f"gate policy: thresholds[{i}].threshold must be a number")
        if pairwise_report.is_metric(str(row["metric"])):
            pairwise_report.check_threshold(row, where=f"gate policy: thresholds[{i}]")
        clean.append({"metric": str(row["metric"]), "op": row["op"], "threshold": threshold})
    return versioning.save_version(
        session,
        actor=actor,
        model=GatePolicy,
        content=clean,
        values={"thresholds": clean},
        entity="gate_policy",
        payload={"thresholds": clean},
    )


def current_gate_policy(session: Session) -> GatePolicy | None:
    return session.exec(select(GatePolicy).order_by(col(GatePolicy.version).desc()).limit(1)).first()


@dataclass
class GateRow:
    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    judge: str | None = None
    question: str | None = None
    segment: str | None = None
    judge_trusted: bool | None = None
    note: str = ""

    @property
    def result(self) -> str:
        return "pass" if self.passed else "fail"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "result": self.result}


@dataclass
class GateResult:
    release: str
    policy_version: int | None
    eval_run_id: int | None
    rows: list[GateRow] = field(default_factory=list)
    evidence_hash: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    @property
    def failing(self) -> list[GateRow]:
        return [row for row in self.rows if not row.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "passed": self.passed,
            "policy_version": self.policy_version,
            "eval_run_id": self.eval_run_id,
            "evidence_hash": self.evidence_hash,
            "rows": [row.as_dict() for row in self.rows],
        }


def _gate_row(spec: dict[str, Any], entry: dict[str, Any] | None, trust: TrustResult | None) -> GateRow:
    row = GateRow(spec["metric"], spec["op"], spec["threshold"], None, False)
    if entry is None:
        row.note = "no evidence: the latest eval run has no such metric"
        return row
    row.value, row.judge, row.question = entry.get("value"), entry.get("judge"), entry.get("question")
    row.segment = entry.get("segment")
    meets = row.value is not None and OPS[row.op](row.value, row.threshold)
    if trust is not None:
        row.judge_trusted = trust.trusted
        if not trust.trusted:
            row.note = trust.reason  # fails closed: an untrusted judge's score is not evidence
            return row
        row.note = trust.reason
    row.passed = bool(meets)
    if not meets:
        row.note = (f"{row.value} is not {row.op} {row.threshold}; " + row.note).rstrip("; ")
    return row


def _tier1_entry(checks: CheckRun | None) -> tuple[dict[str, Any] | None, str]:
    if checks is None:
        return None, "no evidence: no tier-1 check run (review-desk eval run --release NAME)"
    if checks.pass_rate is None:
        return None, f"no evidence: check run {checks.id} checked no case"
    return {"value": checks.pass_rate}, ""


def evaluate(
    session: Session, *, release: str, runs: list[EvalRun], checks: CheckRun | None = None
) -> GateResult:
    """The latest of `runs` (a release's eval runs, oldest first) against the newest gate policy.

    A threshold on `tier1_pass_rate` reads `checks` (the release's newest tier-1 check run) instead; one on
    `retrieval_precision_at_k` or `retrieval_recall` (optionally `:<segment>`) reads the release's
    retrieval quality (review_store.retrieval.retrieval_quality at the "retrieval.k" setting's k); one on
    `pairwise:<question>` is the non-inferiority rule of the release's shadow run against its baseline
    (review_store.pairwise.report: value = the lower end of the paired bootstrap CI of delta).

    Judge-scored metrics count only when the judge is trusted for that question, in the metric's segment
    when it has one (`judge.agreement.judge_trust`, the one trust rule the Agreement page and CLI show);
    missing evidence or no policy fails. The evidence hash covers the policy version, every eval run of
    the release and the rows' values and verdicts (not the agreement numbers, which move with each label).
    """
    policy = current_gate_policy(session)
    latest = runs[-1] if runs else None
    result = GateResult(release, policy.version if policy else None, latest.id if latest else None)
    trust_cache: dict[tuple[str, str, str | None], TrustResult] = {}
    pairwise = pairwise_report.gate_rows(
        session, release=release, thresholds=policy.thresholds if policy else []
    )
    for spec in policy.thresholds if policy else []:
        if spec["metric"] in pairwise:  # the non-inferiority rule (review_store.pairwise.report.decide)
            found = pairwise[spec["metric"]]
            row = GateRow(spec["metric"], spec["op"], spec["threshold"], found["value"], found["passed"])
            row.question, row.note = found["question"], found["note"]
            result.rows.append(row)
            continue
        if spec["metric"] == TIER1_METRIC:
            entry, why = _tier1_entry(checks)
            row = _gate_row(spec, entry, None)
            row.note = why or row.note
            result.rows.append(row)
            continue
        if retrieval.is_metric(spec["metric"]):
            entry, why = retrieval.gate_entry(session, metric=spec["metric"], release=release)
            row = _gate_row(spec, entry, None)
            row.note = why or row.note
            result.rows.append(row)
            continue
        entry = (latest.metrics or {}).get(spec["metric"]) if latest else None
        trust = None
        if entry and entry.get("judge") and entry.get("question"):
            key = (entry["judge"], entry["question"], entry.get("segment") or None)
            if key not in trust_cache:
                trust_cache[key] = judge_trust(session, judge=key[0], question=key[1], segment=key[2])
            trust = trust_cache[key]
        result.rows.append(_gate_row(spec, entry, trust))
    evidence = {
        "policy": {"version": policy.version, "hash": policy.content_hash} if policy else None,
        "eval_runs": [
            {"id": r.id, "golden_set_version": r.golden_set_version, "metrics": r.metrics} for r in runs
        ],
        # the segment is already in the eval runs; leaving it out keeps older evidence hashes valid
        "rows": [
            {k: v for k, v in row.as_dict().items() if k not in ("note", "segment")} for row in result.rows
        ],
    }
    if checks is not None:  # only when there is one, so evidence hashes from before tier-1 checks hold
        evidence["check_run"] = {
            "id": checks.id,
            "checks_hash": checks.checks_hash,
            "pass_rate": checks.pass_rate,
        }
    result.evidence_hash = content_hash(evidence)
    return result
