"""What is serving now: canary stage of a release, the live release and the last known-good one.

Read-only queries shared by the rollout actions (`deployments`) and the rollback rule (`rollback_rule`),
so neither of those imports the other.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store.models import Deployment, Release

STAGES = (5, 25, 50, 100)
SERVING = ("live", "known_good")


def current_stage(session: Session, *, release_id: int) -> int:
    """The highest canary percentage recorded for the release (0 before its first step)."""
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
