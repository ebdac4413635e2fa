"""Four-eyes sign-off: who may approve or reject a release, and the recorded decision.

`sign_off_blockers` is THE rule. The Releases page asks it to enable or disable Approve/Reject and to
say why, the CLI's refusals come from it, and `approve_release`/`reject_release` raise its first
blocker, so what the page shows and what the store enforces cannot drift apart:

- role: only owners sign off;                       (PermissionDenied)
- author: never the release's author (four-eyes);   (PermissionDenied)
- status: only a candidate can be signed off;       (ConflictError)
- comment: a written comment is required;           (ValidationFailed; checked when a comment is given)
- evidence: the evidence must still hash to what the approver was shown;   (ConflictError; approve)
- gate: a failing gate needs a written override reason, recorded as an exception.  (ConflictError; approve)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import ConflictError, PermissionDenied, ReviewStoreError, ValidationFailed
from review_store.models import Approval, GatePolicy, Release, User
from review_store.permissions import Actor
from review_store.releases.catalog import gate, get_release
from review_store.releases.gate import GateResult

SIGNABLE = ("candidate",)
Decision = Literal["approve", "reject"]
_ERRORS: dict[str, type[ReviewStoreError]] = {
    "role": PermissionDenied,
    "author": PermissionDenied,
    "status": ConflictError,
    "comment": ValidationFailed,
    "evidence": ConflictError,
    "gate": ConflictError,
}


@dataclass(frozen=True)
class Blocker:
    """One reason a sign-off is refused: which rule, and the sentence shown to the user."""

    rule: str
    message: str

    def error(self) -> ReviewStoreError:
        return _ERRORS[self.rule](self.message)


def sign_off_blockers(
    session: Session,
    *,
    actor: Actor,
    release: str,
    decision: Decision,
    comment: str | None = None,
    override_reason: str | None = None,
    seen_evidence_hash: str | None = None,
    gate_result: GateResult | None = None,
) -> list[Blocker]:
    """Every reason `actor` may not `decision` the release now, most fundamental first (empty: allowed).

    `comment=None` skips the comment rule (a page asking before anything is typed); the store's own
    approve/reject always pass the comment. `gate_result` saves recomputing a gate the caller has.
    """
    row = get_release(session, name=release)
    out: list[Blocker] = []
    if not actor.can("approve_release"):
        out.append(
            Blocker("role", f"{actor.username} ({actor.role}) may not approve releases; only owners sign off")
        )
    if actor.id is not None and actor.id == row.author_id:
        out.append(
            Blocker("author", f"{actor.username} authored {release}; four-eyes: another owner must sign off")
        )
    if row.status not in SIGNABLE:
        out.append(Blocker("status", f"{release} is {row.status}; only a candidate can be signed off"))
    if comment is not None and not comment.strip():
        out.append(Blocker("comment", "sign-off: field 'comment' is required"))
    if decision == "approve":
        result = gate_result or gate(session, release=release)
        if seen_evidence_hash and seen_evidence_hash != result.evidence_hash:
            out.append(
                Blocker(
                    "evidence",
                    f"the evidence of {release} changed since you looked; reload and review it again",
                )
            )
        if not result.passed and not (override_reason or "").strip():
            failing = "; ".join(f"{r.metric}: {r.note or 'fails'}" for r in result.failing)
            out.append(
                Blocker(
                    "gate",
                    f"{release}'s gate fails ({failing}); approving needs an override reason, "
                    "recorded as an exception",
                )
            )
    return out


def _refuse(blockers: list[Blocker]) -> None:
    if blockers:
        raise blockers[0].error()


def approve_release(
    session: Session,
    *,
    actor: Actor,
    release: str,
    comment: str,
    override_reason: str | None = None,
    seen_evidence_hash: str | None = None,
) -> Approval:
    """Approve a candidate on its current evidence (refused with the first of `sign_off_blockers`).

    `seen_evidence_hash` is the hash the approver was shown; when given and the evidence moved meanwhile,
    the approval is refused rather than attached to evidence nobody looked at.
    """
    result = gate(session, release=release)
    _refuse(
        sign_off_blockers(
            session,
            actor=actor,
            release=release,
            decision="approve",
            comment=comment or "",
            override_reason=override_reason,
            seen_evidence_hash=seen_evidence_hash,
            gate_result=result,
        )
    )
    row = get_release(session, name=release)
    override = (override_reason or "").strip() or None
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
    _refuse(
        sign_off_blockers(session, actor=actor, release=release, decision="reject", comment=comment or "")
    )
    row = get_release(session, name=release)
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


def approvals(session: Session, *, release: str) -> list[tuple[Approval, str]]:
    """The release's sign-offs, oldest first, each with the approver's username."""
    row = get_release(session, name=release)
    found = session.exec(
        select(Approval, User.username)
        .join(User, col(User.id) == Approval.approver_id)
        .where(Approval.release_id == row.id)
        .order_by(col(Approval.created_at), col(Approval.id))
    ).all()
    return [(approval, username) for approval, username in found]


def latest_approval(session: Session, *, release: Release) -> Approval | None:
    """The release's newest sign-off (approval or rejection), or None."""
    return session.exec(
        select(Approval)
        .where(Approval.release_id == release.id)
        .order_by(col(Approval.created_at).desc(), col(Approval.id).desc())
        .limit(1)
    ).first()
