"""Who may do what. The store checks these itself; the UI hiding a button is only a courtesy."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace

from sqlmodel import Session, select

from review_store.errors import NotFound, PermissionDenied

# action -> roles allowed. Two built-in identities exist besides the users' roles (see Actor):
#   "system"   -- the store's own in-process jobs (demo builder, migrations, the rollback rule): everything;
#   "operator" -- someone at a shell with no credential (CLI without a token): only OPERATOR_ACTIONS.
PERMISSIONS: dict[str, frozenset[str]] = {
    "label": frozenset({"reviewer", "lead"}),
    "escalate": frozenset({"reviewer", "lead", "owner"}),
    "resolve_escalation": frozenset({"reviewer", "lead"}),
    "adjudicate": frozenset({"lead"}),
    "browse_items": frozenset({"reviewer", "lead"}),
    # filtering the item browser by judge score shows judge verdicts before a label: not for blind reviewers
    "browse_judge_scores": frozenset({"lead"}),
    "assign_items": frozenset({"lead"}),
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
    "run_checks": frozenset({"owner", "lead", "admin"}),
    "approve_release": frozenset({"owner"}),
    "deploy_release": frozenset({"owner"}),
    "edit_gate_policy": frozenset({"lead", "owner"}),
    "manage_users": frozenset({"admin"}),
    "import_data": frozenset({"admin", "lead"}),
    "export_data": frozenset({"admin", "lead"}),
    "view_audit": frozenset({"owner", "lead", "admin"}),
    "maintain_rollups": frozenset({"admin"}),
    "prune_traces": frozenset({"admin"}),
    "manage_alerts": frozenset({"lead", "admin"}),
    "check_alerts": frozenset({"lead", "admin"}),
    # the prompt-injection monitor's run: escalates end users over the threshold (a scheduled job)
    "monitor_users": frozenset({"lead", "admin"}),
}


# What `review-desk` may do with no credential (audited as "system" with the OS user and host): loading
# and sampling data, running the judge and the tier-1 checks, checking alert rules (cron), backups, reading and verifying the audit
# trail. Anything that is a person's decision (sign-off, deploying, rubrics, settings, account changes)
# needs that person's credential. The first admin of an
# empty database is the one exception (users.add_user: bootstrapping).
OPERATOR_ACTIONS = frozenset(
    {
        "sample",
        "run_judge",
        "run_checks",
        "import_data",
        "export_data",
        "view_audit",
        "maintain_rollups",
        "prune_traces",
        "check_alerts",
        "monitor_users",
    }
)
SYSTEM_ROLE, OPERATOR_ROLE = "system", "operator"


@dataclass(frozen=True)
class Actor:
    """The identity a store call acts as; built from a User row or one of the built-in identities.

    `origin` says where a call came from when that is not the browser (e.g. "root@host" for the CLI,
    "token rdt_AbCd from root@host" for a personal token); the audit records it.
    """

    username: str
    role: str
    id: int | None = None
    origin: str | None = None

    def can(self, action: str) -> bool:
        if action not in PERMISSIONS:
            raise KeyError(f"unknown action {action!r}")
        if self.role == SYSTEM_ROLE:
            return True
        if self.role == OPERATOR_ROLE:
            return action in OPERATOR_ACTIONS
        return self.role in PERMISSIONS[action]

    @property
    def is_builtin(self) -> bool:
        """The system or operator identity (no user row behind it)."""
        return self.username == SYSTEM.username and self.id is None and self.role in BUILTIN_ROLES


SYSTEM = Actor(username="system", role=SYSTEM_ROLE)
BUILTIN_ROLES = frozenset({SYSTEM_ROLE, OPERATOR_ROLE})
RESERVED_USERNAMES = frozenset({"system", "operator"})


def operator(origin: str) -> Actor:
    """The CLI without a credential: audited as "system" with where it ran; may do OPERATOR_ACTIONS only."""
    return Actor(username=SYSTEM.username, role=OPERATOR_ROLE, origin=origin)


def require(actor: Actor, action: str) -> None:
    """Raise PermissionDenied unless the actor's role may perform the action."""
    if not actor.can(action):
        allowed = ", ".join(sorted(PERMISSIONS[action]))
        if actor.role == OPERATOR_ROLE:
            raise PermissionDenied(
                f"{action.replace('_', ' ')} needs a signed-in user's credential (allowed roles: {allowed}): "
                "pass --as NAME with NAME's personal token in REVIEW_DESK_TOKEN or on stdin (--token-stdin); "
                "create one with `review-desk users token NAME`"
            )
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) may not {action.replace('_', ' ')}; allowed roles: {allowed}"
        )


