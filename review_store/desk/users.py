"""desk.users: sign-in, the current identity, and account administration."""

from __future__ import annotations

from datetime import datetime

from review_store import users
from review_store.desk.base import Part, ReadModel
from review_store.models import User
from review_store.permissions import Actor, require


class UserView(ReadModel):
    username: str
    display_name: str
    email: str | None
    role: str
    active: bool
    created_at: datetime


def _view(user: User) -> UserView:
    return UserView(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        active=user.active,
        created_at=user.created_at,
    )


class UsersPart(Part):
    def sign_in(self, *, username: str, password: str) -> Actor | None:
        """The actor for valid credentials of an active user, else None (never says which part was wrong)."""
        with self._write(None) as (session, _):
            return users.authenticate(session, username=username, password=password)

    def actor_for_email(self, *, email: str) -> Actor | None:
        """The active local user an SSO identity maps to (by email), or None."""
        with self._read() as session:
            return users.actor_for_email(session, email=email)

    def current(self, actor: Actor) -> Actor | None:
        """The signed-in actor as the database knows it now (role, active); None when no longer valid.

        The app calls this on every page run, so a role change or deactivation applies at the next click.
        """
        from review_store.errors import PermissionDenied
        from review_store.permissions import refresh_actor

        with self._read() as session:
            try:
                return refresh_actor(session, actor)
            except PermissionDenied:
                return None

    def list(self, *, actor: Actor) -> tuple[UserView, ...]:
        """Every account, by role then name (admins only)."""
        with self._read() as session:
            require(actor, "manage_users")
            return tuple(_view(u) for u in users.list_users(session))

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
        """Create an account (admins only); audited."""
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
