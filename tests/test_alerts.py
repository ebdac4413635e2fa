"""Alerts: firing, dedup, cooldown, retries (500 then 200; exhaustion; timeouts), payload shapes, disabled
rules, validation and permissions, against a local webhook receiver, on SQLite and PostgreSQL.

The world: escalated review items whose SLA breach (48 h by default) falls at a pinned time, so the
escalation_sla rule fires exactly when the test moves the clock past it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from review_store.alerts.delivery import RetryPolicy
from review_store.clock import FixedClock
from review_store.db import read_session, session_scope
from review_store.desk import Desk, PermissionDenied, ValidationFailed
from review_store.errors import ConflictError
from review_store.models import AuditEvent, ReviewItem
from tests.factories import make_trace, make_user
from tests.webhook_receiver import webhook_receiver

T0 = datetime(2026, 3, 2, 9, 0, 0)  # first escalation; its SLA breaches at T0 + 48 h
FAST = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=2.0)


def _escalate(engine, *, at: datetime, reason: str = "reviewer flag") -> int:
    with session_scope(engine) as s:
        trace = make_trace(s, ts=at - timedelta(hours=1))
        item = ReviewItem(trace_id=trace.id, queue="escalation", status="escalated", created_at=at)
        item.escalated_at, item.escalation_reason = at, reason
        s.add(item)
        s.flush()
        return item.id


def _resolve(engine, item_id: int) -> None:
    with session_scope(engine) as s:
        item = s.get(ReviewItem, item_id)
        item.status = "resolved"
        s.add(item)


def _world(engine, db_url):
    with session_scope(engine) as s:
        lead = make_user(s, role="lead", username="lena")
        reviewer = make_user(s, role="reviewer", username="rita")
    clock = FixedClock(T0)
    return Desk.open(db_url, clock=clock), clock, lead, reviewer


def _check(desk, actor, **kw):
    return desk.alerts.check(actor=actor, retry=kw.pop("retry", FAST), **kw)


def test_fires_once_then_dedups_and_fires_again_after_it_cleared(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    item = _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        desk.alerts.add(
            actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url, cooldown_minutes=0
        )
        clock.set(T0 + timedelta(hours=47))
        report = _check(desk, lead)
        assert [(r.rule, r.status, r.firing) for r in report.rules] == [("sla", "quiet", ())]
        assert hook.requests == []

        clock.set(T0 + timedelta(hours=49))
        report = _check(desk, lead)
        (rule,) = report.rules
        assert (rule.status, rule.new, not report.failed) == ("sent", (f"item {item}",), True)
        (payload,) = hook.payloads
        assert payload["source"] == "review-desk" and payload["rule"] == "sla"
        assert (
            payload["kind"] == "escalation_sla" and payload["as_of"] == (T0 + timedelta(hours=49)).isoformat()
        )
        assert [f["subject"] for f in payload["firing"]] == [f"item {item}"]
        assert "past its SLA" in payload["firing"][0]["summary"]

        clock.set(T0 + timedelta(hours=50))  # still firing: not re-sent
        (rule,) = _check(desk, lead).rules
        assert (rule.status, rule.firing, rule.new) == ("notified before", (f"item {item}",), ())
        assert len(hook.requests) == 1
        assert desk.alerts.list(actor=lead)[0].firing == (f"item {item}",)

        _resolve(engine, item)
        clock.set(T0 + timedelta(hours=51))
        assert _check(desk, lead).rules[0].status == "quiet"
        assert desk.alerts.list(actor=lead)[0].firing == ()
        with session_scope(engine) as s:  # escalated again: a new episode, notified again
            row = s.get(ReviewItem, item)
            row.status = "escalated"
            s.add(row)
        clock.set(T0 + timedelta(hours=52))
        assert _check(desk, lead).rules[0].status == "sent"
        assert len(hook.requests) == 2


def test_cooldown_holds_new_subjects_until_it_has_passed(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    first = _escalate(engine, at=T0)
    second = _escalate(engine, at=T0 + timedelta(minutes=20))
    with webhook_receiver() as hook:
        desk.alerts.add(
            actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url, cooldown_minutes=60
        )
        clock.set(T0 + timedelta(hours=48, minutes=10))
        assert _check(desk, lead).rules[0].new == (f"item {first}",)
        clock.set(T0 + timedelta(hours=48, minutes=30))  # the second breaches, within the cooldown
        (rule,) = _check(desk, lead).rules
        assert (rule.status, rule.new) == ("cooldown", (f"item {second}",))
        assert rule.cooldown_until == T0 + timedelta(hours=49, minutes=10)
        assert len(hook.requests) == 1
        clock.set(T0 + timedelta(hours=49, minutes=10))
        (rule,) = _check(desk, lead).rules
        assert (rule.status, rule.new) == ("sent", (f"item {second}",))
        assert [f["subject"] for f in hook.payloads[-1]["firing"]] == [f"item {second}"]


def test_retries_after_500_then_succeeds_and_records_every_attempt(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    waits: list[float] = []
    with webhook_receiver() as hook:
        hook.script = [500, 503]
        desk.alerts.add(actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url)
        clock.set(T0 + timedelta(hours=49))
        report = _check(desk, lead, retry=RetryPolicy(3, 0.5, 2.0), sleep=waits.append)
        assert len(hook.requests) == 3
    (rule,) = report.rules
    assert rule.status == "sent" and not report.failed
    assert [(a.attempt, a.ok, a.status_code) for a in rule.attempts] == [
        (1, False, 500),
        (2, False, 503),
        (3, True, 200),
    ]
    assert waits == [0.5, 1.0]  # exponential backoff between tries
    rows = desk.alerts.deliveries(actor=lead)
    assert [(d.attempt, d.ok, d.status_code) for d in rows] == [
        (3, True, 200),
        (2, False, 503),
        (1, False, 500),
    ]
    assert "HTTP 500" in rows[-1].error and rows[0].error == ""
    assert {d.attempted_at for d in rows} == {T0 + timedelta(hours=49)} and len({d.batch for d in rows}) == 1
    with read_session(engine) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "alert.deliver")).all()
        audited = json.loads(event.payload)
        assert audited["delivered"] is True and [a["status_code"] for a in audited["attempts"]] == [
            500,
            503,
            200,
        ]


def test_exhausted_retries_are_recorded_and_tried_again_at_the_next_check(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        hook.default = 500
        desk.alerts.add(actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url)
        clock.set(T0 + timedelta(hours=49))
        report = _check(desk, lead)
        assert report.failed and report.rules[0].status == "failed"
        assert len(hook.requests) == 3
        rows = desk.alerts.deliveries(actor=lead, rule="sla")
        assert [d.ok for d in rows] == [False, False, False]
        hook.default = 200  # the receiver is back: the subject is still new, so the next check sends it
        clock.set(T0 + timedelta(hours=50))
        assert _check(desk, lead).rules[0].status == "sent"
        assert len(hook.requests) == 4
    with read_session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "alert.deliver")).all()
        assert [json.loads(e.payload)["delivered"] for e in events] == [False, True]


def test_a_hanging_receiver_times_out_and_the_retry_delivers(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        hook.script, hook.hang_seconds = ["hang"], 1.5
        desk.alerts.add(actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url)
        clock.set(T0 + timedelta(hours=49))
        (rule,) = _check(desk, lead, retry=RetryPolicy(2, 0.0, 0.3)).rules
    assert rule.status == "sent"
    assert [a.ok for a in rule.attempts] == [False, True]
    assert rule.attempts[0].status_code is None and "timeout" in rule.attempts[0].error


def test_unreachable_webhook_fails_after_its_retries(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        url = hook.url  # the receiver is gone once the block ends: connections are refused
    desk.alerts.add(actor=lead, name="sla", kind="escalation_sla", webhook_url=url)
    clock.set(T0 + timedelta(hours=49))
    report = _check(desk, lead, retry=RetryPolicy(2, 0.0, 1.0))
    assert report.failed
    assert [a.status_code for a in report.rules[0].attempts] == [None, None]
    assert all("Connect" in a.error for a in report.rules[0].attempts)


def test_slack_payload_has_text_and_blocks(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    items = [_escalate(engine, at=T0), _escalate(engine, at=T0, reason="judge confidence below 0.5")]
    with webhook_receiver() as hook:
        desk.alerts.add(
            actor=lead, name="sla-slack", kind="escalation_sla", webhook_url=hook.url, payload_format="slack"
        )
        clock.set(T0 + timedelta(hours=49))
        _check(desk, lead)
        (payload,) = hook.payloads
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith("Review Desk alert sla-slack: 2 firing")
    header, *sections = payload["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert [b["type"] for b in sections] == ["section", "section"]
    assert all(b["text"]["type"] == "mrkdwn" for b in sections)
    assert sections[0]["text"]["text"].startswith(f"*item {items[0]}*\n")
    assert "judge confidence below 0.5" in sections[1]["text"]["text"]


def test_a_disabled_rule_is_silent_and_re_enabling_starts_afresh(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        desk.alerts.add(
            actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url, cooldown_minutes=0
        )
        assert desk.alerts.set_enabled(actor=lead, name="sla", enabled=False).enabled is False
        clock.set(T0 + timedelta(hours=49))
        assert _check(desk, lead).rules == ()
        assert hook.requests == []
        desk.alerts.set_enabled(actor=lead, name="sla", enabled=True)
        assert _check(desk, lead).rules[0].status == "sent"
        assert len(hook.requests) == 1
    with read_session(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert actions == ["alert.rule_add", "alert.rule_disable", "alert.rule_enable", "alert.deliver"]


def test_rules_are_validated_and_for_leads_and_admins_only(engine, db_url) -> None:
    desk, _, lead, reviewer = _world(engine, db_url)
    ok = {"name": "r", "kind": "budget", "webhook_url": "https://hooks.example.com/x"}
    for bad, match in (
        ({"webhook_url": "ftp://hooks.example.com/x"}, "webhook_url"),
        ({"webhook_url": "file:///etc/passwd"}, "webhook_url"),
        ({"webhook_url": "https://"}, "webhook_url"),
        ({"kind": "moon_phase"}, "kind"),
        ({"params": {"trigger": "maybe"}}, "params.trigger"),
        ({"params": {"days": 3}}, "budget takes no days"),
        ({"kind": "guardrail_anomaly", "params": {"days": 0}}, "params.days"),
        ({"payload_format": "xml"}, "format"),
        ({"cooldown_minutes": -1}, "cooldown_minutes"),
        ({"name": " "}, "name"),
    ):
        with pytest.raises(ValidationFailed, match=match):
            desk.alerts.add(actor=lead, **{**ok, **bad})
    with pytest.raises(PermissionDenied):
        desk.alerts.add(actor=reviewer, **ok)
    with pytest.raises(PermissionDenied):
        desk.alerts.list(actor=reviewer)
    with pytest.raises(PermissionDenied):
        desk.alerts.check(actor=reviewer)
    view = desk.alerts.add(actor=lead, **ok, params={"trigger": "projected"})
    assert (view.kind, view.params, view.enabled, view.created_by) == (
        "budget",
        '{"trigger":"projected"}',
        True,
        "lena",
    )
    with pytest.raises(ConflictError):
        desk.alerts.add(actor=lead, **ok)
    assert [r.name for r in desk.alerts.list(actor=lead)] == ["r"]
