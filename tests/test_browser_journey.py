"""The full journey in real headless Chromium: reviewer, owners, author, lead; no script ever runs.

A deep link (`/review`) shows the sign-in form and, once signed in, its page; a reload keeps the session,
a page of another role says so, and sign-out ends the session for good. A reviewer labels three items
from the keyboard and sees the judge only after submitting; r3's author sees approval refused; another
owner approves r3, promotes it to 100 % and downloads its proof bundle (it verifies) and notes; a lead sees the guardrail chart with its anomaly marker and
the maturity level. On every page axe-core finds no serious or critical violation and Tab reaches every
action; no request leaves 127.0.0.1. Review shows the rubric's scale anchors and each shortcut key once.
The demo queue holds a trace whose output carries `<script>` and `onerror` payloads: no dialog may fire
anywhere. The README's screenshots (docs/screenshots) are refreshed.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser import (
    SCREENSHOTS,
    axe_violations,
    browser_page,
    require_axe,
    require_chromium,
    running_app,
    screenshot,
    sign_in,
    unreachable_by_keyboard,
    watch_requests,
)

pytestmark = pytest.mark.browser
PASSWORD = "demo-pass-123"


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def _fill_sign_in(page, username: str) -> None:
    _settled(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for()


def _session_cookie(page, username: str) -> dict:
    """The browser's session cookie once the app has written it: a random secret, no name and no role."""
    for _ in range(60):
        found = [c for c in page.context.cookies() if c["name"] == "review_desk_session"]
        if found:
            cookie = found[0]
            assert cookie["value"].startswith("rds_") and username not in cookie["value"]
            assert cookie["sameSite"] == "Lax" and cookie["path"] == "/" and cookie["expires"] > 0
            return cookie
        page.wait_for_timeout(250)
    raise AssertionError("the session cookie was never written")


class Audit:
    """axe-core and the keyboard walk, page by page; the test asserts on every page at the end."""

    def __init__(self) -> None:
        self.axe: dict[str, list[str]] = {}
        self.keyboard: dict[str, list[str]] = {}

    def check(self, page, name: str) -> None:
        _settled(page)
        self.axe[name] = axe_violations(page)
        self.keyboard[name] = unreachable_by_keyboard(page)


def _go(page, title: str) -> None:
    _settled(page)  # a click in the middle of a script run can be lost
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()


def _settled(page) -> None:
    """Wait until the script run is over (Streamlit's running indicator is gone), then for charts to draw."""
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(1000)


def _button_text(page, key: str) -> str:
    return " ".join(page.locator(f".st-key-{key} button").inner_text().split())


def _anchors_shown_and_keys_once(page) -> None:
    """The rubric's scale anchors are on the page; a button shows its key once (Streamlit's key badge),
    never again in its label ("Skip (S) S", "1 1")."""
    page.get_by_text("1 · Unsupported: contradicts or ignores the context").first.wait_for()
    page.get_by_text("5 · Fully correct and complete").first.wait_for()
    skip = _button_text(page, "review_skip")
    assert skip == "Skip S" and re.findall(r"\bS\b", skip) == ["S"], skip
    assert _button_text(page, "review_digit_1") == "Wrong or harmful 1"  # the focused question's anchor
    assert _button_text(page, "review_submit") == "Submit label Ctrl + Enter"


def _label_three_items_by_keyboard(page, tmp_path) -> None:
    for n in range(3):
        page.get_by_text("the judge's verdict is shown after you submit").wait_for()
        page.wait_for_timeout(1500)  # let the script run finish before typing
        # blind review: once the page has settled on a new item, no judge verdict is on it
        expect(page.get_by_role("heading", name="Judge verdict")).to_have_count(0)
        page.get_by_role("heading", name="Review").first.click()  # focus on the page, not a text box
        for key in ("4", "5", "3", "1"):  # correctness, groundedness, tone, issue_type (first option)
            page.keyboard.press(key)
            page.wait_for_timeout(900)
        # the keys answered every question (the last answer may still be drawing on a loaded machine)
        expect(page.locator("input[type=radio]:checked")).to_have_count(4, timeout=10_000)
        if n == 0:
            screenshot(page, tmp_path, "review", readme=True)
        page.keyboard.press("Control+Enter")
        page.get_by_text("Label saved for").wait_for()
        page.get_by_role("heading", name="Judge verdict").wait_for()
        if n == 0:
            screenshot(page, tmp_path, "review-after-submit")
        page.wait_for_timeout(800)
        page.get_by_role("heading", name="Review").first.click()
        page.keyboard.press("n")
        page.get_by_text("Label saved for").wait_for(state="detached")