# --- who is calling (the CLI presents a credential and an origin once per command) ---------------------


@dataclass(frozen=True)
class Presented:
    token: str | None
    origin: str


_presented: ContextVar[Presented | None] = ContextVar("review_store_presented", default=None)


def present(*, token: str | None, origin: str) -> None:
    """Record the credential (or none) and the origin of the command being run (the CLI calls this)."""
    _presented.set(Presented(token=token or None, origin=origin))


def forget_presented() -> None:
    """End of a command: what it presented must not outlive it (a CLI run in-process, e.g. a test)."""
    _presented.set(None)


def presented() -> Presented | None:
    """What the current command presented, or None outside the CLI (in-process callers, the app)."""
    return _presented.get()


def resolve_actor(
    session: Session, username: str | None, *, token: str | None = None, origin: str | None = None
) -> Actor:
    """THE rule for who a script acts as. Every CLI command resolves `--as` here (cli.acting_actor).

    - a named user needs that user's credential (personal token or API key): the token given, else the
      one the command presented (REVIEW_DESK_TOKEN or --token-stdin); without it, PermissionDenied;
    - no name (or "system") with a credential acts as the credential's user;
    - no name and no credential is the operator: audited as "system" with the OS user and host, and
      allowed OPERATOR_ACTIONS only.
    """
    from review_store import tokens

    shown = presented()
    token = token or (shown.token if shown else None)
    origin = origin or (shown.origin if shown else "in-process")
    named = username if username and username.lower() != SYSTEM.username else None
    if token is None:
        if named is None:
            return operator(origin)
        raise PermissionDenied(
            f"--as {named} needs {named}'s credential: set REVIEW_DESK_TOKEN or pipe it with --token-stdin "
            f"(create one with `review-desk users token {named}`); without one only system operations run"
        )
    actor = tokens.authenticate(session, secret=token, origin=origin)
    if named is not None and actor.username.lower() != named.lower():
        raise PermissionDenied(f"--as {named}: the credential presented belongs to {actor.username}")
    return actor


def actor_for(session: Session, username: str) -> Actor:
    """In-process lookup of the active user with this name (tests, the demo); never for a CLI flag."""
    from sqlalchemy import func

    from review_store.models import User

    user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
    if user is None or not user.active:
        raise NotFound(f"no active user named {username!r}")
    return Actor(username=user.username, role=user.role, id=user.id)


def refresh_actor(session: Session, actor: Actor) -> Actor:
    """The actor as the database knows it now: role and active flag re-read on every state change.

    An Actor object is only a claim (a browser session, a token lookup made earlier). The built-in
    identities pass as they are; anyone else must be an active user whose id and name match, and acts
    with the role stored now, so a demotion or deactivation takes effect at once and a hand-built
    Actor("rita", "owner") acts as whatever rita really is.
    """
    from review_store.models import User

    if actor.is_builtin:
        return actor
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None or user.username != actor.username:
        raise PermissionDenied(f"{actor.username}: not a known user (sign in again)")
    if not user.active:
        raise PermissionDenied(f"{actor.username}: this account is deactivated")
    return replace(actor, role=user.role)
