"""Alert dedup under concurrency: checks running at the same time in several threads (each its own Desk,
engine and connections, as separate cron processes would) send a firing subject once; a check that crashed
after claiming leaves a claim that holds for the lease and then expires, so the subject is sent (at least
once). On SQLite and PostgreSQL, against a local webhook receiver."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlmodel import select

from review_store.alerts import check as checking
from review_store.clock import FixedClock
from review_store.db import make_engine, read_session, session_scope
from review_store.desk import Desk
from review_store.models import AlertDelivery, AlertState, AuditEvent
from review_store.permissions import SYSTEM
from tests.test_alerts import FAST, T0, _escalate, _world
from tests.webhook_receiver import webhook_receiver

THREADS = 4


def _concurrent_checks(db_url, at, lead) -> list:
    barrier = threading.Barrier(THREADS)
    reports: list = [None] * THREADS
    errors: list[BaseException] = []

    def run(n: int) -> None:
        desk = Desk(make_engine(db_url), clock=FixedClock(at))
        try:
            barrier.wait()
            reports[n] = desk.alerts.check(actor=lead, retry=FAST)
        except BaseException as exc:  # surfaced below with the thread's traceback
            errors.append(exc)
        finally:
            desk.engine.dispose()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return reports


def test_concurrent_checks_send_a_subject_once(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    items = [_escalate(engine, at=T0), _escalate(engine, at=T0)]
    at = T0 + timedelta(hours=49)
    with webhook_receiver() as hook:
        hook.default, hook.hang_seconds = "hang", 0.5  # every answer takes 0.5 s: the others plan meanwhile
        for name, cooldown in (("sla", 0), ("sla-cooldown", 60)):
            desk.alerts.add(
                actor=lead, name=name, kind="escalation_sla", webhook_url=hook.url, cooldown_minutes=cooldown
            )
        reports = _concurrent_checks(db_url, at, lead)
        requests = list(hook.requests)
    by_rule: dict[str, list[str]] = {}
    for report in reports:
        for r in report.rules:
            by_rule.setdefault(r.rule, []).append(r.status)
    for rule, statuses in by_rule.items():
        assert statuses.count("sent") == 1, (rule, statuses)
        assert set(statuses) <= {"sent", "in flight", "notified before"}, (rule, statuses)
    assert sorted(p["rule"] for p in (r["json"] for r in requests)) == ["sla", "sla-cooldown"]
    for r in requests:
        assert sorted(f["subject"] for f in r["json"]["firing"]) == sorted(f"item {i}" for i in items)
    with read_session(engine) as s:
        delivered = sorted(d.ok for d in s.exec(select(AlertDelivery)).all())
        events = [
            json.loads(e.payload)
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == "alert.deliver"))
        ]
        states = [(st.notified_at, st.claim) for st in s.exec(select(AlertState)).all()]
    assert delivered == [True, True]
    assert len(events) == 2 and all(e["delivered"] for e in events)
    assert states == [(at, None)] * 4  # two subjects per rule, recorded, claims released
    # after the race: still firing, notified once, nobody sends again
    clock.set(at + timedelta(hours=2))
    with webhook_receiver() as hook:
        statuses = {r.rule: r.status for r in desk.alerts.check(actor=lead, retry=FAST).rules}
        assert hook.requests == []
    assert statuses == {"sla": "notified before", "sla-cooldown": "notified before"}


def test_a_crashed_checks_claim_holds_for_the_lease_then_the_subject_is_sent(engine, db_url) -> None:
    desk, clock, lead, _ = _world(engine, db_url)
    item = _escalate(engine, at=T0)
    at = T0 + timedelta(hours=49)
    with webhook_receiver() as hook:
        desk.alerts.add(
            actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url, cooldown_minutes=0
        )
        with session_scope(engine) as s:  # a check that planned (and claimed), then died before sending
            (planned,) = checking.plan(s, actor=SYSTEM, at=at)
        assert planned.outgoing is not None and planned.outgoing.subjects == [f"item {item}"]
        with read_session(engine) as s:
            state = s.exec(select(AlertState)).one()
            assert (state.claim, state.claimed_at, state.notified_at) == (planned.outgoing.batch, at, None)

        for later, expected in (
            (timedelta(0), "in flight"),
            (checking.CLAIM_LEASE - timedelta(seconds=1), "in flight"),
        ):
            clock.set(at + later)
            (rule,) = desk.alerts.check(actor=lead, retry=FAST).rules
            assert (rule.status, rule.new) == (expected, ())
        assert hook.requests == []
        clock.set(at + checking.CLAIM_LEASE)  # the claim expired: sent once, at least once overall
        (rule,) = desk.alerts.check(actor=lead, retry=FAST).rules
        assert (rule.status, rule.new) == ("sent", (f"item {item}",))
        assert len(hook.requests) == 1
    with read_session(engine) as s:
        state = s.exec(select(AlertState)).one()
        assert (state.claim, state.notified_at) == (None, at + checking.CLAIM_LEASE)
