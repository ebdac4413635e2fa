"""Canary stages, known-good, rollback to the last known-good manifest, and the rollback rule.

Status story: an approved release is promoted 5 -> 25 -> 50 -> 100 % (status `deploying`, then `live`);
a post-deploy health check at 100 % marks it `known_good` (the previous known-good becomes `superseded`).
Rollback puts the last known-good release back in one step: whatever was live or deploying becomes
`rolled_back`, the known-good release `live` again, so the deployed manifest is exactly its manifest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit, releases
from review_store.errors import ConflictError
from review_store.models import Deployment, Release
from review_store.permissions import SYSTEM, Actor, require

STAGES = (5, 25, 50, 100)
SERVING = ("live", "known_good")


def current_stage(session: Session, *, release_id: int) -> int:
    """The highest canary percentage recorded for the release (0 before its first step)."""
    return _stage(session, release_id)


def _stage(session: Session, release_id: int) -> int:
    value = session.exec(
        select(func.max(Deployment.stage_pct)).where(
            Deployment.release_id == release_id, Deployment.kind == "canary"
        )
    ).one()
    return int(value or 0)


def known_good_release(session: Session) -> Release | None:
    """The release of the newest passing health check that is still serving or standing by."""
    return session.exec(
        select(Release)
        .join(Deployment, col(Deployment.release_id) == Release.id)
        .where(Deployment.known_good == True, col(Release.status).in_(SERVING))  # noqa: E712
        .order_by(col(Deployment.created_at).desc(), col(Deployment.id).desc())
        .limit(1)
    ).first()


def live_release(session: Session) -> Release | None:
    """The release serving full traffic: status `live`, else the known-good one."""
    live = session.exec(
        select(Release).where(Release.status == "live").order_by(col(Release.id).desc())
    ).first()
    return live or known_good_release(session)


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
    row = releases.get_release(session, name=release)
    if row.status == "rejected":
        raise ConflictError(f"{release} was rejected and cannot be promoted")
    if row.status not in ("approved", "deploying", "live"):
        raise ConflictError(f"{release} is {row.status}; only an approved release can be promoted")
    approval = releases.latest_approval(session, release_id=row.id)
    if approval is None or approval.decision != "approved":
        raise ConflictError(f"{release} has no approval; an owner must approve it first")
    current = releases.gate(session, release=release).evidence_hash
    if current != approval.evidence_hash:
        raise ConflictError(
            f"{release}'s evidence changed since it was approved (approved {approval.evidence_hash[:12]}, "
            f"now {current[:12]}); it needs a new approval on the current evidence"
        )
    stage = _stage(session, row.id)
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
    session: Session, *, actor: Actor, release: str, healthy: bool | None = None, note: str = ""
) -> Deployment:
    """Post-deploy check of a release at 100 %; passing makes it the known-good release. Without an
    explicit result the rollback rule decides (healthy unless it flags the release)."""
    require(actor, "deploy_release")
    row = releases.get_release(session, name=release)
    if row.status != "live" or _stage(session, row.id) < STAGES[-1]:
        raise ConflictError(f"{release} is not live at 100 %; health checks follow the last canary stage")
    if healthy is None:
        from review_store.releases.rollback_rule import evaluate

        status = evaluate(session, release=release)
        healthy = not status.flagged
        note = note or status.summary
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


def rollback(session: Session, *, actor: Actor, reason: str = "") -> Release:
    """Restore the whole manifest of the last known-good release in one action; returns that release."""
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
    return good


def apply_rollback_rule(session: Session, *, actor: Actor = SYSTEM) -> Any:
    """Evaluate the rule; in "auto" mode a flagged live release is rolled back (one audited rollback),
    in "suggest" mode nothing changes and the status says what to do."""
    from review_store.releases.rollback_rule import evaluate

    status = evaluate(session)
    if status.flagged:
        if status.mode == "auto":
            rollback(session, actor=actor, reason=status.summary)
            status.action = "rolled_back"
        else:
            status.action = "suggest_rollback"
    return status


def timeline(session: Session, *, release: str) -> list[dict[str, Any]]:
    """The release's history, oldest first: audit events about it plus its recorded deployment steps."""
    row = releases.get_release(session, name=release)
    out = [
        {"ts": e.ts, "source": "audit", "seq": e.seq, "actor": e.actor, "what": e.action, "detail": e.payload}
        for e in audit.list_events(session, entity="release", entity_id=release, limit=100_000)
    ]
    steps = session.exec(select(Deployment).where(Deployment.release_id == row.id)).all()
    for d in steps:
        what = f"canary {d.stage_pct}%" if d.kind == "canary" else d.kind.replace("_", " ")
        if d.kind == "health_check":
            what += " passed (known-good)" if d.healthy else " failed"
        out.append(
            {
                "ts": d.created_at,
                "source": "deployment",
                "seq": None,
                "actor": d.actor,
                "what": what,
                "detail": d.note or "",
            }
        )
    return sorted(out, key=lambda r: (r["ts"], r["seq"] or 0))
