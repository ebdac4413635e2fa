"""Accounts and roles: the store itself refuses what a role may not do."""

from __future__ import annotations

import pytest

from review_store import users
from review_store.audit import list_events
from review_store.db import make_engine, read_session, session_scope
from review_store.errors import ConflictError, PermissionDenied, SignInLocked, ValidationFailed
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


# --- administration from the CLI (admins, with their token) ---------------------------------------------


def _cli(db_url, *args, token_of: str | None = None, stdin: str | None = None):
    from typer.testing import CliRunner

    from review_store.cli import app
    from tests.factories import cli_token

    env = cli_token(db_url, token_of) if token_of else {"REVIEW_DESK_TOKEN": ""}
    return CliRunner().invoke(app, ["--db", db_url, *args], env=env, input=stdin)


def _people(db_url):
    from review_store.desk import Desk

    desk = Desk.open(db_url)
    desk.users.add(actor=SYSTEM, username="ada", role="admin", password="admin-pass-123")
    desk.users.add(actor=SYSTEM, username="rita", role="owner", password="rita-pass-1234")
    return desk


def test_cli_set_role_deactivate_activate_unlock_with_json(db_url):
    import json

    desk = _people(db_url)
    out = _cli(db_url, "users", "set-role", "rita", "reviewer", "--as", "ada", "--json", token_of="ada")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) | {"created_at": None} == {
        "ok": True,
        "username": "rita",
        "display_name": "rita",
        "email": None,
        "role": "reviewer",
        "active": True,
        "created_at": None,
        "locked_until": None,
    }
    off = _cli(db_url, "users", "deactivate", "rita", "--as", "ada", "--json", token_of="ada")
    assert off.exit_code == 0 and json.loads(off.stdout)["active"] is False
    assert desk.users.sign_in(username="rita", password="rita-pass-1234") is None
    on = _cli(db_url, "users", "activate", "rita", "--as", "ada", token_of="ada")
    assert on.exit_code == 0 and "rita (reviewer, active)" in on.stdout
    for _ in range(3):  # the attempt while deactivated was the first failure
        assert desk.users.sign_in(username="rita", password="wrong-guess") is None
    with pytest.raises(SignInLocked):
        desk.users.sign_in(username="rita", password="wrong-guess")
    listed = json.loads(_cli(db_url, "users", "list", "--as", "ada", "--json", token_of="ada").stdout)
    assert [u["locked_until"] is not None for u in listed["users"]] == [False, True]  # ada, rita
    unlocked = _cli(db_url, "users", "unlock", "rita", "--as", "ada", "--json", token_of="ada")
    assert json.loads(unlocked.stdout) == {"ok": True, "unlocked": "rita", "had_failures": True}
    assert desk.users.sign_in(username="rita", password="rita-pass-1234").role == "reviewer"
    # rita may not do any of it, even with her own token; nor anyone without one
    mine = _cli(db_url, "users", "set-role", "rita", "admin", "--as", "rita", token_of="rita")
    assert mine.exit_code == 2 and "may not manage users" in mine.output
    bare = _cli(db_url, "users", "deactivate", "ada")
    assert bare.exit_code == 2 and "credential" in bare.output
    last_admin = _cli(db_url, "users", "set-role", "ada", "lead", "--as", "ada", token_of="ada")
    assert last_admin.exit_code == 1 and "last active admin" in last_admin.output
    engine = make_engine(db_url)
    with read_session(engine) as session:
        events = sorted(list_events(session), key=lambda e: e.seq)
        actions = [
            (e.actor, e.action)
            for e in events
            if e.action in ("user.set_role", "user.set_active", "user.unlock")
        ]
    engine.dispose()
    assert actions == [
        ("ada", "user.set_role"),
        ("ada", "user.set_active"),
        ("ada", "user.set_active"),
        ("ada", "user.unlock"),
    ]


