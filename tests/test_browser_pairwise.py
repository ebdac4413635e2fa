"""A pairwise review in real headless Chromium (issue 16 part 1), in the style of test_browser_journey.py.

A reviewer signs in and opens Review on an item whose trace r3 shadowed (r2 served it): the page shows
the input once and "Output A" / "Output B" side by side (stacked on a phone-wide window) with no
release, model or prompt named; axe-core finds no serious or critical violation and Tab reaches every
action. The reviewer answers the rubric and the pairwise question from the keyboard (digits; 2 = B
better), types the reason, submits with Ctrl+Enter, and the page names the release behind each output;
the stored answer is the screen choice. No request leaves 127.0.0.1 and no script runs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from review_store.models import Label, User
from tests.browser import (
    axe_violations,
    browser_page,
    require_axe,
    require_chromium,
    running_app,
    screenshot,
    settled,
    sign_in,
    unreachable_by_keyboard,
    watch_requests,
)
from tests.test_review_pairwise_page import TELLS, key_with_layout, pair_item, pair_rubric

pytestmark = pytest.mark.browser
PASSWORD = "demo-pass-123"
REASON = "B names the refund timeline"


def _press(page, key: str) -> None:
    page.keyboard.press(key)
    page.wait_for_timeout(900)  # each digit reruns the script; the next key must find the new focus


def _side_by_side_then_stacked(page) -> None:
    """Wide: Output B beside Output A; on a phone-wide window the two stack, A above B."""
    a, b = (page.get_by_text(f"Output {n}", exact=True).bounding_box() for n in "AB")
    assert abs(a["y"] - b["y"]) < 5 and b["x"] > a["x"] + 200, (a, b)
    page.set_viewport_size({"width": 560, "height": 1000})
    page.wait_for_timeout(800)
    a, b = (page.get_by_text(f"Output {n}", exact=True).bounding_box() for n in "AB")
    assert b["y"] > a["y"] + 40 and abs(a["x"] - b["x"]) < 5, (a, b)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(800)


def test_pairwise_review_by_keyboard_reveals_the_releases(demo_engine, demo_db_url, tmp_path):
    require_chromium()
    require_axe()
    q_key, _ = pair_rubric(demo_engine)
    item_id, cand_is_a = pair_item(demo_engine, key_with_layout(True))  # r3 (the candidate) shown as A
    assert cand_is_a
    dialogs: list[str] = []
    with running_app(demo_db_url, tmp_path / "app.log") as base, browser_page() as page:
        outside = watch_requests(page)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, base, "rita", PASSWORD)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
        page.get_by_text("Output A", exact=True).wait_for()
        settled(page)

        # blind: both outputs by position, nothing on the page that tells the releases apart
        main = page.get_by_test_id("stMain")
        expect(main.get_by_text("Output B", exact=True)).to_have_count(1)
        expect(main.get_by_text("candidate: refund today")).to_have_count(1)
        expect(main.get_by_text("baseline: refunds take 5-7 days")).to_have_count(1)
        assert TELLS.findall(main.inner_text()) == []
        expect(page.get_by_role("heading", name="Releases revealed")).to_have_count(0)
        assert axe_violations(page) == []
        assert unreachable_by_keyboard(page) == []
        screenshot(page, tmp_path, "review-pairwise")
        _side_by_side_then_stacked(page)

        # the keyboard: digits answer the rubric in order, the pairwise question last (2 = B better)
        page.get_by_role("heading", name="Review").first.click()  # focus on the page, not a text box
        for key in ("4", "5", "3", "1"):  # correctness, groundedness, tone, issue_type
            _press(page, key)
        page.locator(".st-key-review_digit_2 button").filter(has_text="B better").wait_for()
        _press(page, "2")
        expect(page.locator("input[type=radio]:checked")).to_have_count(5, timeout=10_000)
        checked = page.locator("label").filter(has=page.locator("input[type=radio]:checked"))
        expect(checked.filter(has_text="B better")).to_have_count(1)
        page.get_by_label(f"Why? What made the difference ({q_key})").fill(REASON)
        page.keyboard.press("Control+Enter")

        # revealed: the release behind each position
        page.get_by_role("heading", name="Releases revealed").wait_for()
        settled(page)
        metrics = page.get_by_test_id("stMetric")
        expect(metrics.filter(has_text="Output A was")).to_contain_text("r3")
        expect(metrics.filter(has_text="Output B was")).to_contain_text("r2")
        page.get_by_text("Candidate r3 against baseline r2.").wait_for()
        assert axe_violations(page) == []
        screenshot(page, tmp_path, "review-pairwise-revealed")
        page.get_by_role("heading", name="Review").first.click()
        page.keyboard.press("n")  # the next item: an ordinary one, no A/B view
        page.get_by_role("heading", name="Releases revealed").wait_for(state="detached")
        settled(page)
        expect(page.get_by_text("Output A", exact=True)).to_have_count(0)
    with Session(demo_engine) as s:
        rita = s.exec(select(User).where(User.username == "rita")).one()
        label = s.exec(select(Label).where(Label.item_id == item_id, Label.reviewer_id == rita.id)).one()
    assert label.answers[q_key] == {"choice": "b", "reason": REASON}  # B: r2, the baseline
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    assert outside == [], f"requests left 127.0.0.1: {outside}"
