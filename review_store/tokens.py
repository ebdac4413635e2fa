"""Credentials that stand for a user outside the browser: personal CLI tokens (and the HTTP API's keys).

A secret is `rdt_` + 43 random URL-safe characters (256 bits). Only its sha256 is stored: the secret
is random and long, so a slow password hash would add nothing, and a lookup by hash stays one index
seek. A secret is shown once, when it is issued. Revoked or expired credentials and credentials of
deactivated users never work. A use stamps `last_used_at` when the stored value is None or at least
STAMP_EVERY (a minute) old: "last used" is shown to the minute, and stamping every request would make
every API call (each OTLP export of an exporter sending many a second) a database write that queues for
SQLite's one write lock. So the time shown is at most a minute behind the last use.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import NotFound, PermissionDenied, ValidationFailed
from review_store.models import Credential, User, utcnow
from review_store.permissions import Actor, require

SECRET_PREFIX = "rdt_"
KINDS = ("personal", "api")
_SHOWN = 12  # characters of the secret kept as its visible prefix ("rdt_" + 8)
STAMP_EVERY = timedelta(minutes=1)  # last_used_at is rewritten when at least this old


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def _may_manage(actor: Actor, user: User) -> None:
    """A user manages their own credentials; an admin manages anyone's."""
    if actor.id is not None and actor.id == user.id:
        return
    require(actor, "manage_users")


def issue(
    session: Session,
    *,
    actor: Actor,
    username: str,
    label: str = "",
    kind: str = "personal",
    expires_at: datetime | None = None,
) -> tuple[Credential, str]:
    """A new credential for `username` and its secret (shown once, never stored). Audited without it."""
    if kind not in KINDS:
        raise ValidationFailed(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if len(label) > 200:
        raise ValidationFailed("label: at most 200 characters")
    user = _user(session, username)
    _may_manage(actor, user)
    if not user.active:
        raise PermissionDenied(f"{user.username}: this account is deactivated")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires: must be in the future")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    credential = Credential(
        user_id=user.id,
        kind=kind,
        label=label,
        prefix=secret[:_SHOWN],
        secret_hash=secret_hash(secret),
        created_by=actor.username,
        expires_at=expires_at,
    )
    session.add(credential)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="credential.issue",
        entity="credential",
        entity_id=credential.id,
        payload={"user": user.username, "kind": kind, "label": label, "prefix": credential.prefix},
    )
    return credential, secret


def authenticate(session: Session, *, secret: str, origin: str, kind: str | None = None) -> Actor:
    """The user a secret stands for, as an Actor whose origin names the credential; stamps last use
    (at most once per STAMP_EVERY).

    Raises PermissionDenied for an unknown, revoked or expired secret, a deactivated user, or (with
    `kind`) a credential of another kind (one message for all, so a probe learns nothing).
    """
    return authenticate_credential(session, secret=secret, origin=origin, kind=kind)[0]


def authenticate_credential(
    session: Session, *, secret: str, origin: str, kind: str | None = None
) -> tuple[Actor, Credential]:
    """authenticate(), also returning the credential row (the HTTP API keys its rate limit on it)."""
    refused = PermissionDenied(
        "the credential presented is not valid (unknown, revoked, expired, or its user is deactivated)"
    )
    secret = secret.strip()
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        raise refused
    row = session.exec(
        select(Credential, User)
        .join(User, col(User.id) == col(Credential.user_id))
        .where(Credential.secret_hash == secret_hash(secret))
    ).first()
    now = utcnow()
    if row is None:
        raise refused
    credential, user = row
    if credential.revoked_at is not None or not user.active:
        raise refused
    if kind is not None and credential.kind != kind:
        raise refused
    if credential.expires_at is not None and credential.expires_at <= now:
        raise refused
    last = credential.last_used_at
    if last is None or not last <= now < last + STAMP_EVERY:  # a clock set back restamps too
        _stamp(session, credential.id, now)
    actor = Actor(
        username=user.username, role=user.role, id=user.id, origin=f"token {credential.prefix} from {origin}"
    )
    return actor, credential


def _stamp(session: Session, credential_id: int | None, now: datetime) -> None:
    """last_used_at = now, in the caller's transaction; a read-only caller gets its own short write."""
    bind = session.get_bind()
    if not bind.get_execution_options().get("read_only"):
        credential = session.get(Credential, credential_id)
        if credential is not None:
            credential.last_used_at = now
            session.add(credential)
            session.flush()
        return
    with Session(bind.execution_options(read_only=False)) as writer:
        credential = writer.get(Credential, credential_id)
        if credential is not None:
            credential.last_used_at = now
            writer.add(credential)
            writer.commit()


def revoke(session: Session, *, actor: Actor, credential_id: int) -> Credential:
    """Revoke a credential at once (its user or an admin); audited. Revoking twice is a no-op."""
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise NotFound(f"no credential with id {credential_id}")
    user = session.get(User, credential.user_id)
    assert user is not None
    _may_manage(actor, user)
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
        session.add(credential)
        audit.record(
            session,
            actor=actor,
            action="credential.revoke",
            entity="credential",
            entity_id=credential.id,
            payload={"user": user.username, "prefix": credential.prefix},
        )
    return credential


def list_for(session: Session, *, actor: Actor, username: str) -> list[Credential]:
    """A user's credentials, newest first (their own, or anyone's for an admin); never the secrets."""
    user = _user(session, username)
    _may_manage(actor, user)
    rows = session.exec(
        select(Credential).where(Credential.user_id == user.id).order_by(col(Credential.id).desc())
    ).all()
    return list(rows)


def list_kind(session: Session, *, actor: Actor, kind: str) -> list[tuple[Credential, str]]:
    """Every credential of one kind with its user's name, newest first (admins only); never the secrets."""
    require(actor, "manage_users")
    rows = session.exec(
        select(Credential, User)
        .join(User, col(User.id) == col(Credential.user_id))
        .where(Credential.kind == kind)
        .order_by(col(Credential.id).desc())
    ).all()
    return [(credential, user.username) for credential, user in rows]
