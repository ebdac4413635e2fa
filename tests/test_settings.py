"""Typed team settings: one schema per key; a bad value is refused as `key.field: reason` and nothing is
stored; callers (gate trust, rollback rule, escalations, drift, costs) read typed fields."""

from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from review_store import settings
from review_store.db import session_scope
from review_store.desk import Desk, ValidationFailed
from review_store.models import AuditEvent, Setting
from review_store.permissions import actor_for
from tests.factories import make_user


@pytest.fixture
def desk(engine):
    with session_scope(engine) as session:
        make_user(session, role="lead", username="lena")
        make_user(session, role="reviewer", username="rob")
    return Desk(engine)


def _counts(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (
            session.exec(select(func.count()).select_from(Setting)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def _lead(desk: Desk):
    with session_scope(desk.engine) as session:
        return actor_for(session, "lena")


@pytest.mark.parametrize(
    "key,value,message",
    [
        (
            "judge.trust",
            {"trusted_alpha": "high"},
            "judge.trust.trusted_alpha: should be a valid number (got 'high')",
        ),
        (
            "rollback.rule",
            {"mode": "autoo"},
            "rollback.rule.mode: should be 'suggest' or 'auto' (got 'autoo')",
        ),
        (
            "judge.trust",
            {"trusted_alpha": 0.5},
            "judge.trust.trusted_alpha: must be at least calibrate_alpha",
        ),
        ("judge.trust", {"min_items": 1}, "judge.trust.min_items: should be greater than or equal to 2"),
        ("judge.trust", {"trusted": 0.9}, "judge.trust.trusted: unknown field"),
        (
            "escalation.sla_hours",
            {"warn": 48, "breach": 24},
            "escalation.sla_hours.breach: must be above warn",
        ),
        (
            "escalation.low_confidence",
            1.5,
            "escalation.low_confidence.threshold: should be less than or equal to 1",
        ),
        ("cost.budget", {"period": "year"}, "cost.budget.period: should be 'day', 'week' or 'month'"),
        ("cost.budget", {"usd": -5}, "cost.budget.usd: should be greater than 0"),
        ("drift.psi", {"act": 0.05}, "drift.psi.act: must be above watch (0.1)"),
        ("rollback.rule", {"window_hours": "24"}, "rollback.rule.window_hours: should be a valid number"),
        ("rollback.rule", "auto", "rollback.rule: expected an object with mode, window_hours"),
        ("no.such", {"x": 1}, "setting: unknown key 'no.such'"),
    ],
)
def test_a_bad_value_is_refused_naming_key_and_field_and_nothing_is_stored(desk, key, value, message):
    before = _counts(desk.engine)
    with pytest.raises(ValidationFailed) as err:
        desk.settings.put(actor=_lead(desk), key=key, value=value)
    assert message in str(err.value)
    assert _counts(desk.engine) == before
    if key in settings.SCHEMAS:
        assert desk.settings.get(key).is_default


def test_a_good_value_is_stored_typed_merged_and_audited(desk):
    lead = _lead(desk)
    view = desk.settings.put(actor=lead, key="rollback.rule", value={"mode": "auto", "window_hours": 12})
    assert view.field("mode").value == "auto" and view.field("window_hours").value == 12
    assert view.field("max_p95_latency_ratio").value == 1.5 and not view.is_default
    assert view.updated_by == "lena"
    again = desk.settings.put(actor=lead, key="rollback.rule", value={"max_p95_latency_ratio": 2})
    assert again.field("mode").value == "auto"  # a partial value keeps the other current fields
    with session_scope(desk.engine) as session:
        rule = settings.get(session, "rollback.rule")
        assert isinstance(rule, settings.RollbackRule)
        assert (rule.mode, rule.window_hours, rule.max_p95_latency_ratio) == ("auto", 12, 2)
        events = [
            json.loads(e.payload)
            for e in session.exec(select(AuditEvent).where(AuditEvent.action == "setting.put")).all()
        ]
        assert [e["to"]["mode"] for e in events] == ["auto", "auto"]
        assert events[1]["from"]["max_p95_latency_ratio"] == 1.5


def test_low_confidence_accepts_a_bare_number(desk):
    view = desk.settings.put(actor=_lead(desk), key="escalation.low_confidence", value=0.3)
    assert view.field("threshold").value == 0.3
    with session_scope(desk.engine) as session:
        assert settings.get(session, "escalation.low_confidence").threshold == 0.3


def test_only_leads_change_settings(desk):
    from review_store.desk import PermissionDenied

    with session_scope(desk.engine) as session:
        rob = actor_for(session, "rob")
    with pytest.raises(PermissionDenied):
        desk.settings.put(actor=rob, key="drift.psi", value={"act": 0.5})
    assert desk.settings.get("drift.psi").is_default


def test_all_lists_every_key_with_form_metadata(desk):
    views = {v.key: v for v in desk.settings.all()}
    assert list(views) == list(settings.SCHEMAS)
    mode = views["rollback.rule"].field("mode")
    assert mode.kind == "choice" and mode.choices == ("suggest", "auto")
    trusted = views["judge.trust"].field("trusted_alpha")
    assert (trusted.kind, trusted.minimum, trusted.maximum) == ("number", 0.0, 1.0)
    assert views["judge.trust"].field("min_items").kind == "integer"
    assert views["cost.budget"].field("usd").exclusive_minimum == 0.0


def test_a_stored_value_gone_bad_is_reported_not_half_read(desk):
    with session_scope(desk.engine) as session:
        session.add(Setting(key="drift.psi", value={"watch": "x", "act": 0.2}, updated_by="db"))
    with pytest.raises(ValidationFailed, match=r"stored setting is invalid.*drift\.psi\.watch"):
        desk.settings.get("drift.psi")


def test_callers_read_the_typed_values(desk):
    from review_store.dashboards import costs
    from review_store.escalations import sla_colour
    from review_store.judge import agreement

    lead = _lead(desk)
    desk.settings.put(actor=lead, key="judge.trust", value={"trusted_alpha": 0.9, "min_items": 10})
    desk.settings.put(actor=lead, key="cost.budget", value={"period": "week", "usd": 10})
    desk.settings.put(actor=lead, key="escalation.sla_hours", value={"warn": 2, "breach": 3})
    with session_scope(desk.engine) as session:
        t = agreement.thresholds(session)
        assert (t.trusted, t.min_items) == (0.9, 10)
        assert costs.budget_status(session)["period"] == "week"
        sla = settings.get(session, "escalation.sla_hours")
        assert [sla_colour(h, sla) for h in (1, 2.5, 3)] == ["green", "amber", "red"]


def test_cli_settings_get_and_set(db_url):
    from typer.testing import CliRunner

    from review_store.cli import app
    from review_store.desk import SYSTEM, Desk
    from tests.factories import cli_token

    Desk.open(db_url).users.add(actor=SYSTEM, username="lena", role="lead")
    bare = CliRunner().invoke(app, ["--db", db_url, "settings", "set", "rollback.rule", '{"mode": "auto"}'])
    assert bare.exit_code == 2 and "needs a signed-in user's credential" in bare.output
    runner = CliRunner(env=cli_token(db_url, "lena"))  # lena's personal token; --as lena below
    bad = runner.invoke(app, ["--db", db_url, "settings", "set", "rollback.rule", '{"mode": "autoo"}'])
    assert bad.exit_code == 2
    assert "rollback.rule.mode: should be 'suggest' or 'auto' (got 'autoo')" in bad.output
    not_json = runner.invoke(app, ["--db", db_url, "settings", "set", "drift.psi", "{act: 1}"])
    assert not_json.exit_code == 2 and "drift.psi: VALUE is not JSON" in not_json.output
    ok = runner.invoke(
        app,
        ["--db", db_url, "--json", "settings", "set", "rollback.rule", '{"mode": "auto"}', "--as", "lena"],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["settings"]["rollback.rule"]["mode"] == "auto"
    got = runner.invoke(app, ["--db", db_url, "--json", "settings", "get"])
    payload = json.loads(got.output)["settings"]
    assert payload["rollback.rule"]["mode"] == "auto" and payload["drift.psi"] == {"watch": 0.1, "act": 0.25}
    text = runner.invoke(app, ["--db", db_url, "settings", "get", "judge.trust"])
    assert text.exit_code == 0 and "trusted_alpha = 0.8" in text.output
    unknown = runner.invoke(app, ["--db", db_url, "settings", "get", "nope"])
    assert unknown.exit_code == 2 and "unknown key 'nope'" in unknown.output
