"""Local accounts: creation, password checks, roles. OIDC sign-ins map to these by email."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.models import ROLES, User
from review_store.permissions import Actor, require

MIN_PASSWORD_LENGTH = 8


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()  # argon2id


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"role: {role!r} is not one of {', '.join(ROLES)}")


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
    """Create an account; only admins may. A user without a password can sign in only through OIDC."""
    require(actor, "manage_users")
    username = username.strip()
    if not username:
        raise ValidationFailed("username: must not be empty")
    _check_role(role)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.exec(select(User).where(User.username == username)).first():
        raise ConflictError(f"username: {username!r} is taken")
    if email and session.exec(select(User).where(User.email == email.lower())).first():
        raise ConflictError(f"email: {email!r} belongs to another user")
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        email=email.lower() if email else None,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=username,
        payload={"role": role, "email": user.email},
    )
    return user


def set_role(session: Session, *, actor: Actor, username: str, role: str) -> User:
    """Change a user's role (admins only)."""
    require(actor, "manage_users")
    _check_role(role)
    user = get_user(session, username=username)
    before = user.role
    user.role = role
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.set_role",
        entity="user",
        entity_id=username,
        payload={"from": before, "to": role},
    )
    return user


def set_active(session: Session, *, actor: Actor, username: str, active: bool) -> User:
    """Deactivate or reactivate an account (admins only); a deactivated user cannot sign in."""
    require(actor, "manage_users")
    user = get_user(session, username=username)
    if actor.username == username and not active:
        raise ConflictError("an admin cannot deactivate their own account")
    user.active = active
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.set_active",
        entity="user",
        entity_id=username,
        payload={"active": active},
    )
    return user


def set_password(session: Session, *, actor: Actor, username: str, password: str) -> None:
    """An admin resets anyone's password; a user may change their own."""
    if actor.username != username:
        require(actor, "manage_users")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    user = get_user(session, username=username)
    user.password_hash = hash_password(password)
    session.add(user)
    audit.record(session, actor=actor, action="user.set_password", entity="user", entity_id=username)


def get_user(session: Session, *, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.role), col(User.username))).all())


def authenticate(session: Session, *, username: str, password: str) -> Actor | None:
    """The actor for valid credentials of an active user, else None (never says which part was wrong)."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active or not user.password_hash:
        _hasher().hash(password)  # same work either way, so timing does not reveal user names
        return None
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash:
        user.password_hash = new_hash
        session.add(user)
    return Actor(username=user.username, role=user.role, id=user.id)


def actor_for_email(session: Session, *, email: str) -> Actor | None:
    """The local user an OIDC identity maps to (by email), or None when nobody has that email."""
    user = session.exec(select(User).where(User.email == email.lower())).first()
    if user is None or not user.active:
        return None
    return Actor(username=user.username, role=user.role, id=user.id)
