"""Each alert kind fires on a constructed world at pinned dates and stays quiet when its condition does
not hold. The kinds ask the store's own rule functions; these tests pin what those answer through them.

The demo world (seed 7, 2026-05-02 .. 2026-06-01; read-only here, both backends): the r2 grounding shift
in refunds is an anomaly on 2026-05-21, the top retrieval score drifts to "act" in the week to 2026-05-25,
the rollback rule flags live r2 against known-good r1, and four escalations are past their SLA at
2026-06-01 12:00. Budget and gate worlds are built per test.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from review_store import releases, settings
from review_store.alerts import kinds
from review_store.db import make_engine, read_session, session_scope
from tests.factories import make_trace, make_user
from tests.test_releases import MANIFEST, POLICY


def _hits(url: str, kind: str, at: datetime, params: dict | None = None) -> list[kinds.Hit]:
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return kinds.evaluate(session, kind, params or {}, at)
    finally:
        engine.dispose()


def test_guardrail_anomaly_fires_on_the_r2_grounding_spike(demo_any_url) -> None:
    (hit,) = _hits(demo_any_url, "guardrail_anomaly", datetime(2026, 5, 21, 12))
    assert hit.subject == "grounding in refunds"
    assert hit.details["day"] == "2026-05-21T00:00:00" and hit.details["rate_per_1k"] > 100
    assert _hits(demo_any_url, "guardrail_anomaly", datetime(2026, 5, 20, 12)) == []
    assert _hits(demo_any_url, "guardrail_anomaly", datetime(2026, 5, 21, 12), {"segment": "billing"}) == []
    # a look-back of several days reports the series once, at its newest anomalous day
    (week,) = _hits(demo_any_url, "guardrail_anomaly", datetime(2026, 5, 27, 12), {"days": 7})
    assert (week.subject, week.details["day"]) == ("grounding in refunds", "2026-05-27T00:00:00")


def test_drift_act_fires_for_the_retrieval_score_shift(demo_any_url) -> None:
    hits = _hits(demo_any_url, "drift_act", datetime(2026, 5, 25))
    assert [h.subject for h in hits] == ["top_retrieval_score"]
    assert hits[0].details["psi"] >= 0.25 and "(act)" in hits[0].summary
    assert _hits(demo_any_url, "drift_act", datetime(2026, 5, 15)) == []


def test_rollback_rule_fires_for_live_r2_and_not_without_a_live_release(demo_any_url, db_url) -> None:
    (hit,) = _hits(demo_any_url, "rollback_rule", datetime(2026, 6, 1, 12))
    assert hit.subject == "r2" and hit.details["baseline"] == "r1"
    assert "grounding per 1k traces in refunds" in hit.summary
    assert _hits(db_url, "rollback_rule", datetime(2026, 6, 1, 12)) == []


def test_escalation_sla_fires_past_the_breach_age_only(demo_any_url) -> None:
    hits = _hits(demo_any_url, "escalation_sla", datetime(2026, 6, 1, 12))
    assert len(hits) == 4 and all(h.details["age_hours"] >= 48 for h in hits)
    assert _hits(demo_any_url, "escalation_sla", datetime(2026, 5, 31, 1)) == []


def test_budget_fires_when_spend_exceeds_or_is_projected_to(engine, db_url) -> None:
    with session_scope(engine) as s:
        lead = make_user(s, role="lead")
        settings.put(s, actor=lead, key="cost.budget", value={"period": "day", "usd": 1.0})
        for hour in range(8):  # $0.20 an hour from 00:00 on 2026-03-03
            make_trace(s, ts=datetime(2026, 3, 3, hour, 30), cost_usd=0.2)
    assert _hits(db_url, "budget", datetime(2026, 3, 3, 4)) == []  # $0.80 spent so far
    (hit,) = _hits(db_url, "budget", datetime(2026, 3, 3, 6))  # $1.20 > $1.00
    assert hit.subject == "day from 2026-03-03" and "spent $1.20 of $1.00" in hit.summary
    assert hit.details["spent_usd"] > hit.details["budget_usd"]
    # a week's budget of $2.50: $1.60 spent is below it; the 7-day burn ($1.60 / 7 a day) projects $2.89
    with session_scope(engine) as s:
        settings.put(s, actor=lead, key="cost.budget", value={"period": "week", "usd": 2.5})
    assert _hits(db_url, "budget", datetime(2026, 3, 3, 9)) == []
    (projected,) = _hits(db_url, "budget", datetime(2026, 3, 3, 9), {"trigger": "projected"})
    assert projected.subject == "week from 2026-03-02" and "projected to spend" in projected.summary


def _candidates(engine) -> None:
    with session_scope(engine) as s:
        author = make_user(s, role="owner")
        lead = make_user(s, role="lead")
        releases.create_gate_policy(s, actor=lead, thresholds=POLICY)
        for name, accuracy in (("good", 0.9), ("bad", 0.7), ("unevaluated", None)):
            releases.create_release(s, actor=author, name=name, manifest=MANIFEST)
            if accuracy is not None:
                releases.record_eval_run(
                    s, actor=lead, release=name, metrics={"accuracy": accuracy, "p95_latency_ms": 2000}
                )


def test_gate_failed_fires_for_a_candidate_failing_on_its_evidence(engine, db_url) -> None:
    _candidates(engine)
    (hit,) = _hits(db_url, "gate_failed", datetime(2026, 3, 3))
    assert hit.subject == "bad" and "accuracy 0.7 is not >= 0.85" in hit.summary
    with Session(engine) as s:  # once it is no longer a candidate, its gate is no alert
        release = releases.get_release(s, name="bad")
        release.status = "rejected"
        s.add(release)
        s.commit()
    assert _hits(db_url, "gate_failed", datetime(2026, 3, 3) + timedelta(hours=1)) == []
