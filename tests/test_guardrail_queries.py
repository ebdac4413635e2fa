"""Guardrail rates in SQL equal pandas over the same raw rows; the anomaly rule finds r2 and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import text

from review_store.dashboards import guardrails
from review_store.dashboards.overview import Filters
from review_store.db import make_engine, read_session, session_scope
from review_store.demo.traffic import R2_CANARY
from tests.factories import make_guardrail_event, make_trace

STEP = {"hour": "h", "day": "D"}


def expected_rates(engine, filters: Filters, bucket: str, by: str, **only) -> pd.DataFrame:
    """Reference: pandas over every trace and event row; empty buckets as traces 0 and rate NaN."""
    # shadow traces (the demo's r3 shadow run) are not production traffic
    traces = pd.read_sql(text("SELECT ts, segment, release FROM trace WHERE shadow_of IS NULL"), engine)
    events = pd.read_sql(text("SELECT ts, name, stage, action, segment, release FROM guardrailevent"), engine)
    for frame in (traces, events):
        frame["ts"] = pd.to_datetime(frame["ts"])
        frame["bucket"] = (
            frame["ts"].dt.floor(STEP[bucket])
            if bucket in STEP
            else (frame["ts"].dt.floor("D") - pd.to_timedelta(frame["ts"].dt.weekday, unit="D"))
        )
    t_mask = (traces["ts"] >= filters.start) & (traces["ts"] < filters.end)
    e_mask = (events["ts"] >= filters.start) & (events["ts"] < filters.end)
    for key in ("release", "segment"):
        if getattr(filters, key):
            t_mask &= traces[key] == getattr(filters, key)
            e_mask &= events[key] == getattr(filters, key)
    for key, value in only.items():
        if value:
            e_mask &= events[key] == value
    t, e = traces[t_mask], events[e_mask]
    grid = sorted(
        {
            b.to_pydatetime()
            for b in pd.Series(pd.date_range(filters.start, filters.end, freq="h", inclusive="left")).pipe(
                lambda s: (
                    s.dt.floor(STEP[bucket])
                    if bucket in STEP
                    else s.dt.floor("D") - pd.to_timedelta(s.dt.weekday, unit="D")
                )
            )
        }
    )
    if by in ("segment", "release"):
        groups = sorted(set(t[by]) | set(e[by])) if not getattr(filters, by) else [getattr(filters, by)]
    elif by == "all":
        groups = ["all"]
    else:
        groups = sorted(set(e[by]) | ({only[by]} if only.get(by) else set()))
    rows = []
    for b in grid:
        for g in groups:
            tb = t[t["bucket"] == b]
            if by in ("segment", "release"):
                tb = tb[tb[by] == g]
            eb = e[e["bucket"] == b]
            if by != "all":
                eb = eb[eb[by] == g]
            rows.append({"bucket": b, "group": g, "traces": len(tb), "events": len(eb)})
    out = pd.DataFrame(rows)
    out["rate_per_1k"] = out["events"] * 1000 / out["traces"].where(out["traces"] > 0)
    return out


def assert_equal(actual: list[dict], expected: pd.DataFrame) -> None:
    got = pd.DataFrame(actual)
    assert len(got) == len(expected)
    assert got["bucket"].tolist() == expected["bucket"].tolist()
    assert got["group"].tolist() == expected["group"].tolist()
    assert got["traces"].tolist() == expected["traces"].tolist()
    assert got["events"].tolist() == expected["events"].tolist()
    for a, b in zip([r["rate_per_1k"] for r in actual], expected["rate_per_1k"], strict=True):
        assert (a is None and pd.isna(b)) or a == pytest.approx(b, rel=1e-12)


def _demo_end(engine) -> datetime:
    last = pd.read_sql(text("SELECT MAX(ts) AS m FROM trace"), engine)["m"][0]
    return pd.Timestamp(last).to_pydatetime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )


CASES = [
    ("day", "name", {}, {}),
    ("week", "segment", {}, {}),
    ("day", "release", {"segment": "refunds"}, {"name": "grounding"}),
    ("hour", "action", {"release": "r2"}, {"stage": "input"}),
    ("day", "all", {"segment": "billing"}, {"action": "flagged"}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_demo_rates_equal_pandas(demo_any_url, case):
    bucket, by, filt, only = CASES[case]
    engine = make_engine(demo_any_url)
    end = _demo_end(engine)
    days = 3 if bucket == "hour" else 21
    filters = Filters(start=end - timedelta(days=days), end=end, **filt)
    with read_session(engine) as session:
        rows = guardrails.guardrail_rates(session, filters=filters, bucket=bucket, by=by, **only)
    assert_equal(rows, expected_rates(engine, filters, bucket, by, **only))
    engine.dispose()


def test_empty_buckets_and_a_segment_without_traffic(engine):
    base = datetime(2026, 3, 2)  # a Monday
    with session_scope(engine) as session:
        a = make_trace(session, ts=base + timedelta(hours=1), segment="billing")
        make_trace(session, ts=base + timedelta(hours=2), segment="billing")
        make_guardrail_event(session, a, name="pii_detector", stage="input", action="redacted")
        b = make_trace(session, ts=base + timedelta(days=3, hours=5), segment="refunds")
        make_guardrail_event(session, b, name="grounding")
        make_guardrail_event(session, b, name="grounding")
    filters = Filters(start=base, end=base + timedelta(days=5))
    with read_session(engine) as session:
        rows = guardrails.guardrail_rates(session, filters=filters, bucket="day", by="name")
        by_segment = guardrails.guardrail_rates(session, filters=filters, bucket="day", by="segment")
        ghost = guardrails.guardrail_rates(
            session, filters=Filters(base, base + timedelta(days=5), segment="account"), by="segment"
        )
    assert_equal(rows, expected_rates(engine, filters, "day", "name"))
    assert_equal(by_segment, expected_rates(engine, filters, "day", "segment"))
    day1 = [r for r in rows if r["bucket"] == base + timedelta(days=1)]
    assert day1 == [
        {"bucket": base + timedelta(days=1), "group": g, "traces": 0, "events": 0, "rate_per_1k": None}
        for g in ("grounding", "pii_detector")
    ]  # no traffic: rate None, not 0
    day0 = {r["group"]: r["rate_per_1k"] for r in rows if r["bucket"] == base}
    assert day0 == {"grounding": 0.0, "pii_detector": 500.0}  # traffic and no events: 0
    day3 = {r["group"]: r["rate_per_1k"] for r in rows if r["bucket"] == base + timedelta(days=3)}
    assert day3["grounding"] == 2000.0
    assert len(ghost) == 5 and all(r["traces"] == 0 and r["rate_per_1k"] is None for r in ghost)


def test_drilldown_lists_the_events_behind_a_point(demo_any_url):
    engine = make_engine(demo_any_url)
    end = _demo_end(engine)
    filters = Filters(start=end - timedelta(days=10), end=end, segment="refunds")
    with read_session(engine) as session:
        rows = guardrails.guardrail_rates(session, filters=filters, by="name", name="grounding")
        point = max(rows, key=lambda r: r["events"])
        traces = guardrails.guardrail_traces(
            session, filters=filters, bucket="day", at=point["bucket"], by="name", group="grounding"
        )
    assert len(traces) == point["events"] > 0
    assert {t["name"] for t in traces} == {"grounding"} and {t["segment"] for t in traces} == {"refunds"}
    assert all(point["bucket"] <= t["ts"] < point["bucket"] + timedelta(days=1) for t in traces)
    engine.dispose()


def test_deploy_markers_and_top_movers(demo_any_url):
    engine = make_engine(demo_any_url)
    end = _demo_end(engine)
    start = end - timedelta(days=30)
    with read_session(engine) as session:
        markers = guardrails.deploy_markers(session, start=start, end=end)
        movers = guardrails.guardrail_changes(
            session,
            filters=Filters(start + timedelta(days=18), start + timedelta(days=25), segment="refunds"),
        )
    assert [(m["release"], m["stage_pct"]) for m in markers] == [("r2", pct) for _, pct in R2_CANARY]
    assert markers[0]["ts"] == start + timedelta(days=R2_CANARY[0][0])
    assert movers[0]["group"] == "grounding" and movers[0]["change_per_1k"] > 0
    engine.dispose()


def test_anomalies_flag_grounding_in_refunds_after_r2_only(demo_any_url):
    engine = make_engine(demo_any_url)
    end = _demo_end(engine)
    start = end - timedelta(days=30)
    canary = start + timedelta(days=R2_CANARY[0][0])
    with read_session(engine) as session:
        rows = guardrails.guardrail_anomalies(session, filters=Filters(start, end))
        daily = guardrails.guardrail_rates(session, filters=Filters(start, canary), by="all")
    flagged = [r for r in rows if r["anomalous"]]
    before = [r for r in rows if r["day"] < canary]
    assert len(before) > 50  # days before the canary were evaluated (weekends among them) ...
    assert any(r["day"].weekday() >= 5 for r in before)
    assert not [
        r for r in flagged if r["day"] < canary
    ]  # ... and none flagged: weekend dips alone do not fire
    assert any(r["name"] == "grounding" and r["segment"] == "refunds" and r["day"] >= canary for r in flagged)
    weekend = [r["traces"] for r in daily if r["bucket"].weekday() >= 5]
    weekday = [r["traces"] for r in daily if r["bucket"].weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.7 * sum(weekday) / len(weekday)  # the dips are real
    engine.dispose()


@pytest.mark.parametrize(
    "observed,trials,p", [(0, 5, 0.3), (3, 10, 0.1), (12, 40, 0.05), (19, 183, 0.17), (40, 40, 0.9)]
)
def test_binomial_tail_equals_scipy(observed, trials, p):
    assert guardrails.binomial_sf(observed, trials, p) == pytest.approx(
        stats.binom.sf(observed - 1, trials, p), rel=1e-9
    )
