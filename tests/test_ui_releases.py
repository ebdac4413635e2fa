"""AppTest: promote, roll back and an approval over a failing gate ask first (st.dialog); Cancel changes
nothing, Confirm acts, and the page then shows the committed state."""

from __future__ import annotations

from review_store.desk import Desk
from tests.apptest import open_app, page


def _open(monkeypatch, url, user="oscar"):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page("releases")).run()
    assert not at.exception, at.exception
    return at


def _click(at, key):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _header(at) -> str:
    return at.subheader[0].value


def _dialog_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def _approve_r3(at):
    at.text_area(key="rel_comment").input("Refunds grounding fixed.")
    _click(at, "rel_approve")
    assert _header(at) == "r3 · approved"


def test_promote_asks_first_cancel_changes_nothing_confirm_promotes(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    _approve_r3(at)
    _click(at, "rel_promote")
    assert "Move **r3** to the next canary stage (now 0 % of traffic, status approved)." in _dialog_text(at)
    assert at.button(key="rel_confirm_yes").label == "Promote"
    assert _header(at) == "r3 · approved"  # nothing happened yet
    _click(at, "rel_confirm_no")
    assert not [b for b in at.button if b.key == "rel_confirm_yes"]
    assert _header(at) == "r3 · approved"
    assert Desk.open(demo_db_url).releases.get("r3").status == "approved"
    _click(at, "rel_promote")
    _click(at, "rel_confirm_yes")
    assert "promoted" in [s.value for s in at.success]
    assert _header(at) == "r3 · deploying · 5 %"
    assert not [b for b in at.button if b.key == "rel_confirm_yes"]  # the dialog is gone


def test_rollback_asks_first_and_names_what_serves_next(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    assert any(c.value == "Live: **r2** · known-good: **r1**" for c in at.caption)
    _click(at, "rel_rollback")
    text = _dialog_text(at)
    assert "Serve the known-good release **r1** again instead of **r2**." in text
    _click(at, "rel_confirm_no")
    assert Desk.open(demo_db_url).releases.list().live == "r2"
    assert any(c.value == "Live: **r2** · known-good: **r1**" for c in at.caption)
    _click(at, "rel_rollback")
    _click(at, "rel_confirm_yes")
    assert "rolled back" in [s.value for s in at.success]
    assert any(c.value == "Live: **r1** · known-good: **r1**" for c in at.caption)
    assert Desk.open(demo_db_url).releases.list().live == "r1"


def test_approving_a_failing_gate_asks_and_records_an_exception(monkeypatch, demo_db_url):
    desk = Desk.open(demo_db_url)
    lead = desk.users.sign_in(username="lena", password="demo-pass-123")
    policy = [t.model_dump() for t in desk.releases.gate_policy().thresholds]
    strict = [{**t, "threshold": 0.999} if t["metric"] == "correctness_accuracy" else t for t in policy]
    desk.releases.create_gate_policy(actor=lead, thresholds=strict)
    at = _open(monkeypatch, demo_db_url)
    assert any("Gate FAILS" in e.value for e in at.error)
    at.text_area(key="rel_comment").input("Shipping the refunds fix.")
    at.text_input(key="rel_override").input("Correctness bar raised after the eval; hotfix.").run()
    assert not at.button(key="rel_approve").disabled
    _click(at, "rel_approve")
    assert "r3** fails its gate" in _dialog_text(at)
    assert "Correctness bar raised after the eval; hotfix." in _dialog_text(at)
    assert _header(at) == "r3 · candidate"
    _click(at, "rel_confirm_yes")
    assert "r3 approved as an exception" in [s.value for s in at.success]
    assert _header(at) == "r3 · approved"
    frame = next(d.value for d in at.dataframe if "decision" in d.value.columns)
    assert list(frame["exception"]) == [True]
    assert at.button(key="rel_approve").disabled
