"""Password sign-in with throttling per username and per client address.

After MAX_FREE_FAILURES failed attempts in a row, every further failure refuses sign-in until a time
that doubles with each failure (30 s, 1 min, 2 min, ... up to LOCKOUT_CAP = 15 minutes). A refusal is
"not before T", read from the store's clock: nobody sleeps, and a locked account answers at once
without checking the password. A counter that has been quiet for LOCKOUT_CAP starts again. Starting a
lock is audited; an admin can lift it (users.unlock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from review_store import audit
from review_store.models import SignInThrottle, User, utcnow
from review_store.permissions import SYSTEM, Actor

MAX_FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
LOCKOUT_CAP = timedelta(minutes=15)
SCOPES = ("user", "address")


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    return PasswordHash.recommended()  # argon2id


@dataclass(frozen=True)
class SignInOutcome:
    """Who signed in (None when refused), and until when sign-in is refused if a lock is in force."""

    actor: Actor | None
    locked_until: datetime | None = None


def throttle_key(scope: str, value: str) -> str:
    """How a username or an address is counted: case-folded, trimmed, at most 120 characters."""
    return value.strip().lower()[:120]


def delay_after(failures: int) -> timedelta | None:
    """How long sign-in is refused after this many failures in a row (None: not yet)."""
    if failures < MAX_FREE_FAILURES:
        return None
    return min(LOCKOUT_CAP, FIRST_DELAY * (2 ** (failures - MAX_FREE_FAILURES)))


def _row(session: Session, scope: str, key: str) -> SignInThrottle | None:
    return session.exec(
        select(SignInThrottle).where(SignInThrottle.scope == scope, SignInThrottle.key == key)
    ).first()


def locked_until(session: Session, *, username: str, address: str | None, now: datetime) -> datetime | None:
    """The latest lock in force for this username or address, or None."""
    keys = [("user", throttle_key("user", username))]
    if address:
        keys.append(("address", throttle_key("address", address)))
    until = None
    for scope, key in keys:
        row = _row(session, scope, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            until = row.locked_until if until is None else max(until, row.locked_until)
    return until


def _count_failure(session: Session, scope: str, key: str, now: datetime) -> SignInThrottle:
    row = _row(session, scope, key)
    if row is None:
        try:
            with session.begin_nested():  # two first failures at once: one inserts, the other re-reads
                row = SignInThrottle(scope=scope, key=key, failures=0, last_failure_at=now)
                session.add(row)
        except IntegrityError:
            row = _row(session, scope, key)
            assert row is not None
    quiet_since = max(row.last_failure_at, row.locked_until or row.last_failure_at)
    if now - quiet_since > LOCKOUT_CAP:
        row.failures, row.locked_until = 0, None  # quiet long enough since the last lock: count afresh
    row.failures += 1
    row.last_failure_at = now
    delay = delay_after(row.failures)
    if delay is not None:
        row.locked_until = now + delay
        audit.record(
            session,
            actor=SYSTEM,
            action="user.sign_in_locked",
            entity="user" if scope == "user" else "address",
            entity_id=key,
            payload={"failures": row.failures, "until": row.locked_until},
        )
    session.add(row)
    return row


def authenticate(
    session: Session, *, username: str, password: str, address: str | None = None
) -> SignInOutcome:
    """Check a password, counting failures per username and per address; refuse at once while locked.

    Never says which part was wrong; an unknown username is counted like a known one and costs the
    same hashing work, so neither the answer nor its timing reveals which names exist.
    """
    now = utcnow()
    until = locked_until(session, username=username, address=address, now=now)
    if until is not None:
        return SignInOutcome(actor=None, locked_until=until)
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    valid = False
    if user is None or not user.active or not user.password_hash:
        hasher().hash(password)  # same work either way
    else:
        valid, new_hash = hasher().verify_and_update(password, user.password_hash)
        if valid and new_hash:
            user.password_hash = new_hash
            session.add(user)
    if valid and user is not None:
        row = _row(session, "user", throttle_key("user", username))
        if row is not None:
            session.delete(row)
        return SignInOutcome(actor=Actor(username=user.username, role=user.role, id=user.id))
    rows = [_count_failure(session, "user", throttle_key("user", username), now)]
    if address:
        rows.append(_count_failure(session, "address", throttle_key("address", address), now))
    session.flush()
    until = max((r.locked_until for r in rows if r.locked_until is not None), default=None)
    return SignInOutcome(actor=None, locked_until=until)


def unlock(session: Session, *, actor: Actor, scope: str, value: str) -> bool:
    """Lift a lock and reset the count for a username or an address (the caller checks permission).

    Returns whether there was anything to lift; audited either way.
    """
    key = throttle_key(scope, value)
    row = _row(session, scope, key)
    had = row is not None and row.failures > 0
    if row is not None:
        session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="user.unlock",
        entity="user" if scope == "user" else "address",
        entity_id=key,
        payload={"had_failures": row.failures if row is not None else 0},
    )
    return had


def locks(session: Session, *, now: datetime) -> dict[tuple[str, str], datetime]:
    """Every lock in force: (scope, key) -> locked until."""
    rows = session.exec(select(SignInThrottle).where(SignInThrottle.locked_until > now)).all()  # type: ignore[operator]
    return {(r.scope, r.key): r.locked_until for r in rows if r.locked_until is not None}