def test_personal_tokens_issue_list_revoke(db_url):
    import json

    _people(db_url)
    mine = _cli(
        db_url,
        "--json",
        "users",
        "token",
        "rita",
        "--password-stdin",
        "--label",
        "laptop",
        stdin="rita-pass-1234\n",
    )
    assert mine.exit_code == 0, mine.output
    issued = json.loads(mine.stdout)
    assert (
        issued["secret"].startswith("rdt_") and issued["label"] == "laptop" and issued["username"] == "rita"
    )
    wrong = _cli(db_url, "users", "token", "rita", "--password-stdin", stdin="not-her-password\n")
    assert wrong.exit_code == 2 and "wrong password" in wrong.output
    by_admin = _cli(db_url, "users", "token", "rita", "--as", "ada", "--json", token_of="ada")
    assert by_admin.exit_code == 0 and json.loads(by_admin.stdout)["created_by"] == "ada"
    from typer.testing import CliRunner

    from review_store.cli import app

    env = {"REVIEW_DESK_TOKEN": issued["secret"]}
    listed = CliRunner().invoke(
        app, ["--db", db_url, "--json", "users", "tokens", "rita", "--as", "rita"], env=env
    )
    tokens = json.loads(listed.stdout)["tokens"]
    assert [t["label"] for t in tokens] == ["", "laptop"] and all("secret" not in t for t in tokens)
    others = CliRunner().invoke(app, ["--db", db_url, "users", "tokens", "ada", "--as", "rita"], env=env)
    assert others.exit_code == 2 and "may not manage users" in others.output
    revoked = CliRunner().invoke(
        app, ["--db", db_url, "--json", "users", "revoke-token", str(issued["id"]), "--as", "rita"], env=env
    )
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["revoked_at"] is not None
    after = CliRunner().invoke(app, ["--db", db_url, "users", "tokens", "rita", "--as", "rita"], env=env)
    assert after.exit_code == 2 and "not valid" in after.output


# --- the running app picks up role changes and deactivation at the next click ---------------------------


def test_demoted_lead_loses_lead_pages_and_deactivated_user_is_signed_out(monkeypatch, demo_db_url):
    from app import navigation
    from review_store.desk import Desk
    from tests.apptest import open_app, page

    desk = Desk.open(demo_db_url)
    adam = desk.users.sign_in(username="adam", password="demo-pass-123")
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("agreement")).run()
    assert not at.exception and [t.value for t in at.title][:1] == ["Agreement"]
    desk.users.set_role(actor=adam, username="lena", role="reviewer")
    at.run()  # the next interaction, no sign-out in between
    assert not at.exception
    assert at.session_state["actor"]["role"] == "reviewer"
    assert any("(reviewer)" in c.value for c in at.sidebar.caption)
    # the open Agreement page now refuses the reviewer (every page is registered, so a bookmark or deep link
    # gets an explanation and the role's own pages, never the lead's content)
    refusal = "The Agreement page is not open to the reviewer role."
    assert [w.value for w in at.warning] == [refusal]
    assert not at.metric and not at.dataframe
    at.switch_page(page(navigation.pages_for("reviewer")[0].file[:-3])).run()
    assert not at.warning and [t.value for t in at.title][:1] == [navigation.pages_for("reviewer")[0].title]
    at.switch_page(page("agreement")).run()
    assert [w.value for w in at.warning] == [refusal] and not at.metric
    desk.users.set_active(actor=adam, username="lena", active=False)
    at.run()
    assert not at.exception
    assert "actor" not in at.session_state
    assert at.text_input(key="sign_in_username") is not None and [b.label for b in at.button] == ["Sign in"]


def test_settings_users_changes_need_a_confirmation(monkeypatch, demo_db_url):
    from review_store.desk import Desk
    from tests.apptest import open_app, page

    desk = Desk.open(demo_db_url)
    adam = desk.users.sign_in(username="adam", password="demo-pass-123")
    at = open_app(monkeypatch, demo_db_url, "adam")
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception
    at.selectbox(key="users_change_user").set_value("oscar")
    at.selectbox(key="users_change_kind").set_value("Change role")
    at.selectbox(key="users_change_role").set_value("reviewer")
    at.button(key="users_change_apply").click().run()
    assert not at.exception
    assert any("Make **oscar** a **reviewer**?" in m.value for m in at.markdown)
    assert _role(desk, adam, "oscar") == "owner"  # nothing changed before the confirmation
    at.button(key="users_cancel").click().run()
    assert not at.exception and _role(desk, adam, "oscar") == "owner"
    assert not any("Make **oscar**" in m.value for m in at.markdown)
    at.button(key="users_change_apply").click().run()
    at.button(key="users_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["oscar is now a reviewer."]
    assert _role(desk, adam, "oscar") == "reviewer"
    at.selectbox(key="users_change_kind").set_value("Deactivate")
    at.button(key="users_change_apply").click().run()
    at.button(key="users_confirm").click().run()
    assert [s.value for s in at.success] == ["oscar is now deactivated."]
    at.selectbox(key="users_change_user").set_value("adam")
    at.button(key="users_change_apply").click().run()
    at.button(key="users_confirm").click().run()
    assert [e.value for e in at.error] == ["an admin cannot deactivate their own account"]
    assert not at.dataframe[0].value.set_index("username").loc["oscar", "active"]


def _role(desk, admin, username: str) -> str:
    return next(u.role for u in desk.users.list(actor=admin) if u.username == username)
