"""Rollout actions: canary stages, the health check that makes a release known-good, and rollback.

Status story: an approved release is promoted 5 -> 25 -> 50 -> 100 % (status `deploying`, then `live`);
a post-deploy health check at 100 % marks it `known_good` (the previous known-good becomes `superseded`).
Rollback puts the last known-good release back in one step: whatever was live or deploying becomes
`rolled_back`, the known-good release `live` again, so the deployed manifest is exactly its manifest.
What is serving comes from `serving`; the rollback rule (`rollback_rule`) only reads, and `watch` is
where the rule's verdict drives these actions, so this module and the rule never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import ConflictError
from review_store.models import Deployment, Release
from review_store.permissions import Actor, require
from review_store.releases.catalog import gate, get_release
from review_store.releases.serving import STAGES, current_stage, known_good_release, live_release
from review_store.releases.signoff import latest_approval


@dataclass(frozen=True)
class TimelineStep:
    """One line of a release's history: an audit event or a recorded deployment step."""

    ts: datetime
    source: str  # audit | deployment
    seq: int | None
    actor: str
    what: str
    detail: str


def deployed_manifest(session: Session) -> dict[str, Any]:
    """What is serving now: release name, manifest and its hash."""
    live = live_release(session)
    if live is None:
        return {"release": None, "manifest": {}, "manifest_hash": None}
    return {"release": live.name, "manifest": live.manifest, "manifest_hash": live.manifest_hash}


def promote_release(session: Session, *, actor: Actor, release: str) -> Deployment:
    """Advance an approved release to its next canary stage; refused on a rejected release, without an
    approval, or when the evidence no longer hashes to what the approver saw."""
    require(actor, "deploy_release")
    row = get_release(session, name=release)
    if row.status == "rejected":
        raise ConflictError(f"{release} was rejected and cannot be promoted")
    if row.status not in ("approved", "deploying", "live"):
        raise ConflictError(f"{release} is {row.status}; only an approved release can be promoted")
    approval = latest_approval(session, release=row)
    if approval is None or approval.decision != "approved":
        raise ConflictError(f"{release} has no approval; an owner must approve it first")
    current = gate(session, release=release).evidence_hash
    if current != approval.evidence_hash:
        raise ConflictError(
            f"{release}'s evidence changed since it was approved (approved {approval.evidence_hash[:12]}, "
            f"now {current[:12]}); it needs a new approval on the current evidence"
        )
    stage = current_stage(session, release_id=row.id)
    if stage >= STAGES[-1]:
        raise ConflictError(f"{release} already serves 100 % of traffic")
    other = session.exec(select(Release).where(Release.status == "deploying", Release.id != row.id)).first()
    if other is not None:
        raise ConflictError(f"{other.name} is already in canary; finish or roll it back first")
    nxt = next(s for s in STAGES if s > stage)
    step = Deployment(release_id=row.id, kind="canary", stage_pct=nxt, actor=actor.username)
    if nxt == STAGES[-1]:
        previous = session.exec(select(Release).where(Release.status == "live", Release.id != row.id)).all()
        good = known_good_release(session)
        for prev in previous:
            prev.status = "known_good" if good is not None and prev.id == good.id else "superseded"
            session.add(prev)
        row.status = "live"
    else:
        row.status = "deploying"
    session.add_all([step, row])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.promote",
        entity="release",
        entity_id=release,
        payload={"stage_pct": nxt, "evidence_hash": current},
    )
    return step


def health_check(
    session: Session, *, actor: Actor, release: str, healthy: bool, note: str = ""
) -> Deployment:
    """Record the post-deploy check of a release at 100 %; passing makes it the known-good release.
    (`watch.health_check` lets the rollback rule decide the result.)"""
    require(actor, "deploy_release")
    row = get_release(session, name=release)
    if row.status != "live" or current_stage(session, release_id=row.id) < STAGES[-1]:
        raise ConflictError(f"{release} is not live at 100 %; health checks follow the last canary stage")
    step = Deployment(
        release_id=row.id,
        kind="health_check",
        stage_pct=100,
        healthy=healthy,
        known_good=healthy,
        actor=actor.username,
        note=note or None,
    )
    if healthy:
        for prev in session.exec(select(Release).where(Release.status == "known_good")).all():
            prev.status = "superseded"
            session.add(prev)
        row.status = "known_good"
    session.add_all([step, row])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.health_check",
        entity="release",
        entity_id=release,
        payload={"healthy": healthy, "note": note},
    )
    return step


def rollback(session: Session, *, actor: Actor, reason: str = "") -> tuple[Release, list[str]]:
    """Restore the whole manifest of the last known-good release in one action; returns that release and
    the names of the releases rolled back."""
    require(actor, "deploy_release")
    good = known_good_release(session)
    if good is None:
        raise ConflictError("there is no known-good release to roll back to")
    away = session.exec(
        select(Release).where(col(Release.status).in_(("live", "deploying")), Release.id != good.id)
    ).all()
    if not away:
        raise ConflictError(f"nothing to roll back: {good.name} (known-good) is already serving")
    for row in away:
        row.status = "rolled_back"
        session.add(row)
    good.status = "live"
    names = sorted(r.name for r in away)
    step = Deployment(
        release_id=good.id,
        kind="rollback",
        stage_pct=100,
        healthy=True,
        known_good=True,
        actor=actor.username,
        note=f"rolled back from {', '.join(names)}" + (f": {reason}" if reason else ""),
    )
    session.add_all([good, step])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.rollback",
        entity="release",
        entity_id=good.name,
        payload={"from": names, "to": good.name, "manifest_hash": good.manifest_hash, "reason": reason},
    )
    return good, names


def timeline(session: Session, *, release: str) -> list[TimelineStep]:
    """The release's history, oldest first: audit events about it plus its recorded deployment steps."""
    row = get_release(session, name=release)
    out = [
        TimelineStep(ts=e.ts, source="audit", seq=e.seq, actor=e.actor, what=e.action, detail=e.payload)
        for e in audit.list_events(session, entity="release", entity_id=release, limit=100_000)
    ]
    steps = session.exec(select(Deployment).where(Deployment.release_id == row.id)).all()
    for d in steps:
        what = f"canary {d.stage_pct}%" if d.kind == "canary" else d.kind.replace("_", " ")
        if d.kind == "health_check":
            what += " passed (known-good)" if d.healthy else " failed"
        out.append(
            TimelineStep(
                ts=d.created_at, source="deployment", seq=None, actor=d.actor, what=what, detail=d.note or ""
            )
        )
    return sorted(out, key=lambda r: (r.ts, r.seq or 0))
