"""Single sign-on end to end: a local OpenID Connect provider, the app as `make run` serves it, and
headless Chromium doing what a person does.

The provider is oidc-provider-mock on a loopback port: its authorize page takes any subject, whose
email claim is the subject itself. The app runs from a temporary folder holding its own
`.streamlit/secrets.toml` (the README's [auth] keys), so no secret lands in the repository.
Covered: SSO sign-in as a user mapped by email (with the lead's pages), a reload keeps the session,
sign-out through the provider's end-session page, an unknown email refused with "Sign out" offered,
a role change and a deactivation picked up at the next click without signing out.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

from review_store.desk import SYSTEM, Desk
from tests.browser import ROOT, browser_page, free_port, require_chromium, running_app, screenshot

pytestmark = pytest.mark.browser


def _secrets(folder: Path, *, app_port: int, provider_port: int) -> None:
    streamlit_dir = folder / ".streamlit"
    streamlit_dir.mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", streamlit_dir / "config.toml")
    (streamlit_dir / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "review-desk"\n'
        'client_secret = "review-desk-secret"\n'
        f'server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"\n'
    )


def _sso_sign_in(page, base: str, email: str) -> None:
    page.goto(base)
    page.get_by_role("button", name="Sign in with SSO").click()
    page.locator("input[name=sub]").fill(email)  # the provider's own sign-in page
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{base}/**")


def _sign_out_at_provider(page, base: str) -> None:
    """The provider's end-session page asks for a confirmation, then sends the browser back to the app."""
    page.get_by_role("heading", name="End Session").wait_for()
    page.get_by_role("button", name="End Session").click()
    page.get_by_role("button", name="Sign in with SSO").wait_for()
    assert page.url.startswith(base)


def _nav(page) -> str:
    return page.get_by_test_id("stSidebarNav").inner_text()


def test_sso_sign_in_reload_sign_out_refusal_and_live_role_changes(tmp_path, sqlite_engine):
    """One journey on SQLite (the identity rules themselves run on PostgreSQL in test_adversary_identity)."""
    require_chromium()
    from oidc_provider_mock import run_server_in_thread
    from playwright.sync_api import expect

    def signed_out() -> None:
        # retried until the rerun ends: a page mid-rerun still shows the previous run's sidebar, stale
        expect(page.get_by_text("Signed in as")).to_have_count(0)

    db_url = sqlite_engine.url.render_as_string(hide_password=False)

    desk = Desk.open(db_url)
    desk.users.add(actor=SYSTEM, username="adam", role="admin", password="admin-pass-123")
    desk.users.add(actor=SYSTEM, username="lena", role="lead", email="Lena@Acme.example")
    adam = desk.users.sign_in(username="adam", password="admin-pass-123")
    app_port = free_port()
    with run_server_in_thread(port=0) as provider:
        _secrets(tmp_path, app_port=app_port, provider_port=provider.server_port)
        with (
            running_app(db_url, tmp_path / "app.log", cwd=tmp_path, port=app_port) as base,
            browser_page() as page,
        ):
            # SSO sign-in as a user whose email maps to a local lead
            _sso_sign_in(page, base, "lena@acme.example")
            page.get_by_text("Signed in as lena").wait_for()
            page.get_by_text("(lead)").wait_for()
            assert "Agreement" in _nav(page) and "Settings" in _nav(page)
            # a reload keeps the session (the provider's identity cookie)
            page.reload()
            page.get_by_text("Signed in as lena").wait_for()
            screenshot(page, tmp_path, "sso-signed-in")
            # sign-out goes through the provider's end-session page and back to the sign-in screen
            page.get_by_role("button", name="Sign out").click()
            _sign_out_at_provider(page, base)
            page.reload()
            page.get_by_role("button", name="Sign in with SSO").wait_for()
            signed_out()

            # a role change is picked up at the next click, without signing out
            _sso_sign_in(page, base, "lena@acme.example")
            page.get_by_text("(lead)").wait_for()
            desk.users.set_role(actor=adam, username="lena", role="reviewer")
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
            page.get_by_text("Signed in as lena (reviewer)").wait_for()
            assert "Agreement" not in _nav(page) and "Settings" not in _nav(page)
            # so is a deactivation: the identity no longer maps to an active user; Sign out is offered
            desk.users.set_active(actor=adam, username="lena", active=False)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Golden set", exact=True).click()
            page.get_by_text("no active Review Desk user has that email").wait_for()
            signed_out()
            page.reload()  # and it stays refused
            page.get_by_text("no active Review Desk user has that email").wait_for()
            page.get_by_role("button", name="Sign out").click()
            _sign_out_at_provider(page, base)

            # an unknown email is refused, with Sign out offered (not stuck on every reload)
            _sso_sign_in(page, base, "stranger@elsewhere.example")
            page.get_by_text("stranger@elsewhere.example signed in through SSO, but no active").wait_for()
            signed_out()
            screenshot(page, tmp_path, "sso-refused")
            page.get_by_role("button", name="Sign out").click()
            _sign_out_at_provider(page, base)
    desk.engine.dispose()
