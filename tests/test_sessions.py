"""Browser sessions: a sign-in lasts across reloads until sign-out, expiry or deactivation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from review_store.db import read_session
from review_store.desk import Desk
from review_store.errors import PermissionDenied
from review_store.models import BrowserSession
from review_store.permissions import SYSTEM, Actor


@pytest.fixture
def desk(db_url) -> Desk:
    d = Desk.open(db_url)
    d.users.add(actor=SYSTEM, username="ada", role="admin", password="ada-password")
    d.users.add(actor=SYSTEM, username="rita", role="reviewer", password="rita-password")
    return d


def _rita(desk: Desk) -> Actor:
    actor = desk.users.sign_in(username="rita", password="rita-password")
    assert actor is not None
    return actor


def test_a_session_resumes_as_the_user_until_sign_out(desk, pinned_clock):
    started = desk.users.start_session(actor=_rita(desk), address="127.0.0.1")
    assert started.secret.startswith("rds_") and len(started.secret) >= 40
    assert started.seconds == 12 * 3600
    assert started.expires_at == pinned_clock.now() + timedelta(hours=12)
    with read_session(desk.engine) as session:
        row = session.exec(select(BrowserSession)).one()
        assert row.secret_hash != started.secret and started.secret not in row.secret_hash
        assert row.address == "127.0.0.1" and row.revoked_at is None

    pinned_clock.advance(timedelta(hours=1))
    resumed = desk.users.resume_session(secret=started.secret)
    assert resumed is not None and (resumed.username, resumed.role) == ("rita", "reviewer")
    with read_session(desk.engine) as session:
        assert session.exec(select(BrowserSession)).one().last_seen_at == pinned_clock.now()

    assert desk.users.end_session(secret=started.secret) is True
    assert desk.users.resume_session(secret=started.secret) is None
    assert desk.users.end_session(secret=started.secret) is False  # signing out twice changes nothing


def test_a_session_expires(desk, pinned_clock):
    started = desk.users.start_session(actor=_rita(desk))
    pinned_clock.advance(timedelta(hours=11, minutes=59))
    assert desk.users.resume_session(secret=started.secret) is not None
    pinned_clock.advance(timedelta(minutes=1))
    assert desk.users.resume_session(secret=started.secret) is None


def test_lifetime_comes_from_the_setting(desk, monkeypatch):
    from review_store.config import get_settings

    monkeypatch.setenv("REVIEW_STORE_SESSION_HOURS", "0.5")
    get_settings.cache_clear()
    try:
        assert desk.users.start_session(actor=_rita(desk)).seconds == 1800
    finally:
        get_settings.cache_clear()


def test_role_is_read_now_and_deactivation_ends_the_session(desk):
    ada = desk.users.sign_in(username="ada", password="ada-password")
    started = desk.users.start_session(actor=_rita(desk))
    desk.users.set_role(actor=ada, username="rita", role="lead")
    assert desk.users.resume_session(secret=started.secret).role == "lead"
    desk.users.set_active(actor=ada, username="rita", active=False)
    assert desk.users.resume_session(secret=started.secret) is None


@pytest.mark.parametrize(
    "secret", ["", "rds_", "rds_unknown-secret", "rdt_" + "x" * 43, "rds_" + "x" * 500, " \n", "🍪"]
)
def test_unknown_or_malformed_secrets_sign_in_nobody(desk, secret):
    desk.users.start_session(actor=_rita(desk))
    assert desk.users.resume_session(secret=secret) is None
    assert desk.users.end_session(secret=secret) is False


def test_only_an_active_user_account_gets_a_session(desk):
    with pytest.raises(PermissionDenied):
        desk.users.start_session(actor=SYSTEM)
    with pytest.raises(PermissionDenied):
        desk.users.start_session(actor=Actor(username="rita", role="admin", id=999))
    ada = desk.users.sign_in(username="ada", password="ada-password")
    rita = _rita(desk)
    desk.users.set_active(actor=ada, username="rita", active=False)
    with pytest.raises(PermissionDenied):
        desk.users.start_session(actor=rita)
