"""Where the rollback rule's verdict drives the rollout: health checks decided by the rule, and the
watcher that rolls back (mode "auto") or suggests it (mode "suggest").

Kept apart so that `deployments` (actions) and `rollback_rule` (a read-only verdict) never import each
other; this module imports both.
"""

from __future__ import annotations

from sqlmodel import Session

from review_store.models import Deployment
from review_store.permissions import SYSTEM, Actor
from review_store.releases import deployments, rollback_rule
from review_store.releases.rollback_rule import RuleStatus


def health_check(
    session: Session, *, actor: Actor, release: str, healthy: bool | None = None, note: str = ""
) -> Deployment:
    """Post-deploy check of a release at 100 %; without an explicit result the rollback rule decides
    (healthy unless it flags the release), and its summary becomes the note."""
    if healthy is None:
        status = rollback_rule.evaluate(session, release=release)
        healthy = not status.flagged
        note = note or status.summary
    return deployments.health_check(session, actor=actor, release=release, healthy=healthy, note=note)


def apply_rollback_rule(session: Session, *, actor: Actor = SYSTEM) -> RuleStatus:
    """Evaluate the rule; in "auto" mode a flagged live release is rolled back (one audited rollback),
    in "suggest" mode nothing changes and the status says what to do."""
    status = rollback_rule.evaluate(session)
    if status.flagged:
        if status.mode == "auto":
            deployments.rollback(session, actor=actor, reason=status.summary)
            status.action = "rolled_back"
        else:
            status.action = "suggest_rollback"
    return status
