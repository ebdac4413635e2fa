"""How desk.releases builds its read models from store rows (called inside the part's session)."""

from __future__ import annotations

from typing import Any

from review_store.desk.release_views import (
    ApprovalView,
    ComponentChange,
    DeploymentStepView,
    EvalMetric,
    EvalRunView,
    FieldChange,
    GatePolicyView,
    GateRowView,
    GateView,
    PromptHash,
    ReleaseDetail,
    ReleaseDiff,
    ReleaseSummary,
    RuleCheckView,
    RuleStatusView,
    RuleWindow,
    RuleWindowSide,
    Scalar,
    SignOffBlocker,
    SignOffStatus,
    Threshold,
    TimelineEntry,
)
from review_store.hashing import canonical_json
from review_store.models import Approval, Deployment, EvalRun, GatePolicy, Release
from review_store.releases.deployments import TimelineStep
from review_store.releases.gate import GateResult
from review_store.releases.manifests import ComponentDiff, model_warnings, prompt_hashes
from review_store.releases.rollback_rule import RuleStatus
from review_store.releases.signoff import Blocker


def summary(release: Release, author: str) -> ReleaseSummary:
    return ReleaseSummary(
        name=release.name,
        status=release.status,
        author=author,
        created_at=release.created_at,
        manifest_hash=release.manifest_hash,
        prompt_version=str((release.manifest.get("prompts") or {}).get("version", "")),
    )


def detail(release: Release, *, author: str, parent: str | None, stage_pct: int) -> ReleaseDetail:
    manifest = release.manifest or {}
    return ReleaseDetail(
        name=release.name,
        status=release.status,
        author=author,
        parent=parent,
        notes=release.notes,
        created_at=release.created_at,
        manifest_hash=release.manifest_hash,
        manifest_json=canonical_json(manifest),
        prompt_hashes=tuple(PromptHash(name=k, sha256=v) for k, v in prompt_hashes(manifest).items()),
        warnings=tuple(model_warnings(manifest)),
        stage_pct=stage_pct,
    )


def _scalar(value: Any) -> Scalar:
    return value if value is None or isinstance(value, str | int | float | bool) else canonical_json(value)


def diff(old: str, new: str, parts: list[ComponentDiff]) -> ReleaseDiff:
    return ReleaseDiff(
        old=old,
        new=new,
        components=tuple(
            ComponentChange(
                component=p.component,
                changed=p.changed,
                summary=p.summary,
                changes=tuple(
                    FieldChange(field=c["field"], old=_scalar(c["from"]), new=_scalar(c["to"]))
                    for c in p.changes
                ),
                text_diff=p.text_diff,
            )
            for p in parts
        ),
    )


def eval_run(run: EvalRun, *, release: str) -> EvalRunView:
    return EvalRunView(
        id=run.id or 0,
        release=release,
        golden_set_version=run.golden_set_version,
        source=run.source,
        created_by=run.created_by,
        created_at=run.created_at,
        metrics=tuple(
            EvalMetric(
                name=name,
                value=float(entry["value"]),
                judge=entry.get("judge"),
                question=entry.get("question"),
                segment=entry.get("segment"),
            )
            for name, entry in sorted((run.metrics or {}).items())
        ),
    )


def gate(result: GateResult) -> GateView:
    return GateView(
        release=result.release,
        passed=result.passed,
        policy_version=result.policy_version,
        eval_run_id=result.eval_run_id,
        evidence_hash=result.evidence_hash,
        rows=tuple(
            GateRowView(
                metric=r.metric,
                op=r.op,
                threshold=float(r.threshold),
                value=None if r.value is None else float(r.value),
                passed=r.passed,
                result="pass" if r.passed else "fail",
                judge=r.judge,
                question=r.question,
                segment=r.segment,
                judge_trusted=r.judge_trusted,
                note=r.note,
            )
            for r in result.rows
        ),
    )


def policy(row: GatePolicy) -> GatePolicyView:
    return GatePolicyView(
        version=row.version,
        thresholds=tuple(
            Threshold(metric=t["metric"], op=t["op"], threshold=float(t["threshold"])) for t in row.thresholds
        ),
        content_hash=row.content_hash,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def sign_off(release: str, actor: str, approve: list[Blocker], reject: list[Blocker]) -> SignOffStatus:
    return SignOffStatus(
        release=release,
        actor=actor,
        can_approve=not approve,
        can_reject=not reject,
        approve_blockers=tuple(SignOffBlocker(rule=b.rule, message=b.message) for b in approve),
        reject_blockers=tuple(SignOffBlocker(rule=b.rule, message=b.message) for b in reject),
    )


def approval(row: Approval, *, release: str, approver: str) -> ApprovalView:
    return ApprovalView(
        release=release,
        approver=approver,
        decision=row.decision,
        comment=row.comment,
        exception=row.override_reason is not None,
        override_reason=row.override_reason,
        evidence_hash=row.evidence_hash,
        created_at=row.created_at,
    )


def step(row: Deployment, *, release: str) -> DeploymentStepView:
    return DeploymentStepView(
        release=release,
        kind=row.kind,
        stage_pct=row.stage_pct,
        healthy=row.healthy,
        known_good=row.known_good,
        actor=row.actor,
        note=row.note,
        created_at=row.created_at,
    )


def timeline(steps: list[TimelineStep]) -> tuple[TimelineEntry, ...]:
    return tuple(
        TimelineEntry(ts=s.ts, source=s.source, seq=s.seq, actor=s.actor, what=s.what, detail=s.detail)
        for s in steps
    )


def rule(status: RuleStatus) -> RuleStatusView:
    w = status.window
    window = None
    if w:
        window = RuleWindow(
            hours=float(w["hours"]),
            live=RuleWindowSide(**w["live"]),
            baseline=RuleWindowSide(**w["baseline"]),
        )
    return RuleStatusView(
        mode=status.mode,
        live=status.live,
        baseline=status.baseline,
        window=window,
        flagged=status.flagged,
        summary=status.summary,
        action=status.action,
        checks=tuple(
            RuleCheckView(
                metric=c.metric,
                live=c.live,
                baseline=c.baseline,
                ratio=c.ratio,
                max_ratio=float(c.max_ratio),
                flagged=c.flagged,
                p_value=c.p_value,
                note=c.note,
            )
            for c in status.checks
        ),
    )
