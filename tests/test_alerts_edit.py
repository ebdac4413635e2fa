"""Editing alert rules: parameters (the kind's thresholds), webhook, cooldown and format through the facade
and `review-desk alerts edit`, validated like adding, audited with from and to, and in force at the next
check; both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import read_session
from review_store.desk import PermissionDenied, ValidationFailed
from review_store.errors import NotFound
from review_store.models import AuditEvent
from tests.factories import cli_token
from tests.test_alerts import FAST, T0, _escalate, _world
from tests.webhook_receiver import webhook_receiver


def _edits(engine) -> list[tuple[str, dict]]:
    with read_session(engine) as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.action == "alert.rule_edit").order_by(AuditEvent.seq)
        )
        return [(e.entity_id, json.loads(e.payload)) for e in rows]


def test_edit_changes_validates_and_audits(engine, db_url) -> None:
    desk, _, lead, reviewer = _world(engine, db_url)
    desk.alerts.add(
        actor=lead, name="refunds", kind="guardrail_anomaly", webhook_url="https://hooks.example.com/a",
        params={"days": 1, "segment": "refunds"},
    )  # fmt: skip
    edited = desk.alerts.edit(
        actor=lead, name="refunds", params={"days": 3, "segment": "refunds"}, cooldown_minutes=15,
        webhook_url="https://hooks.example.com/b", payload_format="slack",
    )  # fmt: skip
    assert [(c.field, c.before, c.after) for c in edited.changes] == [
        ("params", '{"days":1,"segment":"refunds"}', '{"days":3,"segment":"refunds"}'),
        ("webhook_url", "https://hooks.example.com/a", "https://hooks.example.com/b"),
        ("cooldown_minutes", "60", "15"),
        ("payload_format", "json", "slack"),
    ]
    (rule,) = desk.alerts.list(actor=lead)
    assert (rule.params, rule.webhook_url, rule.cooldown_minutes, rule.payload_format) == (
        '{"days":3,"segment":"refunds"}', "https://hooks.example.com/b", 15, "slack",
    )  # fmt: skip
    ((entity, payload),) = _edits(engine)
    assert entity == "refunds"
    assert payload["cooldown_minutes"] == {"from": 60, "to": 15}
    assert payload["params"] == {
        "from": {"days": 1, "segment": "refunds"},
        "to": {"days": 3, "segment": "refunds"},
    }

    same = desk.alerts.edit(actor=lead, name="refunds", cooldown_minutes=15)  # nothing differs
    assert same.changes == () and same.summary() == "refunds: nothing changed" and len(_edits(engine)) == 1

    for bad, match in (
        ({"params": {"days": 99}}, "params.days"),
        ({"params": {"trigger": "projected"}}, "guardrail_anomaly takes no trigger"),
        (
            {"webhook_url": "http://169.254.169.254/latest"},
            "webhook_url: refused: 169.254.169.254 is a link-local",
        ),
        ({"webhook_url": "gopher://x/y"}, "webhook_url"),
        ({"cooldown_minutes": -1}, "cooldown_minutes"),
        ({"payload_format": "xml"}, "format"),
        ({"params": {"days": 2}, "cooldown_minutes": 99999}, "cooldown_minutes"),  # all or nothing
    ):
        with pytest.raises(ValidationFailed, match=match):
            desk.alerts.edit(actor=lead, name="refunds", **bad)
    assert desk.alerts.list(actor=lead) == (rule,) and len(_edits(engine)) == 1
    with pytest.raises(NotFound):
        desk.alerts.edit(actor=lead, name="nope", cooldown_minutes=1)
    with pytest.raises(PermissionDenied):
        desk.alerts.edit(actor=reviewer, name="refunds", cooldown_minutes=1)


def test_an_edited_cooldown_and_webhook_apply_at_the_next_check(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    first = _escalate(engine, at=T0)
    second = _escalate(engine, at=T0 + timedelta(minutes=20))
    with webhook_receiver() as old, webhook_receiver() as new:
        desk.alerts.add(
            actor=lead, name="sla", kind="escalation_sla", webhook_url=old.url, cooldown_minutes=60
        )
        clock.set(T0 + timedelta(hours=48, minutes=10))
        assert desk.alerts.check(actor=lead, retry=FAST).rules[0].new == (f"item {first}",)
        clock.set(T0 + timedelta(hours=48, minutes=30))
        assert desk.alerts.check(actor=lead, retry=FAST).rules[0].status == "cooldown"
        desk.alerts.edit(actor=lead, name="sla", cooldown_minutes=10, webhook_url=new.url)
        (rule,) = desk.alerts.check(actor=lead, retry=FAST).rules
        assert (rule.status, rule.new) == ("sent", (f"item {second}",))
        assert len(old.requests) == 1 and len(new.requests) == 1
        assert [f["subject"] for f in new.payloads[0]["firing"]] == [f"item {second}"]


def test_cli_edit(engine, db_url) -> None:
    desk, _, lead, _ = _world(engine, db_url)
    desk.alerts.add(
        actor=lead, name="refunds", kind="guardrail_anomaly", webhook_url="https://hooks.example.com/a",
        params={"days": 1, "segment": "refunds"},
    )  # fmt: skip
    runner, env = CliRunner(), cli_token(db_url, "lena")

    def run(*args: str):
        return runner.invoke(
            app, ["--db", db_url, "alerts", "edit", "refunds", *args, "--as", "lena"], env=env
        )

    out = run("--param", "days=3", "--cooldown", "30")  # days set, segment kept
    assert out.exit_code == 0, out.output
    assert out.output.strip() == (
        'refunds: params {"days":1,"segment":"refunds"} -> {"days":3,"segment":"refunds"}; cooldown_minutes 60 -> 30'
    )
    payload = json.loads(run("--unset-param", "segment", "--json").stdout)
    assert payload["params"] == '{"days":3}' and payload["cooldown_minutes"] == 30
    assert payload["changes"] == [
        {"field": "params", "before": '{"days":3,"segment":"refunds"}', "after": '{"days":3}'}
    ]
    nothing = run()
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    bad = run("--url", "http://169.254.169.254/")
    assert bad.exit_code == 2 and "webhook_url: refused: 169.254.169.254" in bad.output
    assert run("--param", "days=99").exit_code == 2
    missing = runner.invoke(
        app, ["--db", db_url, "alerts", "edit", "nope", "--cooldown", "1", "--as", "lena"], env=env
    )
    assert missing.exit_code == 2 and "nope" in missing.output
    assert [{k: v for k, v in p.items() if k != "origin"} for _, p in _edits(engine)] == [
        {"params": {"from": {"days": 1, "segment": "refunds"}, "to": {"days": 3, "segment": "refunds"}},
         "cooldown_minutes": {"from": 60, "to": 30}},
        {"params": {"from": {"days": 3, "segment": "refunds"}, "to": {"days": 3}}},
    ]  # fmt: skip
