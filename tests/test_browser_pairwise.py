"""A pairwise review in real headless Chromium (issue 16 part 1), in the style of test_browser_journey.py.

A reviewer signs in and opens Review on one of the demo's open items whose trace r3 shadowed (r2 served
it; moved to the front of the queue): the page shows the input once and "Output A" / "Output B" side by
side (stacked on a phone-wide window) with no release, model or prompt named; axe-core finds no serious
or critical violation and Tab reaches every action. The reviewer answers the rubric and the pairwise question from the keyboard (digits; 2 = B
better), types the reason, submits with Ctrl+Enter, and the page names the release behind each output;
the stored answer is the screen choice. No request leaves 127.0.0.1 and no script runs.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from review_store.db import session_scope
from review_store.models import Label, ReviewItem, Trace, User
from review_store.pairwise.pairs import candidate_shown_as_a
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
from tests.test_review_pairwise_page import pair_rubric

pytestmark = pytest.mark.browser
PASSWORD = "demo-pass-123"
REASON = "B cites the refund policy; A does not"


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


def _demo_pair_first(engine) -> tuple[int, bool, tuple[str, str], re.Pattern]:
    """One of the demo's open r2 items that r3 shadowed, moved to the front of the queue: (item id,
    candidate shown as A, the outputs at A and B, what would tell the releases apart on the page)."""
    shadow = aliased(Trace)
    with session_scope(engine) as s:
        rows = s.exec(
            select(ReviewItem, Trace, shadow)
            .join(Trace, col(Trace.id) == ReviewItem.trace_id)
            .join(shadow, col(shadow.shadow_of) == Trace.external_id)
            .where(ReviewItem.status == "open", Trace.release == "r2", shadow.release == "r3")
            .order_by(col(ReviewItem.id))
        ).all()
        # one where r3 answers differently (r2 was wrong there), when the demo has one open
        item, prod, cand = next((r for r in rows if r[1].output != r[2].output), rows[0])
        item.priority = 1000
        s.add(item)
        cand_a = candidate_shown_as_a(prod.external_id)
        outputs = (cand.output, prod.output) if cand_a else (prod.output, cand.output)
        names = {v for t in (prod, cand) for v in (t.release, t.model, t.prompt_version) if v}
        return item.id, cand_a, outputs, re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_pairwise_review_by_keyboard_reveals_the_releases(demo_engine, demo_db_url, tmp_path):
    require_chromium()
    require_axe()
    q_key, _ = pair_rubric(demo_engine)  # the demo's own pairwise question
    item_id, cand_is_a, (output_a, output_b), tells = _demo_pair_first(demo_engine)
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
        expect(main.locator("pre").nth(2)).to_be_visible()  # the code blocks draw after the text
        codes = [_words(c) for c in main.locator("pre").all_inner_texts()]
        assert codes[1:3] == [_words(output_a), _words(output_b)]  # after the input: A, then B
        assert tells.findall(main.inner_text()) == []
        expect(page.get_by_role("heading", name="Releases revealed")).to_have_count(0)
        assert axe_violations(page) == []
        assert unreachable_by_keyboard(page) == []
        screenshot(page, tmp_path, "review-pairwise", readme=True)
        _side_by_side_then_stacked(page)

        # the keyboard: a pair item asks only the pairwise question, so the digits answer it (2 = B better)
        page.get_by_role("heading", name="Review").first.click()  # focus on the page, not a text box
        page.locator(".st-key-review_digit_2 button").filter(has_text="B better").wait_for()
        _press(page, "2")
        expect(page.locator("input[type=radio]:checked")).to_have_count(1, timeout=10_000)
        checked = page.locator("label").filter(has=page.locator("input[type=radio]:checked"))
        expect(checked.filter(has_text="B better")).to_have_count(1)
        page.get_by_label(f"Why? What made the difference ({q_key})").fill(REASON)
        page.keyboard.press("Control+Enter")

        # revealed: the release behind each position
        page.get_by_role("heading", name="Releases revealed").wait_for()
        settled(page)
        metrics = page.get_by_test_id("stMetric")
        a_release, b_release = ("r3", "r2") if cand_is_a else ("r2", "r3")
        expect(metrics.filter(has_text="Output A was")).to_contain_text(a_release)
        expect(metrics.filter(has_text="Output B was")).to_contain_text(b_release)
        verdict = page.get_by_test_id("stDataFrame").first
        expect(verdict).to_contain_text("baseline better" if cand_is_a else "candidate better")
        page.get_by_text("Candidate r3 against baseline r2.").wait_for()
        assert axe_violations(page) == []
        screenshot(page, tmp_path, "review-pairwise-revealed")
        page.get_by_role("heading", name="Review").first.click()
        page.keyboard.press("n")  # the next item, blind again
        page.get_by_role("heading", name="Releases revealed").wait_for(state="detached")
        settled(page)
        page.get_by_text("shown after you submit", exact=False).first.wait_for()  # the next item's form
    with Session(demo_engine) as s:
        rita = s.exec(select(User).where(User.username == "rita")).one()
        label = s.exec(select(Label).where(Label.item_id == item_id, Label.reviewer_id == rita.id)).one()
    assert label.answers[q_key] == {"choice": "b", "reason": REASON}  # the screen position, not a release
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    assert outside == [], f"requests left 127.0.0.1: {outside}"
