"""The running app in real headless Chromium: sign in as the demo lead and see the Overview tiles."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, require_chromium, running_app, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_lead_signs_in_and_sees_overview_tiles(demo_db_url, tmp_path):
    require_chromium()
    with running_app(demo_db_url, tmp_path / "app.log") as base, browser_page() as page:
        sign_in(page, base, "lena", "demo-pass-123")
        page.get_by_role("heading", name="Overview").wait_for()
        for label in ("Task success", "Hallucination rate", "p95 latency", "Cache hit rate"):
            page.get_by_test_id("stMetricLabel").filter(has_text=label).first.wait_for()
        values = page.get_by_test_id("stMetricValue").all_inner_texts()
        assert len(values) == 6 and all(v.strip() not in ("", "—") for v in values), values
        shot = screenshot(page, tmp_path, "overview")
        assert shot.stat().st_size > 10_000


def test_deep_link_before_sign_in_shows_sign_in_not_file_names(demo_db_url, tmp_path):
    require_chromium()
    with running_app(demo_db_url, tmp_path / "app.log") as base, browser_page() as page:
        page.goto(f"{base}/settings")
        page.get_by_role("button", name="Sign in").wait_for()
        nav = page.get_by_test_id("stSidebarNav")
        assert nav.count() == 0 or "settings" not in nav.inner_text().lower()
