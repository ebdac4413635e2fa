"""Attacks on identity, tried as someone with a shell or a browser would; each is refused or detected.

Runs on SQLite and PostgreSQL (the `db_url` fixture). What is tried:
- acting as a named user from the CLI with no credential, with someone else's, a made-up or a revoked
  one, or as the credential-less "system" doing a person's decision;
- adding an admin from a shell once an admin exists (and the bootstrap being traced to user@host);
- a stale (deactivated, demoted) or hand-built Actor reaching the store;
- guessing passwords (throttling per username and per address, lockout, admin unlock);
- usernames that differ only in case, hold a NUL, or run to 500 characters (through the store and raw SQL);
- whitespace-only and too-short passwords.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select
from typer.testing import CliRunner

from review_store import releases, signin
from review_store.cli import app
from review_store.db import make_engine, read_session, session_scope
from review_store.desk import SYSTEM, Actor, Desk, PermissionDenied, SignInLocked, ValidationFailed
from review_store.errors import ConflictError
from review_store.models import Approval, AuditEvent, Credential, User
from review_store.permissions import refresh_actor
from tests.test_releases import _world

runner = CliRunner()


@pytest.fixture
def desk(db_url):
    d = Desk.open(db_url)
    yield d
    d.engine.dispose()


def _token(desk: Desk, username: str) -> str:
    return desk.users.issue_token(actor=SYSTEM, username=username).secret


def _approve(db_url: str, as_user: str, env: dict | None = None):
    argv = ["--db", db_url, "release", "approve", "c1", "--as", as_user, "--comment", "lgtm"]
    return runner.invoke(app, argv, env=env or {"REVIEW_DESK_TOKEN": ""})


def _approvals(db_url: str) -> int:
    engine = make_engine(db_url)
    with read_session(engine) as s:
        n = s.exec(select(func.count()).select_from(Approval)).one()
    engine.dispose()
    return n


def _events(db_url: str, action: str) -> list[AuditEvent]:
    engine = make_engine(db_url)
    with read_session(engine) as s:
        rows = [
            AuditEvent.model_validate(e.model_dump())
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        ]
    engine.dispose()
    return rows


# --- the CLI: --as needs the named user's credential ----------------------------------------------------


def test_cli_as_without_a_credential_is_refused(db_url, desk):
    _world(desk.engine)
    bare = _approve(db_url, "owner2")
    assert bare.exit_code == 2 and "needs owner2's credential" in bare.output
    as_system = _approve(db_url, "system")
    assert as_system.exit_code == 2 and "may not approve" in as_system.output
    someone_elses = _approve(db_url, "owner2", {"REVIEW_DESK_TOKEN": _token(desk, "author")})
    assert someone_elses.exit_code == 2 and "belongs to author" in someone_elses.output
    made_up = _approve(db_url, "owner2", {"REVIEW_DESK_TOKEN": "rdt_" + "A" * 43})
    assert made_up.exit_code == 2 and "not valid" in made_up.output
    assert _approvals(db_url) == 0 and _events(db_url, "release.approve") == []
    # a token is never a flag value (it would sit in shell history and the process list)
    flag = runner.invoke(app, ["--db", db_url, "--token", _token(desk, "owner2"), "release", "gate", "c1"])
    assert flag.exit_code == 2 and "No such option" in flag.output
    # with owner2's own token, piped on stdin, the four-eyes sign-off goes through as owner2
    ok = runner.invoke(
        app,
        ["--db", db_url, "--token-stdin", "release", "approve", "c1", "--as", "owner2", "--comment", "lgtm"],
        input=_token(desk, "owner2") + "\n",
        env={"REVIEW_DESK_TOKEN": ""},
    )
    assert ok.exit_code == 0, ok.output
    [event] = _events(db_url, "release.approve")
    assert event.actor == "owner2" and json.loads(event.payload)["origin"].startswith("token rdt_")


def test_revoked_expired_and_deactivated_credentials_stop_working(db_url, desk, pinned_clock):
    _world(desk.engine)
    issued = desk.users.issue_token(actor=SYSTEM, username="owner2", label="laptop")
    env = {"REVIEW_DESK_TOKEN": issued.secret}
    listing = ["--db", db_url, "users", "tokens", "owner2", "--as", "owner2"]
    assert runner.invoke(app, listing, env=env).exit_code == 0
    [seen] = desk.users.tokens(actor=SYSTEM, username="owner2")
    assert seen.last_used_at == pinned_clock.now() and seen.prefix == issued.secret[:12]
    engine = make_engine(db_url)
    with read_session(engine) as s:  # only the hash is stored
        stored = s.exec(select(Credential)).one()
        assert issued.secret not in (stored.secret_hash, stored.prefix) and len(stored.secret_hash) == 64
    engine.dispose()
    desk.users.revoke_token(actor=SYSTEM, token_id=issued.token.id)
    assert runner.invoke(app, listing, env=env).exit_code == 2
    fresh = {"REVIEW_DESK_TOKEN": _token(desk, "owner2")}
    desk.users.set_active(actor=SYSTEM, username="owner2", active=False)
    refused = _approve(db_url, "owner2", fresh)
    assert refused.exit_code == 2 and "not valid" in refused.output and _approvals(db_url) == 0


def test_users_add_from_a_shell_only_bootstraps_the_first_admin(db_url):
    first = runner.invoke(
        app,
        ["--db", db_url, "users", "add", "root1", "--role", "admin", "--password-stdin"],
        input="first-admin-pass\n",
        env={"REVIEW_DESK_TOKEN": ""},
    )
    assert first.exit_code == 0, first.output
    [added] = _events(db_url, "user.add")
    payload = json.loads(added.payload)
    assert added.actor == "system" and payload["bootstrap"] is True and "@" in payload["origin"]
    evil = runner.invoke(
        app, ["--db", db_url, "users", "add", "evil", "--role", "admin"], env={"REVIEW_DESK_TOKEN": ""}
    )
    assert evil.exit_code == 2 and "needs an admin's credential" in evil.output
    engine = make_engine(db_url)
    with read_session(engine) as s:
        assert s.exec(select(User.username)).all() == ["root1"]
    engine.dispose()


# --- the store: an Actor is only a claim ------------------------------------------------------------------


def test_stale_forged_and_demoted_actors_are_refused(db_url, desk):
    people = _world(desk.engine)
    owner, lead = people["owner"], people["lead"]
    desk.users.add(actor=SYSTEM, username="ada", role="admin", password="admin-pass-123")
    ada = desk.users.sign_in(username="ada", password="admin-pass-123")
    # a hand-built actor with a real name but a better role acts as what the user really is
    with pytest.raises(PermissionDenied, match="rev \\(reviewer\\) may not manage users"):
        desk.users.set_role(
            actor=Actor("rev", "admin", id=people["reviewer"].id), username="rev", role="admin"
        )
    with pytest.raises(PermissionDenied, match="not a known user"):
        desk.users.set_role(actor=Actor("mallory", "admin"), username="rev", role="admin")
    with pytest.raises(PermissionDenied, match="not a known user"):  # a real id under another name
        desk.users.set_role(actor=Actor("mallory", "admin", id=ada.id), username="rev", role="admin")
    # demoted: the lead's old actor may no longer change team settings
    current = desk.settings.get("escalation.sla_hours").value()
    desk.settings.put(actor=lead, key="escalation.sla_hours", value=current)
    desk.users.set_role(actor=ada, username="lead", role="reviewer")
    with pytest.raises(PermissionDenied, match="lead \\(reviewer\\) may not edit settings"):
        desk.settings.put(actor=lead, key="escalation.sla_hours", value=current)
    # deactivated: the owner's old actor cannot approve (the facade's re-read, then the sign-off rule)
    desk.users.set_active(actor=ada, username="owner2", active=False)
    with session_scope(desk.engine) as s, pytest.raises(PermissionDenied, match="deactivated"):
        releases.approve_release(s, actor=refresh_actor(s, owner), release="c1", comment="stale")
    assert _approvals(db_url) == 0
    assert desk.users.current(owner) is None and desk.users.current(lead).role == "reviewer"


# --- sign-in throttling ---------------------------------------------------------------------------------


def test_password_guessing_locks_the_username_then_the_admin_unlocks(desk, pinned_clock):
    desk.users.add(actor=SYSTEM, username="rita", role="owner", password="rita-pass-1234")
    desk.users.add(actor=SYSTEM, username="ada", role="admin", password="admin-pass-123")
    for _ in range(4):
        assert desk.users.sign_in(username="rita", password="guess", address="10.0.0.1") is None
    with pytest.raises(SignInLocked) as locked:  # the 5th failure starts a lock (any case of the name)
        desk.users.sign_in(username="RITA", password="guess", address="10.0.0.2")
    assert locked.value.until == pinned_clock.now() + timedelta(seconds=30)
    with pytest.raises(SignInLocked):  # even the right password is refused, without being checked
        desk.users.sign_in(username="rita", password="rita-pass-1234", address="10.0.0.3")
    delays = []
    for _ in range(6):  # each failure after the fifth doubles the wait, capped at 15 minutes
        pinned_clock.advance(locked.value.until - pinned_clock.now() + timedelta(seconds=1))
        with pytest.raises(SignInLocked) as locked:
            desk.users.sign_in(username="rita", password="guess", address="10.0.0.4")
        delays.append((locked.value.until - pinned_clock.now()).total_seconds())
    assert delays == [60, 120, 240, 480, 900, 900]
    [view] = [u for u in desk.users.list(actor=SYSTEM) if u.username == "rita"]
    assert view.locked_until == pinned_clock.now() + signin.LOCKOUT_CAP
    ada = desk.users.sign_in(username="ada", password="admin-pass-123")
    assert desk.users.unlock(actor=ada, username="rita") is True
    assert desk.users.sign_in(username="rita", password="rita-pass-1234").username == "rita"
    locks = _events(desk.url, "user.sign_in_locked")
    assert len(locks) >= 8 and {e.entity_id for e in locks} >= {"rita"}
    [unlocked] = _events(desk.url, "user.unlock")
    assert unlocked.actor == "ada" and unlocked.entity_id == "rita"
    with pytest.raises(PermissionDenied, match="may not manage users"):
        desk.users.unlock(
            actor=desk.users.sign_in(username="rita", password="rita-pass-1234"), username="ada"
        )


def test_spraying_many_usernames_from_one_address_locks_the_address(desk, pinned_clock):
    desk.users.add(actor=SYSTEM, username="maria", role="reviewer", password="maria-pass-123")
    for i in range(4):
        assert desk.users.sign_in(username=f"guess{i}", password="x", address="203.0.113.9") is None
    with pytest.raises(SignInLocked):
        desk.users.sign_in(username="guess4", password="x", address="203.0.113.9")
    with pytest.raises(SignInLocked):
        desk.users.sign_in(username="maria", password="maria-pass-123", address="203.0.113.9")
    assert desk.users.sign_in(username="maria", password="maria-pass-123", address="198.51.100.7") is not None
    assert {(lock.scope, lock.key) for lock in desk.users.locks(actor=SYSTEM)} == {("address", "203.0.113.9")}
    assert desk.users.unlock(actor=SYSTEM, address="203.0.113.9") is True
    assert desk.users.sign_in(username="maria", password="maria-pass-123", address="203.0.113.9") is not None


def test_guessing_through_the_cli_token_command_is_throttled_too(db_url, desk):
    desk.users.add(actor=SYSTEM, username="oscar", role="owner", password="oscar-pass-123")
    argv = ["--db", db_url, "users", "token", "oscar", "--password-stdin"]
    for _ in range(5):
        assert runner.invoke(app, argv, input="guess\n").exit_code == 2
    locked = runner.invoke(app, argv, input="oscar-pass-123\n")
    assert locked.exit_code == 2 and "too many failed sign-ins" in locked.output
    assert desk.users.tokens(actor=SYSTEM, username="oscar") == ()


# --- usernames and passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,message",
    [
        ("RITA", "taken"),
        ("ri\x00ta", "not allowed"),
        ("r" * 500, "not allowed"),
        ("r" * 81, "not allowed"),
        (" ", "not allowed"),
        ("ri\nta", "not allowed"),
        ('=HYPERLINK("x")', "not allowed"),
        ("System", "reserved"),
    ],
)
def test_bad_or_clashing_usernames_are_refused(desk, name, message):
    desk.users.add(actor=SYSTEM, username="rita", role="owner", password="rita-pass-1234")
    error = ConflictError if message == "taken" else ValidationFailed
    with pytest.raises(error, match=message):
        desk.users.add(actor=SYSTEM, username=name, role="admin", password="long-enough-1")
    assert [u.username for u in desk.users.list(actor=SYSTEM)] == ["rita"]


def test_the_database_itself_refuses_bad_usernames(desk):
    """Bypassing the store (raw SQL, as someone with database access would) hits the same rule."""
    desk.users.add(actor=SYSTEM, username="rita", role="owner", password="rita-pass-1234")
    desk.users.add(actor=SYSTEM, username="r" * 80, role="owner")  # 80 is the limit, and allowed
    insert = text(
        'INSERT INTO "user" (username, display_name, role, active, created_at) '
        "VALUES (:u, '', 'admin', true, '2026-01-01')"
    )
    for bad in ("RITA", "ri\x00ta", "r" * 500, "r" * 81, "a b", "é"):
        with pytest.raises(DBAPIError), session_scope(desk.engine) as s:
            s.exec(insert.bindparams(u=bad))
    assert len(desk.users.list(actor=SYSTEM)) == 2


def test_whitespace_and_short_passwords_are_refused(desk, monkeypatch):
    with pytest.raises(ValidationFailed, match="whitespace"):
        desk.users.add(actor=SYSTEM, username="maria", role="reviewer", password=" " * 12)
    with pytest.raises(ValidationFailed, match="at least 8"):
        desk.users.add(actor=SYSTEM, username="maria", role="reviewer", password="short")
    monkeypatch.setenv("REVIEW_STORE_PASSWORD_MIN_LENGTH", "14")
    with pytest.raises(ValidationFailed, match="at least 14"):
        desk.users.add(actor=SYSTEM, username="maria", role="reviewer", password="thirteen-char")
    desk.users.add(actor=SYSTEM, username="maria", role="reviewer", password="fourteen-chars")
    maria = desk.users.sign_in(username="maria", password="fourteen-chars")
    with pytest.raises(ValidationFailed, match="whitespace"):
        desk.users.set_password(actor=maria, username="maria", password="\t" * 20)
    monkeypatch.setenv("REVIEW_STORE_PASSWORD_MIN_LENGTH", "4")
    with pytest.raises(Exception, match="password_min_length"):  # a floor below 8 is a configuration error
        desk.users.add(actor=SYSTEM, username="x1", role="reviewer", password="whatever-long")
