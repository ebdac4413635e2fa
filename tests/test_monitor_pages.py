"""AppTest: the Costs page's "Per tenant" section and the Guardrails page's "Users over the injection
threshold" show what desk.monitor returns (pinned clock: TEST_NOW)."""

from __future__ import annotations

from datetime import timedelta

from review_store.db import make_engine, session_scope
from tests.apptest import open_app, page
from tests.conftest import TEST_NOW
from tests.factories import make_guardrail_event, make_trace, make_user


def _world(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        make_user(session, role="lead", username="lena")
        for day in range(1, 8):  # acme: $1 a day for a week, then $10 in the last hours -> spike
            make_trace(
                session,
                tenant="acme",
                app="support",
                ts=TEST_NOW - timedelta(days=day, hours=6),
                cost_usd=1.0,
            )
        make_trace(session, tenant="acme", app="support", ts=TEST_NOW - timedelta(hours=2), cost_usd=10.0)
        make_trace(session, tenant="globex", app="search", ts=TEST_NOW - timedelta(hours=3), cost_usd=0.5)
        for i in range(4):  # mallory: 4 prompt-injection triggers (threshold 3); eve 1
            trace = make_trace(session, end_user="mallory", ts=TEST_NOW - timedelta(hours=1, minutes=i))
            make_guardrail_event(session, trace, name="prompt_injection", stage="input", action="blocked")
        trace = make_trace(session, end_user="eve", ts=TEST_NOW - timedelta(hours=1))
        make_guardrail_event(session, trace, name="prompt_injection", stage="input", action="blocked")
    engine.dispose()


def test_costs_page_shows_cost_per_tenant_and_the_spike(monkeypatch, db_url):
    _world(db_url)
    at = open_app(monkeypatch, db_url, "lena")
    at.run()
    at.switch_page(page("costs")).run()
    assert not at.exception, at.exception
    assert "Per tenant" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "tenant" in d.value.columns)
    rows = {(r.tenant, r.feature): (r.traces, round(r.cost_usd, 6)) for r in table.itertuples()}
    assert rows[("acme", "support")] == (8, 17.0)
    assert rows[("globex", "search")] == (1, 0.5)
    assert rows[("(no tenant)", "acme-support")] == (5, 0.005)  # the injection traces name no tenant
    assert list(table["tenant"])[0] == "acme"  # costliest first
    spikes = [w.value for w in at.warning]
    assert len(spikes) == 1 and spikes[0].startswith("Spend spike: tenant acme spent $10.00")
    assert "10.0x its baseline rate" in spikes[0]


def test_guardrails_page_lists_the_users_over_the_threshold(monkeypatch, db_url):
    _world(db_url)
    at = open_app(monkeypatch, db_url, "lena")
    at.run()
    at.switch_page(page("guardrails")).run()
    assert not at.exception, at.exception
    assert "Users over the injection threshold" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "end_user" in d.value.columns)
    assert list(zip(table["end_user"], table["triggers"], strict=True)) == [("mallory", 4)]
    assert table["escalated_item_id"].isna().all()  # not escalated yet: `review-desk monitor users` does
