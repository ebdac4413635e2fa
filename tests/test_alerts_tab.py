"""AppTest: Settings > Alerts (leads and admins): the empty state, adding a rule through the form (and a
refused bad URL), disabling and enabling, and the deliveries of a check, each as the page then shows it."""

from __future__ import annotations

from review_store.desk import SYSTEM, Desk
from tests.apptest import open_app, page
from tests.webhook_receiver import webhook_receiver


def _settings(monkeypatch, url, username):
    at = open_app(monkeypatch, url, username)
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception, at.exception
    return at


def _rules(at):
    frame = next(df.value for df in at.dataframe if "kind" in df.value.columns)
    return frame.to_dict("records")


def _add(at, name: str, url: str, *, kind: str = "escalation_sla", payload: str = "json") -> None:
    at.text_input(key="alerts_name").set_value(name)
    at.selectbox(key="alerts_kind").set_value(kind)
    at.text_input(key="alerts_url").set_value(url)
    at.selectbox(key="alerts_format").set_value(payload)
    next(b for b in at.button if b.label == "Add rule").click().run()
    assert not at.exception, at.exception


def test_lead_adds_disables_and_sees_deliveries(monkeypatch, demo_db_url, pinned_clock) -> None:
    at = _settings(monkeypatch, demo_db_url, "lena")
    assert "Alerts" in [t.label for t in at.tabs]
    assert any("No alert rules yet." in i.value for i in at.info)
    assert any("No deliveries yet." in c.value for c in at.caption)

    _add(at, "bad", "ftp://hooks.example.com/x")
    assert any("webhook_url" in e.value for e in at.error)
    assert any("No alert rules yet." in i.value for i in at.info)

    with webhook_receiver() as hook:
        _add(at, "sla breach", hook.url, payload="slack")
        assert any("Added alert rule sla breach (escalation_sla)." in s.value for s in at.success)
        (rule,) = _rules(at)
        assert (rule["name"], rule["kind"], rule["enabled"], rule["format"], rule["webhook"]) == (
            "sla breach", "escalation_sla", True, "slack", hook.url,
        )  # fmt: skip
        assert rule["firing"] == ""

        report = Desk.open(demo_db_url, clock=pinned_clock).alerts.check(actor=SYSTEM)
        assert report.rules[0].status == "sent" and len(hook.requests) == 1
        at.run()
        (rule,) = _rules(at)
        assert rule["firing"].count("item ") == 4  # the demo's four escalations past their SLA
        deliveries = next(df.value for df in at.dataframe if "delivered" in df.value.columns)
        (row,) = deliveries.to_dict("records")
        assert (row["rule"], row["try"], row["delivered"], row["status"]) == ("sla breach", 1, True, 200)
        assert row["time (UTC)"] == pinned_clock.now()

    next(b for b in at.button if b.key == "alerts_toggle").click().run()
    assert not at.exception, at.exception
    assert any("Disabled sla breach." in s.value for s in at.success)
    assert _rules(at)[0]["enabled"] is False and _rules(at)[0]["firing"] == ""
    assert next(b for b in at.button if b.key == "alerts_toggle").label == "Enable"
    next(b for b in at.button if b.key == "alerts_toggle").click().run()
    assert _rules(at)[0]["enabled"] is True


def test_the_tab_is_for_leads_and_admins(monkeypatch, demo_db_url) -> None:
    assert "Alerts" not in [t.label for t in _settings(monkeypatch, demo_db_url, "rita").tabs]
    assert "Alerts" in [t.label for t in _settings(monkeypatch, demo_db_url, "adam").tabs]


def _edit_widget(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def test_lead_edits_a_rule_and_the_page_shows_the_stored_values(monkeypatch, demo_db_url) -> None:
    import json

    from sqlmodel import Session, select

    from review_store.db import make_engine
    from review_store.models import AuditEvent
    from review_store.permissions import actor_for

    engine = make_engine(demo_db_url)
    with Session(engine) as s:
        lena = actor_for(s, "lena")
    Desk.open(demo_db_url).alerts.add(
        actor=lena, name="refunds", kind="guardrail_anomaly", webhook_url="https://hooks.example.com/a",
        params={"days": 1, "segment": "refunds"},
    )  # fmt: skip
    at = _settings(monkeypatch, demo_db_url, "lena")
    assert at.selectbox(key="alerts_edit_rule").value == "refunds"
    assert _edit_widget(at.text_input, "Rule's webhook URL").value == "https://hooks.example.com/a"
    assert _edit_widget(at.number_input, "Rule's cooldown").value == 60

    _edit_widget(at.text_input, "Rule's webhook URL").set_value("http://169.254.169.254/latest")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "webhook_url: refused: 169.254.169.254 is a link-local / cloud metadata address"
    ]
    assert _rules(at)[0]["webhook"] == "https://hooks.example.com/a"  # nothing was stored

    _edit_widget(at.text_input, "Rule's webhook URL").set_value("https://hooks.example.com/b")
    _edit_widget(at.number_input, "Rule's cooldown").set_value(15)
    _edit_widget(at.text_input, "Rule's parameters").set_value('{"days": 3, "segment": "refunds"}')
    _edit_widget(at.selectbox, "Rule's payload").set_value("slack")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        'Saved refunds: params {"days":1,"segment":"refunds"} -> {"days":3,"segment":"refunds"}; webhook_url '
        "https://hooks.example.com/a -> https://hooks.example.com/b; cooldown_minutes 60 -> 15; payload_format "
        "json -> slack (audited)."
    ]
    (rule,) = _rules(at)
    assert (rule["webhook"], rule["cooldown (min)"], rule["format"], rule["params"]) == (
        "https://hooks.example.com/b", 15, "slack", '{"days":3,"segment":"refunds"}',
    )  # fmt: skip
    # the form now holds the stored values
    assert _edit_widget(at.text_input, "Rule's webhook URL").value == "https://hooks.example.com/b"
    assert _edit_widget(at.number_input, "Rule's cooldown").value == 15
    assert _edit_widget(at.selectbox, "Rule's payload").value == "slack"
    with Session(engine) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "alert.rule_edit")).all()
        assert event.actor == "lena" and json.loads(event.payload)["cooldown_minutes"] == {
            "from": 60,
            "to": 15,
        }
    engine.dispose()
