"""Releases: manifests, diffs, eval evidence, the versioned gate policy, and four-eyes sign-off.

Canary stages, known-good, rollback and the rollback rule live in `review_store.deployments`; parsing,
hashing and diffing manifests in `review_store.manifests`; the gate policy and the gate's rows in
`review_store.gate` (re-exported here). Every rule is enforced here, whatever the UI
shows: only owners sign off, never the release's author; approval needs a passing gate or a written
override (recorded as an exception); an approval carries the hash of the evidence it was given, so a
release whose evidence changed afterwards cannot be promoted on the old approval.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from review_store.models import Approval, EvalRun, GatePolicy, Release, User
from review_store.permissions import Actor, require
from review_store.releases import manifests
from review_store.releases.gate import (
    OPS,
    GateResult,
    GateRow,
    create_gate_policy,
    current_gate_policy,
    evaluate,
    normalize_metrics,
    parse_eval_json,
)

__all__ = [
    "OPS",
    "SIGNABLE",
    "GateResult",
    "GateRow",
    "approvals",
    "approve_release",
    "create_gate_policy",
    "create_release",
    "current_gate_policy",
    "diff_releases",
    "eval_runs",
    "gate",
    "get_release",
    "latest_approval",
    "list_releases",
    "normalize_metrics",
    "parse_eval_json",
    "record_eval_run",
    "reject_release",
    "sign_off_blocker",
]

SIGNABLE = ("candidate",)


# --- releases and manifests -------------------------------------------------------------------------


def get_release(session: Session, *, name: str) -> Release:
    release = session.exec(select(Release).where(Release.name == name)).first()
    if release is None:
        raise NotFound(f"no release named {name!r}")
    return release


def create_release(
    session: Session,
    *,
    actor: Actor,
    name: str,
    manifest: dict[str, Any],
    parent: str | None = None,
    notes: str | None = None,
) -> Release:
    """Register a candidate from a manifest (validated and hashed); warnings for unpinned model aliases go
    into the audit payload and are returned by `manifests.model_warnings`."""
    require(actor, "create_release")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("release: field 'name' is required")
    if actor.id is None:
        raise ValidationFailed("release: the author must be a user (the system actor cannot author)")
    if session.exec(select(Release).where(Release.name == name)).first() is not None:
        raise ConflictError(f"a release named {name!r} already exists")
    clean = manifests.validate_manifest(manifest, source=f"release {name}")
    parent_row = get_release(session, name=parent) if parent else None
    release = Release(
        name=name,
        manifest=clean,
        manifest_hash=manifests.manifest_hash(clean),
        author_id=actor.id,
        status="candidate",
        parent_id=parent_row.id if parent_row else None,
        notes=notes,
    )
    session.add(release)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.create",
        entity="release",
        entity_id=name,
        payload={
            "manifest_hash": release.manifest_hash,
            "prompt_hashes": manifests.prompt_hashes(clean),
            "warnings": manifests.model_warnings(clean),
            "parent": parent,
        },
    )
    return release


def list_releases(session: Session) -> list[dict[str, Any]]:
    """Every release, newest first, with its author and status (for the list page and `release list`)."""
    rows = session.exec(
        select(Release, User.username)
        .join(User, col(User.id) == Release.author_id)
        .order_by(col(Release.created_at).desc(), col(Release.id).desc())
    ).all()
    return [
        {
            "name": r.name,
            "status": r.status,
            "author": author,
            "created_at": r.created_at,
            "manifest_hash": r.manifest_hash,
            "prompt_version": (r.manifest.get("prompts") or {}).get("version", ""),
        }
        for r, author in rows
    ]


def diff_releases(session: Session, *, a: str, b: str) -> list[manifests.ComponentDiff]:
    """Per-component diff from release a to release b (prompts with a unified text diff)."""
    left, right = get_release(session, name=a), get_release(session, name=b)
    return manifests.diff_manifests(left.manifest, right.manifest, a_name=a, b_name=b)


# --- evidence and gate -----------------------------------------------------------------------------------------


def record_eval_run(
    session: Session,
    *,
    actor: Actor,
    release: str,
    metrics: dict[str, Any],
    golden_set_version: str = "",
    source: str = "",
) -> EvalRun:
    """Attach one eval run (metrics on a golden-set version) to a release as evidence."""
    require(actor, "record_eval")
    row = get_release(session, name=release)
    run = EvalRun(
        release_id=row.id,
        golden_set_version=golden_set_version,
        metrics=normalize_metrics(metrics, source=f"eval run for {release}"),
        source=source,
        created_by=actor.username,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="eval.record",
        entity="release",
        entity_id=release,
        payload={
            "eval_run_id": run.id,
            "golden_set_version": golden_set_version,
            "metrics": sorted(run.metrics),
        },
    )
    return run


def eval_runs(session: Session, *, release: str) -> list[EvalRun]:
    row = get_release(session, name=release)
    return list(
        session.exec(
            select(EvalRun)
            .where(EvalRun.release_id == row.id)
            .order_by(col(EvalRun.created_at), col(EvalRun.id))
        ).all()
    )


def gate(session: Session, *, release: str) -> GateResult:
    """The release's latest eval run against the newest gate policy, one row per threshold (see gate.evaluate)."""
    return evaluate(session, release=release, runs=eval_runs(session, release=release))


