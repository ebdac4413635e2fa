"""Guardrail anomalies: a rate that rose against its own recent baseline.

Anomaly rule (daily evaluation, one series per guardrail and segment, or per guardrail when pooled):
- for each day d and each window w in WINDOWS = (1, 7) days ending at d (a one-day spike, or a week-long
  shift), take the events and traces of the window and of the 14 days before it (the baseline; at least
  7 of them with traffic, else the day is not evaluated);
- test whether the window's rate exceeds the baseline's with the conditional (exact) test for two Poisson
  rates: given all events of both periods, the window's share is Binomial(total events, window traffic /
  (window + baseline traffic)) when nothing changed; p = P(X >= observed). It compares rates, not counts,
  so a weekend with 45% of the traffic also expects 45% of the events, and it accounts for the baseline
  being an estimate too (rare guardrails no longer fire on a lucky quiet fortnight);
- p is Bonferroni-adjusted for the two windows; flag when p < alpha (0.01) AND observed / expected >= 1.5
  (expected = window traffic x baseline rate, a zero-event baseline counting as 0.5 event) AND at least
  3 events were observed, so neither volume nor a single stray event can flag on its own.
Calibrated on the demo world (3,000-5,000 traces over 30 days, ~20-35 refunds traces a day): the r2
grounding shift in refunds (about 3x) is flagged 2-6 days after the canary and, for seed 7, nothing
flags before it; other seeds show about one stray single-day flag of a rare guardrail per 30 days. The baseline trails, so a lasting shift stops flagging once it is the new normal.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from review_store.dashboards.common import Filters, bucket_grid
from review_store.dashboards.counts import event_counts, traffic_counts
from review_store.models import GuardrailEvent

ALPHA = 0.01
MIN_EVENTS = 3
MIN_RATIO = 1.5
WINDOWS = (1, 7)  # days of observation per test: a one-day spike, or a week-long shift


def binomial_sf(observed: int, trials: int, p: float) -> float:
    """P(X >= observed) for X ~ Binomial(trials, p), summed term by term in log space.

    Above the mean the terms fall at least geometrically, so the sum stops once a term no longer changes
    it (relative 1e-17); at or below the mean it is 1 - P(X < observed), summed from observed - 1 down with
    the same stop, and then not small. Either
    way the work is about min(observed, trials - observed) + a few standard deviations, not `trials`.
    """
    if observed <= 0:
        return 1.0
    if observed > trials or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_c, log_p, log_q = math.lgamma(trials + 1), math.log(p), math.log1p(-p)
    odds = p / (1 - p)

    def term(k: int) -> float:
        return math.exp(
            log_c - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p + (trials - k) * log_q
        )

    # One exact term, then the ratio of neighbours (t(k+1) / t(k) = (trials - k) / (k + 1) * p / q):
    # a multiplication per term instead of three lgamma calls.
    if observed > trials * p:
        total, t = 0.0, term(observed)
        for k in range(observed, trials + 1):
            total += t
            if t <= total * 1e-17:
                break
            t *= (trials - k) / (k + 1) * odds
        return min(1.0, total)
    # Below the mean the terms fall at least geometrically going down from observed - 1: same stop rule.
    below: list[float] = []
    t = term(observed - 1)
    for k in range(observed - 1, -1, -1):
        below.append(t)
        if below[-1] <= below[0] * 1e-17:
            break
        t *= k / (trials - k + 1) / odds
    return min(1.0, max(0.0, 1.0 - math.fsum(below)))


def _daily(session: Session, filters: Filters, by_segment: bool) -> tuple[dict, dict]:
    by = "segment" if by_segment else "all"
    traffic = {
        (k[0], k[1] if by_segment else "all"): n
        for k, n in traffic_counts(session, filters, "day", by).items()
    }
    keys = [GuardrailEvent.name] + ([GuardrailEvent.segment] if by_segment else [])
    events = {
        (k[0], k[1], k[2] if by_segment else "all"): n
        for k, n in event_counts(session, filters, "day", keys).items()
    }
    return traffic, events


def _window_test(traffic, events, day, name, seg, window, baseline_days, min_baseline_days):
    recent = [day - timedelta(days=i) for i in range(window)]
    base = [day - timedelta(days=window + i) for i in range(baseline_days)]
    n = sum(traffic.get((d, seg), 0) for d in recent)
    base_n = sum(traffic.get((d, seg), 0) for d in base)
    if not n or sum(1 for d in base if traffic.get((d, seg), 0)) < min_baseline_days:
        return None
    base_e = sum(events.get((d, name, seg), 0) for d in base)
    rate0 = (base_e or 0.5) / base_n
    observed, expected = sum(events.get((d, name, seg), 0) for d in recent), n * rate0
    # Both rates are estimates: conditional on all events of both periods, the recent ones are
    # Binomial(total, share of traffic in the recent period) when nothing changed.
    p_value = binomial_sf(observed, observed + base_e, n / (n + base_n))
    return {
        "window_days": window,
        "traces": n,
        "observed": observed,
        "expected": expected,
        "baseline_rate_per_1k": rate0 * 1000,
        "rate_per_1k": observed * 1000 / n,
        "ratio": observed / expected,
        "p_value": p_value,
    }


def guardrail_anomalies(
    session: Session,
    *,
    filters: Filters,
    by_segment: bool = True,
    alpha: float = ALPHA,
    min_ratio: float = MIN_RATIO,
    windows: tuple[int, ...] = WINDOWS,
    baseline_days: int = 14,
    min_baseline_days: int = 7,
) -> list[dict[str, Any]]:
    """Every evaluated day of every (guardrail, segment) series with its expectation and the rule's verdict.

    Each row: day, name, segment, window_days (of the test that fired, else of the smallest p), traces,
    observed, expected, baseline_rate_per_1k, rate_per_1k, ratio, p_value (Bonferroni-adjusted over the
    windows), anomalous. See the module docstring for the rule.
    """
    reach = baseline_days + max(windows)
    history = Filters(filters.start - timedelta(days=reach), filters.end, filters.release, filters.segment)
    traffic, events = _daily(session, history, by_segment)
    series = sorted({(name, seg) for _, name, seg in events})
    out = []
    for name, seg in series:
        for day in bucket_grid(filters.start, filters.end, "day"):
            if not traffic.get((day, seg)):
                continue
            tests = [
                t
                for w in windows
                if (t := _window_test(traffic, events, day, name, seg, w, baseline_days, min_baseline_days))
            ]
            if not tests:
                continue
            for t in tests:
                t["p_value"] = min(1.0, t["p_value"] * len(windows))
                t["anomalous"] = (
                    t["p_value"] < alpha and t["ratio"] >= min_ratio and t["observed"] >= MIN_EVENTS
                )
            best = min(tests, key=lambda t: (not t["anomalous"], t["p_value"]))
            out.append({"day": day, "name": name, "segment": seg, **best})
    return out
