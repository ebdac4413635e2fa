"""Accounts and roles: the store itself refuses what a role may not do."""

from __future__ import annotations

import pytest

from review_store import users
from review_store.db import session_scope
from review_store.errors import ConflictError, PermissionDenied, ValidationFailed
from review_store.permissions import SYSTEM, Actor


def test_admin_adds_user_and_password_is_hashed_by_argon2(engine):
    with session_scope(engine) as session:
        user = users.add_user(
            session, actor=SYSTEM, username="maria", role="reviewer", password="correct horse"
        )
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
    with session_scope(engine) as session:
        assert users.authenticate(session, username="maria", password="correct horse").role == "reviewer"
        assert users.authenticate(session, username="maria", password="wrong password") is None
        assert users.authenticate(session, username="nobody", password="correct horse") is None


def test_lead_may_not_change_users(engine):
    lead = Actor(username="lena", role="lead")
    with session_scope(engine) as session, pytest.raises(PermissionDenied, match="manage users"):
        users.add_user(session, actor=lead, username="x", role="admin", password="12345678")


def test_bad_role_short_password_and_duplicates_are_refused(engine):
    with session_scope(engine) as session:
        with pytest.raises(ValidationFailed, match="role"):
            users.add_user(session, actor=SYSTEM, username="a", role="boss", password="12345678")
        with pytest.raises(ValidationFailed, match="password"):
            users.add_user(session, actor=SYSTEM, username="a", role="lead", password="short")
        users.add_user(session, actor=SYSTEM, username="a", role="lead", password="12345678", email="A@x.org")
        with pytest.raises(ConflictError, match="taken"):
            users.add_user(session, actor=SYSTEM, username="a", role="lead", password="12345678")


def test_oidc_email_maps_to_local_user_and_inactive_users_cannot_sign_in(engine):
    with session_scope(engine) as session:
        users.add_user(session, actor=SYSTEM, username="sso", role="owner", email="Owner@Acme.example")
        users.add_user(session, actor=SYSTEM, username="gone", role="lead", password="12345678")
    with session_scope(engine) as session:
        assert users.actor_for_email(session, email="owner@acme.example").username == "sso"
        assert users.actor_for_email(session, email="nobody@acme.example") is None
        users.set_active(session, actor=SYSTEM, username="gone", active=False)
    with session_scope(engine) as session:
        assert users.authenticate(session, username="gone", password="12345678") is None
