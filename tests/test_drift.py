"""PSI from SQL counts equals a numpy computation over the raw rows, and flags r2's retrieval-score shift."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from review_store.dashboards import drift
from review_store.db import make_engine, read_session
from review_store.demo.traffic import R2_CANARY


def numpy_psi(ref: np.ndarray, cur: np.ndarray, eps: float = 1e-4) -> float:
    """Reference: deciles of the reference (nearest rank), bins [-inf, e1) ... [ek, inf), epsilon floor."""
    s = np.sort(ref)
    edges = np.unique([s[math.ceil(q / 10 * len(s)) - 1] for q in range(1, 10)])
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r, c = np.maximum(r, eps), np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def categorical_psi(ref: pd.Series, cur: pd.Series, eps: float = 1e-4) -> float:
    keys = sorted(set(ref.astype(str)) | set(cur.astype(str)))
    r = ref.astype(str).value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
    c = cur.astype(str).value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
    r, c = np.maximum(r, eps), np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


@pytest.mark.parametrize("day", [14, 21, 30])
def test_psi_equals_numpy(demo_any_url, day):
    engine = make_engine(demo_any_url)
    traces = pd.read_sql(  # shadow traces (the demo's r3 shadow run) are not production traffic
        text("SELECT id, ts, input, segment, top_retrieval_score FROM trace WHERE shadow_of IS NULL"), engine
    )
    traces["ts"] = pd.to_datetime(traces["ts"])
    end = traces["ts"].max().normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=30 - day)
    ref = traces[(traces["ts"] >= end - pd.Timedelta(days=14)) & (traces["ts"] < end - pd.Timedelta(days=7))]
    cur = traces[(traces["ts"] >= end - pd.Timedelta(days=7)) & (traces["ts"] < end)]
    verdicts = pd.read_sql(
        text(
            "SELECT trace_id, judge_config_id, score FROM judgeverdict WHERE question_key = 'groundedness' AND error IS NULL"
        ),
        engine,
    )
    # the KPI's judge: the one covering the most traces
    judge = verdicts["judge_config_id"].value_counts().idxmax()
    verdicts = verdicts[verdicts["judge_config_id"] == judge]
    expected = {
        "input_length": numpy_psi(ref["input"].str.len().to_numpy(), cur["input"].str.len().to_numpy()),
        "top_retrieval_score": numpy_psi(
            ref["top_retrieval_score"].dropna().to_numpy(), cur["top_retrieval_score"].dropna().to_numpy()
        ),
        "segment_mix": categorical_psi(ref["segment"], cur["segment"]),
        "judge_score": categorical_psi(
            verdicts[verdicts["trace_id"].isin(ref["id"])]["score"],
            verdicts[verdicts["trace_id"].isin(cur["id"])]["score"],
        ),
    }
    with read_session(engine) as session:
        got = {r.metric: r for r in drift.drift_report(session, end=end.to_pydatetime())}
    for metric, value in expected.items():
        assert got[metric].psi == pytest.approx(value, rel=1e-9, abs=1e-12), metric
        assert got[metric].current_n == (len(cur) if metric != "judge_score" else got[metric].current_n)
    engine.dispose()


def test_psi_flags_the_r2_retrieval_shift_and_not_before(demo_any_url):
    engine = make_engine(demo_any_url)
    last = pd.read_sql(text("SELECT MAX(ts) AS m FROM trace"), engine)["m"][0]
    start = pd.Timestamp(last).normalize().to_pydatetime() + timedelta(days=1) - timedelta(days=30)
    canary = start + timedelta(days=R2_CANARY[0][0])
    with read_session(engine) as session:
        before = {r.metric: r for r in drift.drift_report(session, end=canary)}
        after = {r.metric: r for r in drift.drift_report(session, end=canary + timedelta(days=6))}
        alerts = drift.drift_alerts(session, end=canary + timedelta(days=6))
    assert all(r.status == "ok" for r in before.values() if r.metric not in drift.RETRIEVAL_METRICS)
    # the demo has no relevant sets (no expected_chunks, no chunks question): retrieval quality has no data
    assert {before[m].status for m in drift.RETRIEVAL_METRICS} == {"no data"}
    assert after["top_retrieval_score"].status == "act" and after["top_retrieval_score"].psi > 0.25
    assert alerts[0].metric == "top_retrieval_score"
    engine.dispose()


def test_psi_textbook_value():
    # shares (0.25, 0.25, 0.5) -> (0.5, 0.25, 0.25): 0.25 ln 2 + 0 + 0.25 ln 2 = 0.5 ln 2
    assert drift.psi([0.25, 0.25, 0.5], [0.5, 0.25, 0.25]) == pytest.approx(0.5 * math.log(2))
    assert drift.psi([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]) == 0.0
