"""desk.users: sign-in, who a caller is (browser, CLI token), and account administration."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from review_store import sessions, signin, tokens, users
from review_store.desk.base import Part, ReadModel
from review_store.errors import PermissionDenied, SignInLocked
from review_store.models import Credential, User, utcnow
from review_store.permissions import Actor, refresh_actor, require, resolve_actor


class UserView(ReadModel):
    username: str
    display_name: str
    email: str | None
    role: str
    active: bool
    created_at: datetime
    locked_until: datetime | None = None  # sign-in refused until then (too many failures)


class TokenView(ReadModel):
    """A credential as lists show it: never the secret, only its first characters."""

    id: int
    username: str
    kind: str
    label: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedToken(ReadModel):
    """A new credential and its secret: shown once, stored nowhere."""

    token: TokenView
    secret: str


class StartedSession(ReadModel):
    """A new browser session: its secret (for the cookie; stored only hashed) and when it ends."""

    secret: str
    expires_at: datetime
    seconds: float  # its lifetime, for the cookie's Max-Age (immune to the browser's clock)


class LockView(ReadModel):
    scope: str  # user | address
    key: str
    until: datetime


def _view(user: User, locked_until: datetime | None = None) -> UserView:
    return UserView(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        active=user.active,
        created_at=user.created_at,
        locked_until=locked_until,
    )


def token_view(credential: Credential, username: str) -> TokenView:
    assert credential.id is not None
    return TokenView(
        id=credential.id,
        username=username,
        kind=credential.kind,
        label=credential.label,
        prefix=credential.prefix,
        created_at=credential.created_at,
        created_by=credential.created_by,
        expires_at=credential.expires_at,
        revoked_at=credential.revoked_at,
        last_used_at=credential.last_used_at,
    )


def _locked(until: datetime) -> SignInLocked:
    return SignInLocked(
        f"too many failed sign-ins: try again after {until:%Y-%m-%d %H:%M:%S} UTC "
        "(or ask an admin to unlock the account)",
        until=until,
    )


class UsersPart(Part):
    def sign_in(self, *, username: str, password: str, address: str | None = None) -> Actor | None:
        """The actor for valid credentials of an active user, else None (never says which part was wrong).

        Failures are counted per username and per client `address`; after 5 in a row sign-in is refused
        for a growing time (SignInLocked, with the time it ends), without checking the password.
        """
        with self._write(None) as (session, _):
            outcome = signin.authenticate(session, username=username, password=password, address=address)
        if outcome.actor is None and outcome.locked_until is not None:
            raise _locked(outcome.locked_until)  # raised after the commit: the failure stays counted
        return outcome.actor

    def start_session(self, *, actor: Actor, address: str | None = None) -> StartedSession:
        """A browser session for a signed-in, active user, lasting REVIEW_STORE_SESSION_HOURS.

        The secret goes into the browser's cookie; the database keeps only its hash.
        """
        with self._write(actor) as (session, who):
            assert who is not None
            row, secret = sessions.start(session, actor=who, address=address)
            seconds = (row.expires_at - row.created_at).total_seconds()
            return StartedSession(secret=secret, expires_at=row.expires_at, seconds=seconds)

    def resume_session(self, *, secret: str) -> Actor | None:
        """Who a browser session's secret signs in (role read now), or None when it no longer counts.

        None for an unknown, revoked (signed out) or expired secret, or a deactivated user.
        """
        with self._write(None) as (session, _):
            return sessions.resume(session, secret=secret)

    def end_session(self, *, secret: str) -> bool:
        """Sign-out: revoke the browser session at once (a copied cookie stops working). False if none."""
        with self._write(None) as (session, _):
            return sessions.end(session, secret=secret)

    def actor_for_email(self, *, email: str) -> Actor | None:
        """The active local user an SSO identity maps to (by email), or None."""
        with self._read() as session:
            return users.actor_for_email(session, email=email)

    def current(self, actor: Actor) -> Actor | None:
        """The signed-in actor as the database knows it now (role, active); None when no longer valid.

        The app calls this on every page run, so a role change or deactivation applies at the next click.
        """
        with self._read() as session:
            try:
                return refresh_actor(session, actor)
            except PermissionDenied:
                return None

    def acting(self, *, as_user: str | None, token: str | None, origin: str) -> Actor:
        """Who a CLI command (or API call) acts as: `permissions.resolve_actor`, the one rule.

        A named user needs their credential (`token`); no name and no credential is the operator
        (audited as "system" with `origin`, allowed system operations only). Stamps the token's last use.
        """
        with self._write(None) as (session, _):
            return resolve_actor(session, as_user, token=token, origin=origin)

    def list(self, *, actor: Actor) -> tuple[UserView, ...]:
        """Every account, by role then name, with any sign-in lock in force (admins only)."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            require(who, "manage_users")
            locks = signin.locks(session, now=utcnow())
            return tuple(
                _view(u, locks.get(("user", signin.throttle_key("user", u.username))))
                for u in users.list_users(session)
            )

    def locks(self, *, actor: Actor) -> tuple[LockView, ...]:
        """Every sign-in lock in force, usernames and client addresses (admins only)."""
        with self._read() as session:
            require(refresh_actor(session, actor), "manage_users")
            found = signin.locks(session, now=utcnow())
            return tuple(LockView(scope=s, key=k, until=u) for (s, k), u in sorted(found.items()))

    def add(
        self,
        *,
        actor: Actor,
        username: str,
        role: str,
        password: str | None = None,
        display_name: str = "",
        email: str | None = None,
    ) -> UserView:
        """Create an account (admins only; the credential-less CLI only while no admin exists); audited."""
        with self._write(actor) as (session, who):
            user = users.add_user(
                session,
                actor=who,
                username=username,
                role=role,
                password=password,
                display_name=display_name,
                email=email,
            )
            return _view(user)

    def set_role(self, *, actor: Actor, username: str, role: str) -> UserView:
        """Change a user's role (admins only); audited; takes effect at the user's next action."""
        with self._write(actor) as (session, who):
            return _view(users.set_role(session, actor=who, username=username, role=role))

    def set_active(self, *, actor: Actor, username: str, active: bool) -> UserView:
        """Deactivate or reactivate an account (admins only); audited; takes effect at once."""
        with self._write(actor) as (session, who):
            return _view(users.set_active(session, actor=who, username=username, active=active))

    def set_password(self, *, actor: Actor, username: str, password: str) -> None:
        """A user changes their own password, or an admin resets anyone's; audited."""
        with self._write(actor) as (session, who):
            users.set_password(session, actor=who, username=username, password=password)

    def unlock(self, *, actor: Actor, username: str | None = None, address: str | None = None) -> bool:
        """Lift a sign-in lock on a username or a client address (admins only); audited.

        Returns whether there were failures to clear."""
        with self._write(actor) as (session, who):
            return users.unlock(session, actor=who, username=username, address=address)

    def issue_token(
        self, *, actor: Actor, username: str, label: str = "", kind: str = "personal"
    ) -> IssuedToken:
        """A new personal token (or API key) for `username`: the user themself or an admin; audited."""
        with self._write(actor) as (session, who):
            credential, secret = tokens.issue(session, actor=who, username=username, label=label, kind=kind)
            user = users.get_user(session, username=username)
            return IssuedToken(token=token_view(credential, user.username), secret=secret)

    def issue_token_with_password(
        self, *, username: str, password: str, label: str = "", address: str | None = None
    ) -> IssuedToken:
        """A user proves who they are with their password (throttled like sign-in) and gets a token."""
        actor = self.sign_in(username=username, password=password, address=address)
        if actor is None:
            raise PermissionDenied("unknown user or wrong password")
        if address:
            actor = replace(actor, origin=f"password from {address}")
        return self.issue_token(actor=actor, username=actor.username, label=label)

    def tokens(self, *, actor: Actor, username: str) -> tuple[TokenView, ...]:
        """A user's credentials, newest first (their own, or anyone's for an admin); never the secrets."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            user = users.get_user(session, username=username)
            return tuple(
                token_view(c, user.username) for c in tokens.list_for(session, actor=who, username=username)
            )

    def revoke_token(self, *, actor: Actor, token_id: int) -> TokenView:
        """Revoke a credential at once (its user or an admin); audited."""
        with self._write(actor) as (session, who):
            credential = tokens.revoke(session, actor=who, credential_id=token_id)
            owner = session.get(User, credential.user_id)
            assert owner is not None
            return token_view(credential, owner.username)
