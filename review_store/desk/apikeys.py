"""desk.apikeys: the HTTP API's keys -- credentials of kind "api" in the personal-token table.

An API key is created by an admin for a user (so it acts with that user's role), shown once, stored as
its sha256, revocable at once, and stamped with its last use. Personal CLI tokens are the same rows with
kind "personal"; the API accepts only keys of kind "api", so revoking a laptop's CLI token never breaks a
pipeline and the other way round.
"""

from __future__ import annotations

from datetime import datetime

from review_store import tokens, users
from review_store.desk.base import Part, ReadModel
from review_store.desk.users import IssuedToken, TokenView, token_view
from review_store.errors import NotFound, PermissionDenied
from review_store.models import Credential, User
from review_store.permissions import Actor, refresh_actor, require

KIND = "api"


class ApiCaller(ReadModel):
    """Who an API request acts as: the key's user (role as stored now) and the key itself."""

    username: str
    role: str
    user_id: int
    key_id: int
    key_prefix: str
    origin: str

    def actor(self) -> Actor:
        """The Actor the facade re-reads on every state change (audited with the key's prefix)."""
        return Actor(username=self.username, role=self.role, id=self.user_id, origin=self.origin)


class ApiKeysPart(Part):
    def create(
        self, *, actor: Actor, username: str, label: str = "", expires_at: datetime | None = None
    ) -> IssuedToken:
        """A new API key for `username` (admins only); the secret is in the answer and nowhere else."""
        with self._write(actor) as (session, who):
            assert who is not None
            require(who, "manage_users")
            credential, secret = tokens.issue(
                session, actor=who, username=username, label=label, kind=KIND, expires_at=expires_at
            )
            user = users.get_user(session, username=username)
            return IssuedToken(token=token_view(credential, user.username), secret=secret)

    def list(self, *, actor: Actor, include_revoked: bool = True) -> tuple[TokenView, ...]:
        """Every API key, newest first, with its user, creator, last use and revocation (admins only)."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            rows = tokens.list_kind(session, actor=who, kind=KIND)
            return tuple(token_view(c, name) for c, name in rows if include_revoked or c.revoked_at is None)

    def revoke(self, *, actor: Actor, key_id: int) -> TokenView:
        """Revoke an API key at once (admins only; audited). Revoking twice changes nothing."""
        with self._write(actor) as (session, who):
            assert who is not None
            require(who, "manage_users")
            found = session.get(Credential, key_id)
            if found is None or found.kind != KIND:
                raise NotFound(f"no API key with id {key_id}")
            credential = tokens.revoke(session, actor=who, credential_id=key_id)
            owner = session.get(User, credential.user_id)
            assert owner is not None
            return token_view(credential, owner.username)

    def authenticate(self, *, secret: str, origin: str) -> ApiCaller:
        """The caller an API key stands for; stamps its last use (at most once a minute: tokens.STAMP_EVERY).

        Read in a read-only session: a key whose stamp is fresh costs no write (and so never waits for
        SQLite's write lock behind an import); a stale stamp is written in its own short transaction.

        Raises PermissionDenied (the HTTP layer answers 401) for an unknown, revoked or expired key, a
        personal token, or a key whose user is deactivated -- one message for all.
        """
        with self._read() as session:
            actor, credential = tokens.authenticate_credential(
                session, secret=secret, origin=origin, kind=KIND
            )
            if actor.id is None or credential.id is None:  # pragma: no cover - rows always have ids
                raise PermissionDenied("the credential presented is not valid")
            return ApiCaller(
                username=actor.username,
                role=actor.role,
                user_id=actor.id,
                key_id=credential.id,
                key_prefix=credential.prefix,
                origin=actor.origin or f"api key {credential.prefix}",
            )