# --- sign-off --------------------------------------------------------------------------------------------


def sign_off_blocker(session: Session, *, actor: Actor, release: str) -> str | None:
    """Why this actor may not sign off this release at all (role, four-eyes, status), or None."""
    row = get_release(session, name=release)
    if not actor.can("approve_release"):
        return f"{actor.username} ({actor.role}) may not approve releases; only owners sign off"
    if actor.id is not None and actor.id == row.author_id:
        return f"{actor.username} authored {release}; four-eyes: another owner must sign off"
    if row.status not in SIGNABLE:
        return f"{release} is {row.status}; only a candidate can be signed off"
    return None


def _check_sign_off(session: Session, *, actor: Actor, release: str, comment: str) -> Release:
    require(actor, "approve_release")
    row = get_release(session, name=release)
    if actor.id is not None and actor.id == row.author_id:
        raise PermissionDenied(f"{actor.username} authored {release}; four-eyes: another owner must sign off")
    if row.status not in SIGNABLE:
        raise ConflictError(f"{release} is {row.status}; only a candidate can be signed off")
    if not (comment or "").strip():
        raise ValidationFailed("sign-off: field 'comment' is required")
    return row


def approve_release(
    session: Session,
    *,
    actor: Actor,
    release: str,
    comment: str,
    override_reason: str | None = None,
    seen_evidence_hash: str | None = None,
) -> Approval:
    """Approve a candidate on its current evidence; a failing gate needs a written override (an exception).

    `seen_evidence_hash` is the hash the approver was shown; when given and the evidence moved meanwhile,
    the approval is refused rather than attached to evidence nobody looked at.
    """
    row = _check_sign_off(session, actor=actor, release=release, comment=comment)
    result = gate(session, release=release)
    if seen_evidence_hash and seen_evidence_hash != result.evidence_hash:
        raise ConflictError(f"the evidence of {release} changed since you looked; reload and review it again")
    override = (override_reason or "").strip() or None
    if not result.passed and override is None:
        failing = "; ".join(f"{r.metric}: {r.note or 'fails'}" for r in result.failing)
        raise ConflictError(
            f"{release}'s gate fails ({failing}); approving needs an override reason, recorded as an exception"
        )
    approval = Approval(
        release_id=row.id,
        approver_id=actor.id,
        decision="approved",
        comment=comment.strip(),
        evidence_hash=result.evidence_hash,
        gate_policy_id=_policy_id(session, result.policy_version),
        override_reason=override if not result.passed else None,
    )
    row.status = "approved"
    session.add_all([approval, row])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.approve",
        entity="release",
        entity_id=release,
        payload={
            "evidence_hash": result.evidence_hash,
            "gate_passed": result.passed,
            "policy_version": result.policy_version,
            "exception": approval.override_reason is not None,
            "override_reason": approval.override_reason,
            "comment": approval.comment,
        },
    )
    return approval


def reject_release(session: Session, *, actor: Actor, release: str, comment: str) -> Approval:
    """Reject a candidate with a comment; a rejected release can never be promoted."""
    row = _check_sign_off(session, actor=actor, release=release, comment=comment)
    result = gate(session, release=release)
    approval = Approval(
        release_id=row.id,
        approver_id=actor.id,
        decision="rejected",
        comment=comment.strip(),
        evidence_hash=result.evidence_hash,
        gate_policy_id=_policy_id(session, result.policy_version),
    )
    row.status = "rejected"
    session.add_all([approval, row])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.reject",
        entity="release",
        entity_id=release,
        payload={"evidence_hash": result.evidence_hash, "comment": approval.comment},
    )
    return approval


def _policy_id(session: Session, version: int | None) -> int | None:
    if version is None:
        return None
    return session.exec(select(GatePolicy.id).where(GatePolicy.version == version)).first()


def approvals(session: Session, *, release: str) -> list[dict[str, Any]]:
    row = get_release(session, name=release)
    found = session.exec(
        select(Approval, User.username)
        .join(User, col(User.id) == Approval.approver_id)
        .where(Approval.release_id == row.id)
        .order_by(col(Approval.created_at), col(Approval.id))
    ).all()
    return [
        {
            "approver": username,
            "decision": a.decision,
            "comment": a.comment,
            "exception": a.override_reason is not None,
            "override_reason": a.override_reason,
            "evidence_hash": a.evidence_hash,
            "created_at": a.created_at,
        }
        for a, username in found
    ]


def latest_approval(session: Session, *, release_id: int) -> Approval | None:
    return session.exec(
        select(Approval)
        .where(Approval.release_id == release_id)
        .order_by(col(Approval.created_at).desc(), col(Approval.id).desc())
        .limit(1)
    ).first()
