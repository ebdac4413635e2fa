"""Behavioural monitoring on both databases with pinned dates: cost per tenant and feature equals a raw
computation, the tenant spike rule, prompt-injection triggers per end user escalated once per window
(audited, no duplicate on re-run), and the `review-desk monitor` exit codes and --json."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import read_session, session_scope
from review_store.desk import Desk, FixedClock, ValidationFailed
from review_store.desk.dashboard_views import Range
from review_store.models import AuditEvent, ReviewItem, UserEscalation
from review_store.permissions import SYSTEM, actor_for
from tests.factories import make_guardrail_event, make_trace, make_user

AS_OF = datetime(2026, 6, 1, 12, 0)
runner = CliRunner()

# (tenant, feature, hours before AS_OF, cost or None, tokens in, tokens out)
COSTS = [
    ("acme", "support", 1, 0.50, 100, 20),
    ("acme", "support", 30, 0.25, 200, 40),
    ("acme", "search", 2, None, 300, 0),  # no price: tokens count, cost unknown
    ("globex", "support", 3, 1.75, 50, 50),
    ("globex", "support", 5, 0.125, 10, 5),
    ("", "support", 4, 0.01, 1, 1),  # no tenant named
    ("acme", "support", 24 * 40, 9.0, 1, 1),  # outside the 30-day range
]


def _desk(engine, as_of: datetime = AS_OF) -> Desk:
    return Desk(engine, clock=FixedClock(as_of))


def test_cost_per_tenant_and_feature_equals_the_raw_rows(engine):
    with session_scope(engine) as session:
        for tenant, feature, hours, cost, t_in, t_out in COSTS:
            make_trace(
                session, tenant=tenant, app=feature, ts=AS_OF - timedelta(hours=hours), cost_usd=cost,
                tokens_in=t_in, tokens_out=t_out,
            )  # fmt: skip
    start = AS_OF - timedelta(days=30)
    view = _desk(engine).monitor.tenant_costs(range=Range(start=start, end=AS_OF))
    expected: dict[tuple[str, str], list] = {}
    for tenant, feature, hours, cost, t_in, t_out in COSTS:
        if not start <= AS_OF - timedelta(hours=hours) < AS_OF:
            continue
        row = expected.setdefault((tenant, feature), [0, 0, 0, 0.0, 0])
        row[0] += 1
        row[1] += t_in
        row[2] += t_out
        row[3] += cost or 0.0
        row[4] += cost is not None
    got = {
        (r.tenant, r.feature): [r.traces, r.tokens_in, r.tokens_out, r.cost_usd, r.cost_known]
        for r in view.rows
    }
    assert got.keys() == expected.keys()
    for key, row in expected.items():
        assert got[key][:3] == row[:3] and got[key][4] == row[4]
        assert got[key][3] == pytest.approx(row[3], abs=1e-12)
    # costliest tenant first (globex 1.875 > acme 0.75 > "" 0.01), its features costliest first
    assert [(r.tenant, r.feature) for r in view.rows] == [
        ("globex", "support"), ("acme", "support"), ("acme", "search"), ("", "support"),
    ]  # fmt: skip
    with pytest.raises(ValidationFailed, match="at most 92 days"):
        _desk(engine).monitor.tenant_costs(range=Range(start=AS_OF - timedelta(days=93), end=AS_OF))


def _spend(session, tenant: str, *, daily_baseline: float, window: float) -> None:
    """`daily_baseline` a day over the 7 baseline days (one trace a day), `window` in the last 24 hours."""
    for day in range(1, 8):
        if daily_baseline:
            make_trace(
                session, tenant=tenant, ts=AS_OF - timedelta(days=day, hours=6), cost_usd=daily_baseline
            )
    if window:
        make_trace(session, tenant=tenant, ts=AS_OF - timedelta(hours=3), cost_usd=window)


def test_tenant_spike_against_its_own_baseline(engine):
    with session_scope(engine) as session:
        _spend(session, "acme", daily_baseline=1.0, window=10.0)  # 10x its rate: spike
        _spend(session, "globex", daily_baseline=2.0, window=2.5)  # 1.25x: not
        _spend(session, "hooli", daily_baseline=0.0, window=5.0)  # new spend over min_usd: spike
        _spend(session, "initech", daily_baseline=0.0, window=0.5)  # new but under min_usd ($1): not
        _spend(session, "umbrella", daily_baseline=0.1, window=0.9)  # 9x, under min_usd: not
    report = _desk(engine).monitor.tenant_spikes()
    by = {t.tenant: t for t in report.tenants}
    assert [t.tenant for t in report.spikes] == ["acme", "hooli"]
    assert by["acme"].ratio == pytest.approx(10.0) and by["acme"].expected_usd == pytest.approx(1.0)
    assert by["globex"].ratio == pytest.approx(1.25) and not by["globex"].spike
    assert by["hooli"].ratio is None and by["hooli"].baseline_usd == 0
    assert not by["initech"].spike and not by["umbrella"].spike
    assert report.window_start == AS_OF - timedelta(hours=24)
    assert report.baseline_start == AS_OF - timedelta(days=8)
    # a week later nothing is in the window: no spike
    assert not _desk(engine, AS_OF + timedelta(days=7)).monitor.tenant_spikes().spikes


def _injections(session, user: str, n: int, *, hours_ago: float = 2, name: str = "prompt_injection") -> None:
    for i in range(n):
        trace = make_trace(session, end_user=user, ts=AS_OF - timedelta(hours=hours_ago, minutes=i))
        make_guardrail_event(session, trace, name=name, stage="input", action="blocked")


def _world(engine) -> None:
    with session_scope(engine) as session:
        make_user(session, role="lead", username="lena")
        _injections(session, "mallory", 4)  # over the default threshold (3)
        _injections(session, "eve", 3)  # at it: not over
        _injections(session, "trent", 5, name="pii_detector")  # another guardrail: not counted
        _injections(session, "oscar", 5, hours_ago=30)  # outside the 24 h window
        _injections(session, "", 6)  # no end user: not attributed


def _escalations(engine) -> tuple[list, int, int]:
    with read_session(engine) as session:
        items = session.exec(select(ReviewItem).where(ReviewItem.status == "escalated")).all()
        rows = session.exec(select(func.count()).select_from(UserEscalation)).one()
        audits = session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "monitor.user_escalate")
        ).one()
        return [(i.queue, i.reason, i.escalation_reason) for i in items], rows, audits


def test_users_over_the_threshold_are_escalated_once_per_window(engine):
    _world(engine)
    desk = _desk(engine)
    users = desk.monitor.injection_users()
    assert [(u.end_user, u.triggers, u.over) for u in users.users] == [
        ("mallory", 4, True),
        ("eve", 3, False),
    ]
    run = desk.monitor.escalate_users(actor=SYSTEM)
    assert [u.end_user for u in run.raised] == ["mallory"] and not run.already
    items, rows, audits = _escalations(engine)
    assert items == [
        ("escalation", "injection_monitor",
         "end user mallory: 4 prompt_injection triggers in 2026-05-31 12:00..2026-06-01 12:00 (threshold 3)"),
    ]  # fmt: skip
    assert (rows, audits) == (1, 1)
    listed = desk.review.escalations()
    assert any("end user mallory" in (e.reason or "") for e in listed.rows)
    again = desk.monitor.escalate_users(actor=SYSTEM)  # the same window: nothing new
    assert not again.raised and [u.end_user for u in again.already] == ["mallory"]
    later = _desk(engine, AS_OF + timedelta(hours=1)).monitor.escalate_users(actor=SYSTEM)  # overlapping
    assert not later.raised and [u.end_user for u in later.already] == ["mallory"]
    assert _escalations(engine)[1:] == (1, 1)
    assert desk.monitor.injection_users().users[0].escalated_item_id is not None


def test_a_new_window_escalates_again_and_the_threshold_is_a_setting(engine):
    _world(engine)
    with session_scope(engine) as session:
        lena = actor_for(session, "lena")
    _desk(engine).settings.put(actor=lena, key="monitor.injection", value={"threshold": 2})
    with pytest.raises(ValidationFailed, match="monitor.injection.threshold"):
        _desk(engine).settings.put(actor=lena, key="monitor.injection", value={"threshold": -1})
    run = _desk(engine).monitor.escalate_users(actor=SYSTEM)
    assert sorted(u.end_user for u in run.raised) == ["eve", "mallory"]
    with session_scope(engine) as session:
        _injections(session, "mallory", 3, hours_ago=-22)  # the next day
    next_day = _desk(engine, AS_OF + timedelta(days=1)).monitor.escalate_users(actor=SYSTEM)
    assert [u.end_user for u in next_day.raised] == ["mallory"]
    assert _escalations(engine)[1:] == (3, 3)


def test_cli_monitor_users_exit_codes_and_json(engine, db_url):
    with session_scope(engine) as session:
        _injections(session, "eve", 3)
    calm = runner.invoke(app, ["--db", db_url, "monitor", "users", "--as-of", "2026-06-01T12:00", "--json"])
    assert calm.exit_code == 0, calm.output
    assert json.loads(calm.output)["ok"] is True
    with session_scope(engine) as session:
        _injections(session, "mallory", 4)
    over = runner.invoke(app, ["--db", db_url, "monitor", "users", "--as-of", "2026-06-01T12:00", "--json"])
    assert over.exit_code == 1, over.output
    payload = json.loads(over.output)
    assert [u["end_user"] for u in payload["raised"]] == ["mallory"] and payload["ok"] is False
    text = runner.invoke(app, ["--db", db_url, "monitor", "users", "--as-of", "2026-06-01T12:00"])
    assert text.exit_code == 1 and "0 escalated now, 1 already escalated" in text.output
    bad = runner.invoke(app, ["--db", db_url, "monitor", "users", "--as-of", "June 1st"])
    assert bad.exit_code == 2
    assert _escalations(engine)[1:] == (1, 1)


def test_cli_monitor_tenants_exit_codes_and_json(engine, db_url):
    with session_scope(engine) as session:
        _spend(session, "globex", daily_baseline=2.0, window=2.5)
    args = ["--db", db_url, "monitor", "tenants", "--as-of", "2026-06-01T12:00", "--days", "7"]
    calm = runner.invoke(app, [*args, "--json"])
    assert calm.exit_code == 0, calm.output
    payload = json.loads(calm.output)
    assert payload["ok"] is True
    assert [(r["tenant"], r["traces"]) for r in payload["costs"]["rows"]] == [("globex", 7)]  # 6 + window
    with session_scope(engine) as session:
        _spend(session, "acme", daily_baseline=1.0, window=10.0)
    spiking = runner.invoke(app, args)
    assert spiking.exit_code == 1 and "SPIKE acme" in spiking.output
    assert runner.invoke(app, [*args[:-2], "--days", "0"]).exit_code == 2


def test_demo_traffic_has_tenants_and_end_users_and_the_per_tenant_sums_match_the_rollup(demo_any_url):
    desk = Desk.open(demo_any_url)
    options = desk.dashboards.filter_options()
    window = Range(start=options.last_ts - timedelta(days=30), end=options.last_ts + timedelta(seconds=1))
    per_tenant = desk.monitor.tenant_costs(range=window)
    assert {r.tenant for r in per_tenant.rows} == {"acme-retail", "globex", "initech", "umbrella"}
    by_feature = desk.dashboards.costs(range=window, by="feature")  # the traffic rollup
    assert sum(r.traces for r in per_tenant.rows) == sum(r.traces for r in by_feature.rows)
    assert sum(r.cost_usd for r in per_tenant.rows) == pytest.approx(sum(r.cost_usd for r in by_feature.rows))
    users = desk.monitor.injection_users(as_of=options.last_ts)
    assert all(u.end_user.startswith("user-") for u in users.users)
