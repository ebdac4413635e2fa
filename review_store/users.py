"""Local accounts: creation, password checks, roles. OIDC sign-ins map to these by email.

Usernames: 1-80 ASCII letters, digits, '.', '_', '-', '@', starting with a letter or digit, unique
regardless of case ("RITA" is "rita"); the database holds the same rule (models.USERNAME_GUARD_DDL and
a unique index on lower(username)). Passwords: at least Settings.password_min_length characters
(REVIEW_STORE_PASSWORD_MIN_LENGTH, default 8, never below 8), not only whitespace, at most 1024.
"""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit, signin
from review_store.config import Settings
from review_store.errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from review_store.models import ROLES, USERNAME_PATTERN, User
from review_store.permissions import OPERATOR_ROLE, RESERVED_USERNAMES, Actor, require

MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")


def min_password_length() -> int:
    """The configured minimum (REVIEW_STORE_PASSWORD_MIN_LENGTH)."""
    return Settings().password_min_length


def hash_password(password: str) -> str:
    return signin.hasher().hash(password)


def validate_username(username: str) -> str:
    """The username as stored, or ValidationFailed saying what is wrong with it."""
    shown = repr(username if len(username) <= 40 else username[:40] + "…")
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            f"username: {shown} is not allowed: use 1-80 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit (no spaces or control characters)"
        )
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationFailed(f"username: {shown} is reserved for the built-in identity")
    return username


def validate_password(password: str) -> None:
    minimum = min_password_length()
    if not password.strip():
        raise ValidationFailed("password: must not be empty or only whitespace")
    if len(password) < minimum:
        raise ValidationFailed(f"password: must have at least {minimum} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    if "\x00" in password:
        raise ValidationFailed("password: must not contain NUL characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"role: {role!r} is not one of {', '.join(ROLES)}")


def _active_admins(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(User.role == "admin", col(User.active).is_(True))
    ).one()


def _require_user_admin(session: Session, actor: Actor, *, bootstrap: bool = False) -> None:
    """manage_users; the credential-less CLI may add accounts only while no active admin exists."""
    if bootstrap and actor.role == OPERATOR_ROLE and _active_admins(session) == 0:
        return
    if actor.role == OPERATOR_ROLE and bootstrap:
        raise PermissionDenied(
            "an admin exists, so adding users needs an admin's credential: pass --as ADMIN with ADMIN's "
            "token in REVIEW_DESK_TOKEN or on stdin (--token-stdin)"
        )
    require(actor, "manage_users")


def add_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    role: str,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    """Create an account; only admins may (or the CLI with no credential while no admin exists yet).

    A user without a password can sign in only through OIDC.
    """
    _require_user_admin(session, actor, bootstrap=True)
    username = validate_username(username.strip())
    _check_role(role)
    if password is not None:
        validate_password(password)
    if len(display_name) > 200 or any(ord(ch) < 32 for ch in display_name):
        raise ValidationFailed("name: at most 200 characters, no control characters")
    if email is not None and (len(email) > 320 or not _EMAIL.fullmatch(email.strip())):
        raise ValidationFailed(f"email: {email[:60]!r} is not an email address")
    if session.exec(select(User).where(func.lower(User.username) == username.lower())).first():
        raise ConflictError(f"username: {username!r} is taken")
    if email and session.exec(select(User).where(User.email == email.strip().lower())).first():
        raise ConflictError(f"email: {email!r} belongs to another user")
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        email=email.strip().lower() if email else None,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    payload = {"role": role, "email": user.email}
    if actor.role == OPERATOR_ROLE:
        payload["bootstrap"] = True  # the first admin of an empty desk, added from a shell
    audit.record(session, actor=actor, action="user.add", entity="user", entity_id=username, payload=payload)
    return user


def set_role(session: Session, *, actor: Actor, username: str, role: str) -> User:
    """Change a user's role (admins only); the last active admin cannot be demoted."""
    require(actor, "manage_users")
    _check_role(role)
    user = get_user(session, username=username)
    before = user.role
    if before == role:
        return user
    if before == "admin" and user.active and _active_admins(session) <= 1:
        raise ConflictError(f"{user.username} is the last active admin: make another admin first")
    user.role = role
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.set_role",
        entity="user",
        entity_id=user.username,
        payload={"from": before, "to": role},
    )
    return user


def set_active(session: Session, *, actor: Actor, username: str, active: bool) -> User:
    """Deactivate or reactivate an account (admins only); a deactivated user cannot sign in or act."""
    require(actor, "manage_users")
    user = get_user(session, username=username)
    if actor.id == user.id and not active:
        raise ConflictError("an admin cannot deactivate their own account")
    if user.active == active:
        return user
    user.active = active
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.set_active",
        entity="user",
        entity_id=user.username,
        payload={"active": active},
    )
    return user


def set_password(session: Session, *, actor: Actor, username: str, password: str) -> None:
    """An admin resets anyone's password; a user may change their own."""
    user = get_user(session, username=username)
    if actor.id != user.id:
        require(actor, "manage_users")
    validate_password(password)
    user.password_hash = hash_password(password)
    session.add(user)
    audit.record(session, actor=actor, action="user.set_password", entity="user", entity_id=user.username)


def unlock(
    session: Session, *, actor: Actor, username: str | None = None, address: str | None = None
) -> bool:
    """Lift a sign-in lock on a username or a client address (admins only); audited."""
    require(actor, "manage_users")
    if bool(username) == bool(address):
        raise ValidationFailed("unlock: name exactly one of a username or an address")
    if username:
        get_user(session, username=username)
        return signin.unlock(session, actor=actor, scope="user", value=username)
    return signin.unlock(session, actor=actor, scope="address", value=address or "")


def get_user(session: Session, *, username: str) -> User:
    """The user with this name, whatever its case; NotFound otherwise."""
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.role), col(User.username))).all())


def authenticate(session: Session, *, username: str, password: str) -> Actor | None:
    """The actor for valid credentials of an active user, else None (throttled: see signin)."""
    return signin.authenticate(session, username=username, password=password).actor


def actor_for_email(session: Session, *, email: str) -> Actor | None:
    """The local user an OIDC identity maps to (by email), or None when no active user has that email."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active:
        return None
    return Actor(username=user.username, role=user.role, id=user.id)
