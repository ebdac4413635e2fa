"""AppTest: an owner who is not the author approves r3 and promotes it through the canary; the author
sees approve disabled with the reason; the Audit page verifies and filters."""

from __future__ import annotations

from sqlmodel import select

from review_store.db import make_engine, read_session
from review_store.models import Deployment, Release
from tests.apptest import open_app, page


def _open(monkeypatch, url, user, name):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def test_owner_approves_r3_and_promotes_through_canary(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    assert at.selectbox(key="rel_name").value == "r3"
    assert not at.button(key="rel_approve").disabled
    at.text_area(key="rel_comment").input("Refunds grounding fixed; every gate passes.")
    at.button(key="rel_approve").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("r3 approved" in s.value for s in at.success)
    for _ in range(4):
        at.button(key="rel_promote").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    engine = make_engine(demo_db_url)
    with read_session(engine) as s:
        r3 = s.exec(select(Release).where(Release.name == "r3")).one()
        stages = s.exec(select(Deployment.stage_pct).where(Deployment.release_id == r3.id)).all()
        status = r3.status
    engine.dispose()
    assert sorted(stages) == [5, 25, 50, 100] and status == "live"


def test_author_sees_approve_disabled_with_reason(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "olivia", "releases")
    assert at.selectbox(key="rel_name").value == "r3"
    button = at.button(key="rel_approve")
    assert button.disabled
    assert any("olivia authored r3; four-eyes" in c.value for c in at.caption)


def test_failing_gate_disables_approve_without_override(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    at.selectbox(key="rel_name").select("r2").run()
    assert at.button(key="rel_approve").disabled  # oscar authored r2, and it is live anyway
    assert any(c.value.startswith("Approve is disabled: oscar authored r2") for c in at.caption)
    assert any("Gate FAILS" in e.value for e in at.error)


def test_audit_page_verifies_and_filters(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "lena", "audit")
    at.button(key="audit_verify").click().run()
    assert any("Chain intact" in s.value for s in at.success)
    at.text_input(key="audit_entity").input("release").run()
    frame = at.dataframe[0].value
    assert len(frame) > 0 and set(frame["entity"]) == {"release"}
