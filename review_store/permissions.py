"""Who may do what. The store checks these itself; the UI hiding a button is only a courtesy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from review_store.errors import NotFound, PermissionDenied

# action -> roles allowed. "system" (demo builder, migrations, schedulers) may do everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "label": frozenset({"reviewer", "lead"}),
    "escalate": frozenset({"reviewer", "lead", "owner"}),
    "resolve_escalation": frozenset({"reviewer", "lead"}),
    "adjudicate": frozenset({"lead"}),
    "manage_golden_set": frozenset({"reviewer", "lead"}),
    "sample": frozenset({"lead", "admin"}),
    "edit_rubrics": frozenset({"lead"}),
    "edit_judges": frozenset({"lead"}),
    "run_judge": frozenset({"lead", "admin"}),
    "view_reviewer_quality": frozenset({"lead"}),
    "edit_settings": frozenset({"lead"}),
    "answer_maturity": frozenset({"lead"}),
    "create_release": frozenset({"owner", "lead"}),
    "record_eval": frozenset({"owner", "lead", "admin"}),
    "approve_release": frozenset({"owner"}),
    "deploy_release": frozenset({"owner"}),
    "edit_gate_policy": frozenset({"lead", "owner"}),
    "manage_users": frozenset({"admin"}),
    "import_data": frozenset({"admin", "lead"}),
    "export_data": frozenset({"admin", "lead"}),
}


@dataclass(frozen=True)
class Actor:
    """The identity a store call acts as; built from a User row or the built-in system actor."""

    username: str
    role: str
    id: int | None = None

    def can(self, action: str) -> bool:
        if action not in PERMISSIONS:
            raise KeyError(f"unknown action {action!r}")
        return self.role == "system" or self.role in PERMISSIONS[action]


SYSTEM = Actor(username="system", role="system")


def require(actor: Actor, action: str) -> None:
    """Raise PermissionDenied unless the actor's role may perform the action."""
    if not actor.can(action):
        allowed = ", ".join(sorted(PERMISSIONS[action]))
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) may not {action.replace('_', ' ')}; allowed roles: {allowed}"
        )


def resolve_actor(session: Session, username: str | None) -> Actor:
    """The acting identity a script names: no name or "system" means the built-in system actor."""
    if not username or username == SYSTEM.username:
        return SYSTEM
    return actor_for(session, username)


def actor_for(session: Session, username: str) -> Actor:
    """The active user with this name as an Actor; NotFound if there is none."""
    from review_store.models import User

    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(f"no active user named {username!r}")
    return Actor(username=user.username, role=user.role, id=user.id)


def refresh_actor(session: Session, actor: Actor) -> Actor:
    """The actor as the database knows it now: role and active flag re-read on every state change.

    An Actor object is only a claim (a browser session, a CLI flag, a token lookup made earlier). The
    built-in system actor passes as is; anyone else must be an active user whose id and name match,
    and acts with the role stored now, so a demotion or deactivation takes effect at once and a
    hand-built Actor("rita", "owner") acts as whatever rita really is.
    """
    from review_store.models import User

    if actor.role == SYSTEM.role and actor.username == SYSTEM.username and actor.id is None:
        return actor
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None or user.username != actor.username:
        raise PermissionDenied(f"{actor.username}: not a known user (sign in again)")
    if not user.active:
        raise PermissionDenied(f"{actor.username}: this account is deactivated")
    return Actor(username=user.username, role=user.role, id=user.id)
