"""The rollback rule on the demo world, its exact test against a direct binomial sum, and the timeline."""

from __future__ import annotations

import math

import pytest

from review_store.db import make_engine, read_session
from review_store.releases import deployments, rollback_rule


def test_rule_flags_r2_from_its_guardrail_rate_spike(demo_any_url):
    engine = make_engine(demo_any_url)
    with read_session(engine) as s:
        status = rollback_rule.evaluate(s)
    engine.dispose()
    assert status.live == "r2" and status.baseline == "r1" and status.mode == "suggest" and status.flagged
    spike = next(c for c in status.checks if c.metric == "grounding per 1k traces in refunds")
    assert spike.flagged and spike.ratio >= 2.0 and spike.p_value < rollback_rule.MAX_P_VALUE
    # guardrails that did not change are not flagged by noise
    assert not any(
        c.flagged for c in status.checks if c.metric.startswith(("pii_detector", "prompt_injection"))
    )


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 10, 0.3), (3, 10, 0.3), (28, 47, 0.393), (47, 47, 0.5), (5, 200, 0.01)]
)
def test_binomial_upper_tail_matches_direct_sum(k, n, p):
    direct = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert rollback_rule.binomial_upper_tail(k, n, p) == pytest.approx(direct, rel=1e-9)


def test_timeline_of_r1_shows_canary_and_health_check(demo_engine):
    with read_session(demo_engine) as s:
        rows = deployments.timeline(s, release="r1")
    whats = [r.what for r in rows if r.source == "deployment"]
    assert whats == [
        "canary 5%",
        "canary 25%",
        "canary 50%",
        "canary 100%",
        "health check passed (known-good)",
    ]
    assert {"release.create", "release.approve"} <= {r.what for r in rows if r.source == "audit"}
