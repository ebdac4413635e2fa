"""API keys: created by an admin, shown once, stored hashed, bound to a user, revocable, last use shown;
401 without/with a bad/revoked/personal key, 429 over the per-key budget with Retry-After."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from review_store.api.ratelimit import RateLimit, TokenBuckets
from review_store.desk import SYSTEM, Desk, PermissionDenied
from review_store.models import Credential
from tests.api_server import api_key, client, running_api


@pytest.fixture
def desk(demo_db_url, pinned_clock) -> Desk:
    return Desk.open(demo_db_url, clock=pinned_clock)


def _admin(desk: Desk):
    return desk.users.acting(
        as_user="adam",
        token=desk.users.issue_token(actor=SYSTEM, username="adam").secret,
        origin="test",
    )


def test_key_is_shown_once_stored_hashed_and_listed_without_secret(desk) -> None:
    issued = desk.apikeys.create(actor=_admin(desk), username="oscar", label="ci")
    assert issued.secret.startswith("rdt_") and issued.token.kind == "api"
    with Session(desk.engine) as s:
        row = s.exec(select(Credential).where(Credential.id == issued.token.id)).one()
    assert row.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in repr(row.model_dump())
    listed = desk.apikeys.list(actor=_admin(desk))
    assert [(k.id, k.username, k.label, k.last_used_at) for k in listed] == [
        (issued.token.id, "oscar", "ci", None)
    ]
    assert issued.secret not in str([k.to_json() for k in listed])


def test_only_admins_create_list_and_revoke_keys(desk) -> None:
    olivia = desk.users.acting(
        as_user="olivia", token=desk.users.issue_token(actor=SYSTEM, username="olivia").secret, origin="t"
    )
    with pytest.raises(PermissionDenied, match="manage users"):
        desk.apikeys.create(actor=olivia, username="olivia")
    with pytest.raises(PermissionDenied):
        desk.apikeys.list(actor=olivia)
    key = desk.apikeys.create(actor=_admin(desk), username="olivia")
    with pytest.raises(PermissionDenied):
        desk.apikeys.revoke(actor=olivia, key_id=key.token.id)
    assert desk.apikeys.list(actor=_admin(desk))[0].revoked_at is None


def test_health_needs_no_key_and_me_names_the_keys_user(desk, pinned_clock) -> None:
    key = api_key(desk, "olivia")
    with running_api(desk) as base, client(base) as anon, client(base, key) as c:
        assert anon.get("/api/v1/health").json() == {"ok": True, "database": "sqlite"}
        me = c.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["username"] == "olivia" and me.json()["role"] == "owner"
        listed = desk.apikeys.list(actor=_admin(desk))
        assert listed[0].last_used_at == pinned_clock.now()


def test_last_use_is_stamped_at_most_once_a_minute(desk, pinned_clock) -> None:
    """A fresh stamp costs no write: the time shown is at most tokens.STAMP_EVERY behind the last use."""
    secret = desk.apikeys.create(actor=SYSTEM, username="olivia", label="otel").secret

    def last_used():
        return desk.apikeys.list(actor=_admin(desk))[0].last_used_at

    first = pinned_clock.now()
    desk.apikeys.authenticate(secret=secret, origin="test")
    assert last_used() == first
    pinned_clock.advance(timedelta(seconds=59))
    desk.apikeys.authenticate(secret=secret, origin="test")
    assert last_used() == first  # under a minute old: left as it is
    pinned_clock.advance(timedelta(seconds=1))
    desk.apikeys.authenticate(secret=secret, origin="test")
    assert last_used() == first + timedelta(minutes=1)
    pinned_clock.set(first)  # a clock set back: stamped again, never left in the future
    desk.apikeys.authenticate(secret=secret, origin="test")
    assert last_used() == first


def test_401_for_missing_unknown_personal_revoked_and_deactivated(desk) -> None:
    key = api_key(desk, "rita")
    personal = desk.users.issue_token(actor=SYSTEM, username="rita").secret
    with running_api(desk) as base:
        with client(base) as anon:
            r = anon.get("/api/v1/me")
            assert r.status_code == 401 and "API key is required" in r.json()["error"]["message"]
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
        for bad in ("rdt_" + "x" * 43, "nonsense", personal):
            with client(base, bad) as c:
                r = c.get("/api/v1/me")
                assert r.status_code == 401, bad
                assert r.json()["error"]["type"] == "Unauthenticated"
        with client(base, key) as c:
            assert c.get("/api/v1/me").status_code == 200
            assert c.get("/api/v1/me", headers={"Authorization": "", "X-API-Key": key}).status_code == 200
            key_id = c.get("/api/v1/me").json()["key_id"]
            desk.apikeys.revoke(actor=_admin(desk), key_id=key_id)
            assert c.get("/api/v1/me").status_code == 401
        other = api_key(desk, "raj")
        desk.users.set_active(actor=_admin(desk), username="raj", active=False)
        with client(base, other) as c:
            assert c.get("/api/v1/me").status_code == 401


def test_429_with_retry_after_per_key(desk) -> None:
    a, b = api_key(desk, "rita"), api_key(desk, "raj")
    with running_api(desk, rate_limit=RateLimit(rate_per_s=0.5, burst=3)) as base:
        with client(base, a) as ca, client(base, b) as cb:
            assert [ca.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
            r = ca.get("/api/v1/me")
            assert r.status_code == 429
            assert r.headers["Retry-After"] == "2"
            assert "rate limit" in r.json()["error"]["message"]
            assert cb.get("/api/v1/me").status_code == 200  # another key has its own bucket


def test_token_bucket_refills_at_the_rate() -> None:
    now = [100.0]
    buckets = TokenBuckets(RateLimit(rate_per_s=2, burst=2), monotonic=lambda: now[0])
    assert [buckets.take("k") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("k") == 0.0
    assert buckets.take("other") == 0.0
    now[0] += float(timedelta(seconds=10).total_seconds())
    assert [buckets.take("k") for _ in range(3)][:2] == [0.0, 0.0]
