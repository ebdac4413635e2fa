"""People: users, credentials (personal tokens and API keys), browser sessions, sign-in throttling."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import DDL, Index, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from review_store.models.common import utcnow

# --- people -------------------------------------------------------------------------------------


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=80)
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, index=True, unique=True, max_length=320)
    role: str = Field(max_length=20)
    password_hash: str | None = Field(default=None, max_length=500)
    active: bool = True
    created_at: NaiveDatetime = Field(default_factory=utcnow)


# "RITA" and "rita" are one account on both databases (a functional unique index, not a convention).
Index("uq_user_username_lower", text("lower(username)"), unique=True, _table=User.__table__)

# The same username rule as users.validate_username, held by the database itself: 1-80 ASCII letters,
# digits, '.', '_', '-', '@', starting with a letter or digit (no NUL, no control characters, no spaces).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$"
USERNAME_GUARD_DDL = {
    "sqlite": [
        f"""CREATE TRIGGER IF NOT EXISTS trg_user_username_{op.split()[0].lower()} BEFORE {op} ON "user"
        FOR EACH ROW WHEN length(CAST(NEW.username AS BLOB)) NOT BETWEEN 1 AND 80
          OR length(NEW.username) <> length(CAST(NEW.username AS BLOB))
          OR NEW.username GLOB '*[^A-Za-z0-9._@-]*' OR substr(NEW.username, 1, 1) GLOB '[^A-Za-z0-9]'
        BEGIN SELECT RAISE(ABORT, 'username: 1-80 letters, digits, . _ - @, starting with a letter or digit');
        END"""
        for op in ("INSERT", "UPDATE OF username")
    ],
    "postgresql": [
        f"""ALTER TABLE "user" ADD CONSTRAINT ck_user_username_chars CHECK (username ~ '{USERNAME_PATTERN}')"""
    ],
}
for _dialect, _statements in USERNAME_GUARD_DDL.items():
    for _statement in _statements:
        event.listen(User.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class Credential(SQLModel, table=True):
    """A secret that stands for one user outside the browser: a personal CLI token or an API key.

    Only sha256(secret) is kept (the secret is high-entropy random, so a slow hash adds nothing); the
    prefix is shown in lists so a person can tell their tokens apart. Revoked or expired ones never work.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="personal", max_length=20)  # personal | api
    label: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=16)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=80)
    expires_at: NaiveDatetime | None = None
    revoked_at: NaiveDatetime | None = None
    last_used_at: NaiveDatetime | None = None


class BrowserSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random secret, the table only its sha256 (review_store.sessions).

    It ends at `expires_at`, at sign-out (`revoked_at`), or when its user is deactivated.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    expires_at: NaiveDatetime
    revoked_at: NaiveDatetime | None = None
    last_seen_at: NaiveDatetime | None = None
    address: str | None = Field(default=None, max_length=64)  # the browser's address at sign-in


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per username and per client address; `locked_until` refuses attempts until then."""

    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=10)  # user | address
    key: str = Field(max_length=120)
    failures: int = 0
    last_failure_at: NaiveDatetime = Field(default_factory=utcnow)
    locked_until: NaiveDatetime | None = None