def _downloads_verify(page, tmp_path) -> None:
    """The Releases page's proof bundle, as the browser downloads it, verifies offline; its notes say r3
    is live at 100 %."""
    from review_store.desk.release_bundles import verify_bundle

    with page.expect_download() as bundle:
        page.get_by_role("button", name="Download proof bundle").click()
    assert bundle.value.suggested_filename == "r3.bundle"
    report = verify_bundle(bundle.value.path().read_bytes())
    assert report.ok and report.release == "r3", report.summary
    with page.expect_download() as notes:
        page.get_by_role("button", name="Download release notes (Markdown)").click()
    text = notes.value.path().read_text(encoding="utf-8")
    assert notes.value.suggested_filename == "release-notes-r3.md" and text.startswith("# Release r3\n")
    assert "approved by **oscar**" in text and "Status **live**" in text


def test_full_journey(demo_db_url, tmp_path):
    require_chromium()
    require_axe()
    dialogs: list[str] = []
    audit = Audit()
    with running_app(demo_db_url, tmp_path / "app.log") as base, browser_page() as page:
        outside = watch_requests(page)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        # a deep link before sign-in (not the role's first page): the sign-in form, no "Page not found";
        # then the page itself
        page.goto(f"{base}/escalations")
        page.get_by_role("button", name="Sign in").wait_for()
        audit.check(page, "sign-in")
        expect(page.get_by_text("Page not found")).to_have_count(0)
        _fill_sign_in(page, "rita")
        page.get_by_role("heading", name="Escalations").first.wait_for()
        assert page.url == f"{base}/escalations"
        _session_cookie(page, "rita")
        # a reload keeps the session (the cookie's server-side session), on the same page
        page.reload()
        page.get_by_text("Signed in as rita").wait_for()
        page.get_by_role("heading", name="Escalations").first.wait_for()
        expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
        audit.check(page, "escalations")
        _go(page, "Review")
        audit.check(page, "review")
        _anchors_shown_and_keys_once(page)
        _label_three_items_by_keyboard(page, tmp_path)
        _go(page, "Golden set")
        audit.check(page, "golden set")
        # a page of another role: said so, no "Page not found", still signed in
        page.goto(f"{base}/audit")
        page.get_by_text("The Audit page is not open to the reviewer role.").wait_for()
        expect(page.get_by_text("Page not found")).to_have_count(0)
        _sign_out(page)
        page.reload()  # signed out for good: the session was revoked and the cookie cleared
        page.get_by_role("button", name="Sign in").wait_for()
        expect(page.get_by_text("Signed in as")).to_have_count(0)

        page.goto(f"{base}/releases")
        _fill_sign_in(page, "olivia")
        page.get_by_text("Approve is disabled").wait_for()
        assert page.url == f"{base}/releases"
        assert page.get_by_role("button", name="Approve").is_disabled()
        assert "author" in page.get_by_text("Approve is disabled").inner_text()
        screenshot(page, tmp_path, "releases-author")
        _sign_out(page)

        sign_in(page, base, "oscar", PASSWORD)
        _go(page, "Releases")
        audit.check(page, "releases")
        page.get_by_label("Comment (required)").fill("Groundedness in refunds back above 0.9; approve.")
        page.get_by_role("button", name="Approve").click()
        page.get_by_text("r3 approved").wait_for()
        for stage in (5, 25, 50, 100):
            page.get_by_role("button", name="Promote to next stage").click()
            dialog = page.get_by_role("dialog")  # promote asks first
            dialog.get_by_text("to the next canary stage").wait_for()
            if stage == 5:
                audit.axe["promote dialog"] = axe_violations(page)
            dialog.get_by_role("button", name="Promote", exact=True).click()
            page.get_by_text(f"Stage now: {stage} %").wait_for()
        _downloads_verify(page, tmp_path)
        screenshot(page, tmp_path, "releases", readme=True)
        _go(page, "Audit")
        audit.check(page, "audit")
        screenshot(page, tmp_path, "audit")
        _sign_out(page)

        sign_in(page, base, "lena", PASSWORD)
        _go(page, "Guardrails")
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("anomal", exact=False).first.wait_for()
        audit.check(page, "guardrails")
        screenshot(page, tmp_path, "guardrails", readme=True)
        _go(page, "Maturity")
        expect(page.get_by_test_id("stMetricValue").first).to_contain_text("·")  # "3 · optimized"
        page.get_by_role("heading", name="Criteria and evidence").wait_for()
        audit.check(page, "maturity")
        screenshot(page, tmp_path, "maturity", readme=True)
        for title in ("Overview", "Agreement", "Escalations", "Items", "Costs", "Adjudication", "Settings"):
            _go(page, title)
            audit.check(page, title.lower())
            screenshot(page, tmp_path, title.lower(), readme=title in ("Overview", "Agreement"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "a11y.json").write_text(
        json.dumps({"axe": audit.axe, "keyboard": audit.keyboard}, indent=1)
    )
    assert len(audit.axe) >= 14, sorted(audit.axe)  # every page, the sign-in form and the promote dialog
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert {k: v for k, v in audit.axe.items() if v} == {}, "axe-core: serious or critical violations"
    assert {k: v for k, v in audit.keyboard.items() if v} == {}, "actions Tab never reaches"
