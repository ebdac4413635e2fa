"""The full journey in real headless Chromium: reviewer, owners, author, lead; no script ever runs.

A reviewer labels three items from the keyboard and sees the judge only after submitting; r3's author
sees approval refused; another owner approves r3 and promotes it to 100 %; a lead sees the guardrail
chart with its anomaly marker and the maturity level. The demo queue holds a trace whose output carries
`<script>` and `onerror` payloads: no dialog may fire anywhere. Screenshots of each page are written.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, require_chromium, running_app, screenshot, sign_in

pytestmark = pytest.mark.browser
PASSWORD = "demo-pass-123"


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def _go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()


def _settled(page) -> None:
    """Wait until the script run is over (Streamlit's running indicator is gone), then for charts to draw."""
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(1000)


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
        checked = page.locator("input[type=radio]:checked").evaluate_all("els => els.map(e => e.value)")
        assert len(checked) == 4, f"the keys did not answer every question: {checked}"
        if n == 0:
            screenshot(page, tmp_path, "review")
        page.keyboard.press("Control+Enter")
        page.get_by_text("Label saved for").wait_for()
        page.get_by_role("heading", name="Judge verdict").wait_for()
        if n == 0:
            screenshot(page, tmp_path, "review-after-submit")
        page.wait_for_timeout(800)
        page.get_by_role("heading", name="Review").first.click()
        page.keyboard.press("n")
        page.get_by_text("Label saved for").wait_for(state="detached")


def test_full_journey(demo_db_url, tmp_path):
    require_chromium()
    dialogs: list[str] = []
    with running_app(demo_db_url, tmp_path / "app.log") as base, browser_page() as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        sign_in(page, base, "rita", PASSWORD)
        _go(page, "Review")
        _label_three_items_by_keyboard(page, tmp_path)
        _sign_out(page)

        sign_in(page, base, "olivia", PASSWORD)
        _go(page, "Releases")
        page.get_by_text("Approve is disabled").wait_for()
        assert page.get_by_role("button", name="Approve").is_disabled()
        assert "author" in page.get_by_text("Approve is disabled").inner_text()
        screenshot(page, tmp_path, "releases-author")
        _sign_out(page)

        sign_in(page, base, "oscar", PASSWORD)
        _go(page, "Releases")
        page.get_by_label("Comment (required)").fill("Groundedness in refunds back above 0.9; approve.")
        page.get_by_role("button", name="Approve").click()
        page.get_by_text("r3 approved").wait_for()
        for stage in (5, 25, 50, 100):
            page.get_by_role("button", name="Promote to next stage").click()
            dialog = page.get_by_role("dialog")  # promote asks first
            dialog.get_by_text("to the next canary stage").wait_for()
            dialog.get_by_role("button", name="Promote", exact=True).click()
            page.get_by_text(f"Stage now: {stage} %").wait_for()
        screenshot(page, tmp_path, "releases")
        _go(page, "Audit")
        screenshot(page, tmp_path, "audit")
        _sign_out(page)

        sign_in(page, base, "lena", PASSWORD)
        _go(page, "Guardrails")
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("anomal", exact=False).first.wait_for()
        screenshot(page, tmp_path, "guardrails")
        _go(page, "Maturity")
        expect(page.get_by_test_id("stMetricValue").first).to_contain_text("·")  # "3 · optimized"
        page.get_by_role("heading", name="Criteria and evidence").wait_for()
        _settled(page)
        screenshot(page, tmp_path, "maturity")
        for title in ("Overview", "Agreement", "Escalations", "Costs"):
            _go(page, title)
            _settled(page)
            screenshot(page, tmp_path, title.lower())
    assert dialogs == [], f"a script ran in the page: {dialogs}"
