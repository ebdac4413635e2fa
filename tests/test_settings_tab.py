"""AppTest: Settings > Thresholds shows a form per setting; a bad value shows `key.field: reason` and stores
nothing; a good one is saved, audited and shown (from the store) after the rerun."""

from __future__ import annotations

from sqlmodel import func, select

from review_store.db import make_engine, session_scope
from review_store.models import AuditEvent, Setting
from tests.apptest import open_app, page
from tests.factories import make_user


def _app(monkeypatch, db_url):
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        make_user(session, role="lead", username="lena")
    at = open_app(monkeypatch, db_url, "lena")
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception, at.exception
    return at, engine


def _stored(engine) -> tuple[dict[str, object], int]:
    with session_scope(engine) as session:
        rows = {r.key: r.value for r in session.exec(select(Setting)).all() if "." in r.key}
        audits = session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "setting.put")
        ).one()
    return {k: v for k, v in rows.items() if not k.startswith("audit.")}, audits


def test_thresholds_tab_is_a_form_per_setting(monkeypatch, db_url):
    at, _ = _app(monkeypatch, db_url)
    keys = {b.label for b in at.button if b.label.startswith("Save ") and "." in b.label}
    assert keys == {
        "Save judge.trust",
        "Save escalation.sla_hours",
        "Save escalation.low_confidence",
        "Save cost.budget",
        "Save rollback.rule",
        "Save drift.psi",
        "Save retention.raw_traces",
        "Save monitor.injection",
        "Save monitor.tenant_spike",
        "Save retrieval.k",
        "Save alerts.webhooks",
    }
    assert at.number_input(key="setting_retention.raw_traces_days_default").value == 90
    assert at.number_input(key="setting_retrieval.k_k_default").value == 5
    assert at.selectbox(key="setting_rollback.rule_mode_default").options == ["suggest", "auto"]
    assert at.number_input(key="setting_judge.trust_trusted_alpha_default").value == 0.8
    assert at.number_input(key="setting_judge.trust_min_items_default").value == 50
    assert not [t for t in at.text_area if t.key and t.key.startswith("setting")]  # no raw JSON


def test_a_bad_value_shows_key_field_reason_and_stores_nothing(monkeypatch, db_url):
    at, engine = _app(monkeypatch, db_url)
    before = _stored(engine)
    at.number_input(key="setting_drift.psi_act_default").set_value(0.05)
    next(b for b in at.button if b.label == "Save drift.psi").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "drift.psi.act: must be above watch (0.1) (act is the higher level) (got 0.05)"
    ]
    assert not at.success
    assert _stored(engine) == before
    at.run()  # the store still holds the default; the form keeps what was typed, to be fixed
    assert at.number_input(key="setting_drift.psi_act_default").value == 0.05
    assert _stored(engine) == before


def test_a_good_value_is_saved_and_shown_after_the_rerun(monkeypatch, db_url):
    at, engine = _app(monkeypatch, db_url)
    at.selectbox(key="setting_rollback.rule_mode_default").set_value("auto")
    at.number_input(key="setting_rollback.rule_window_hours_default").set_value(12.0)
    next(b for b in at.button if b.label == "Save rollback.rule").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Saved rollback.rule (audited)."]
    stored, audits = _stored(engine)
    assert stored["rollback.rule"]["mode"] == "auto" and stored["rollback.rule"]["window_hours"] == 12
    assert audits == 1
    mode = next(s for s in at.selectbox if s.key.startswith("setting_rollback.rule_mode_"))
    hours = next(n for n in at.number_input if n.key.startswith("setting_rollback.rule_window_hours_"))
    assert mode.key != "setting_rollback.rule_mode_default"  # rebuilt from the committed value
    assert (mode.value, hours.value) == ("auto", 12.0)
    assert any(c.value.startswith("changed by lena") for c in at.caption)
    at.run()
    assert not at.success  # the confirmation is shown once
    mode = next(s for s in at.selectbox if s.key.startswith("setting_rollback.rule_mode_"))
    assert mode.value == "auto"
