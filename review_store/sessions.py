"""Browser sessions: a sign-in that survives a reload until sign-out or expiry.

Signing in issues a random secret (`rds_` + 43 URL-safe characters, 256 bits) that the browser keeps in a
cookie; the table keeps only its sha256, the user, the expiry, the revocation and the last use. The secret
is unguessable and worthless once revoked, expired, or its user deactivated, so nothing in the cookie is
trusted: every resume looks the hash up and re-reads the user (role included) from the database.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from review_store.config import get_settings
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.models import BrowserSession, User, utcnow
from review_store.permissions import Actor

SECRET_PREFIX = "rds_"
_MAX_SECRET = 200
_STAMP_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def lifetime() -> timedelta:
    """REVIEW_STORE_SESSION_HOURS (default 12): how long a browser sign-in lasts."""
    return timedelta(hours=get_settings().session_hours)


def start(
    session: Session, *, actor: Actor, address: str | None = None, lasting: timedelta | None = None
) -> tuple[BrowserSession, str]:
    """A new session for a signed-in, active user and its secret (returned once, stored only hashed)."""
    if actor.id is None or actor.is_builtin:
        raise PermissionDenied(f"{actor.username}: only a user account can hold a browser session")
    user = session.get(User, actor.id)
    if user is None or user.username != actor.username or not user.active:
        raise PermissionDenied(f"{actor.username}: not an active user (sign in again)")
    lasting = lifetime() if lasting is None else lasting
    if lasting <= timedelta(0):
        raise ValidationFailed("session lifetime: must be positive")
    now = utcnow()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = BrowserSession(
        user_id=user.id,
        secret_hash=secret_hash(secret),
        created_at=now,
        expires_at=now + lasting,
        last_seen_at=now,
        address=(address or None) and address[:64],
    )
    session.add(row)
    session.flush()
    return row, secret


def _find(session: Session, secret: str) -> BrowserSession | None:
    secret = (secret or "").strip()
    if not secret.startswith(SECRET_PREFIX) or len(secret) > _MAX_SECRET:
        return None
    return session.exec(
        select(BrowserSession).where(BrowserSession.secret_hash == secret_hash(secret))
    ).first()


def resume(session: Session, *, secret: str) -> Actor | None:
    """The user a cookie's secret stands for now, or None when unknown, revoked, expired or deactivated.

    Stamps `last_seen_at` (at most once a minute) when the session is writable.
    """
    row = _find(session, secret)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_seen_at is None or now - row.last_seen_at >= _STAMP_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return Actor(username=user.username, role=user.role, id=user.id)


def end(session: Session, *, secret: str) -> bool:
    """Revoke the session a secret stands for (sign-out); False when there was no live one."""
    row = _find(session, secret)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    return True
