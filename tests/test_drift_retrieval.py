"""Retrieval precision@k and recall in the weekly drift report: the per-trace values of each week's judged
production traces, binned on the reference week's deciles, equal a numpy PSI; the means are each week's
average; shadow traces, other releases and traces outside the weeks stay out; the CLI text and --json
carry them and exit 1 at 'act'; the Overview's drift table shows them. Both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from review_store import retrieval
from review_store import settings as team_settings
from review_store.cli import app
from review_store.dashboards import drift
from review_store.db import read_session, session_scope
from review_store.desk import Desk
from review_store.models import GoldenExample
from tests.apptest import open_app, page
from tests.factories import make_trace, make_user
from tests.test_drift import numpy_psi

END = datetime(2026, 3, 2)
CHUNKS = ["a", "b", "c", "d", "e"]
# (days before END, expected chunks): reference week [END-14, END-7), current week [END-7, END)
REFERENCE = [(13, ["a", "b"]), (12, ["a", "b", "c"]), (11, ["a"]), (10, ["a", "b"]), (9, ["a", "x"]),
             (8, ["b", "c", "d"])]  # fmt: skip
CURRENT = [(6, ["e", "x"]), (5, ["e"]), (4, ["d", "x", "y"]), (3, ["e", "x"]), (2, [])]


def _ctx(ids: list[str]) -> list[dict]:
    return [{"id": i, "text": f"chunk {i}", "score": 0.9 - n / 10} for n, i in enumerate(ids)]


def _golden(s, expected: list[str], **fields) -> None:
    trace = make_trace(s, context=_ctx(CHUNKS), **fields)
    s.add(GoldenExample(trace_id=trace.id, input=trace.input, expected_output="", expected_chunks=expected))


def _world(engine) -> None:
    with session_scope(engine) as s:
        for days, expected in REFERENCE + CURRENT:
            _golden(s, expected, ts=END - timedelta(days=days, hours=1))
        # out of the report: a shadow run, another release, a trace before the reference week
        _golden(s, ["a"], ts=END - timedelta(days=2), shadow_of="t-1")
        _golden(s, ["a", "b", "c", "d", "e"], ts=END - timedelta(days=2), release="r2")
        _golden(s, ["a"], ts=END - timedelta(days=20))


def _values(rows, k=5) -> tuple[list[float], list[float]]:
    scores = [retrieval.trace_scores(CHUNKS, set(expected), k) for _, expected in rows]
    return [p for p, _ in scores if p is not None], [r for _, r in scores if r is not None]


def test_retrieval_drift_equals_numpy_and_reads_the_team_k(engine, db_url):
    _world(engine)
    with read_session(engine) as session:
        got = {r.metric: r for r in drift.drift_report(session, end=END, release="r1")}
    (ref_p, ref_r), (cur_p, cur_r) = _values(REFERENCE), _values(CURRENT)
    precision, recall = got["retrieval_precision_at_k"], got["retrieval_recall"]
    assert precision.label == "Retrieval precision@5" and recall.label == "Retrieval recall@5"
    assert (precision.reference_n, precision.current_n) == (6, 5)
    assert (recall.reference_n, recall.current_n) == (6, 4)  # the empty expectation has no recall
    assert precision.psi == pytest.approx(numpy_psi(np.array(ref_p), np.array(cur_p)), rel=1e-12)
    assert recall.psi == pytest.approx(numpy_psi(np.array(ref_r), np.array(cur_r)), rel=1e-12)
    assert precision.reference_mean == pytest.approx(np.mean(ref_p))
    assert precision.current_mean == pytest.approx(np.mean(cur_p))
    assert recall.reference_mean == pytest.approx(np.mean(ref_r)) and recall.current_mean == pytest.approx(
        np.mean(cur_r)
    )
    assert precision.status == recall.status == "act" and precision.psi >= 0.25
    assert got["input_length"].reference_mean is None  # the means are the retrieval metrics' only
    # a week earlier: the reference week holds only the old trace (precision 1/5), the current one ours
    with read_session(engine) as session:
        earlier = drift.drift_report(session, end=END - timedelta(days=7), release="r1")
    prior = next(r for r in earlier if r.metric == "retrieval_precision_at_k")
    assert (prior.reference_n, prior.current_n) == (1, 6)
    assert prior.psi == pytest.approx(numpy_psi(np.array([0.2]), np.array(ref_p)), rel=1e-12)
    with read_session(engine) as session:  # two weeks before anything was judged: no data
        empty = drift.drift_report(session, end=END - timedelta(days=30), release="r1")
    assert {r.status for r in empty if r.metric in drift.RETRIEVAL_METRICS} == {"no data"}

    with session_scope(engine) as s:
        team_settings.put(s, actor=make_user(s, role="lead"), key="retrieval.k", value={"k": 2})
    with read_session(engine) as session:
        at_two = {r.metric: r for r in drift.drift_report(session, end=END, release="r1")}
    (ref_p2, _), (cur_p2, _) = _values(REFERENCE, 2), _values(CURRENT, 2)
    assert at_two["retrieval_precision_at_k"].label == "Retrieval precision@2"
    assert at_two["retrieval_precision_at_k"].psi == pytest.approx(
        numpy_psi(np.array(ref_p2), np.array(cur_p2)), rel=1e-12
    )


def test_retrieval_drift_thresholds_and_all_releases(engine):
    _world(engine)
    (ref_p, _), (cur_p, _) = _values(REFERENCE), _values(CURRENT)
    psi = numpy_psi(np.array(ref_p), np.array([*cur_p, 1.0]))  # r2's trace counts without a release
    with session_scope(engine) as s:  # the team's thresholds decide the status, as for every metric
        team_settings.put(
            s, actor=make_user(s, role="lead"), key="drift.psi", value={"watch": psi - 0.01, "act": 10}
        )
    with read_session(engine) as session:
        every = {r.metric: r for r in drift.drift_report(session, end=END)}
    assert every["retrieval_precision_at_k"].current_n == 6
    assert every["retrieval_precision_at_k"].psi == pytest.approx(psi, rel=1e-12)
    assert every["retrieval_precision_at_k"].status == "watch"


def test_drift_cli_reports_retrieval(engine, db_url):
    _world(engine)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "drift", "--end", "2026-03-02", "--release", "r1", "--json"])
    assert out.exit_code == 1, out.output  # at act
    payload = json.loads(out.output)
    metrics = {m["metric"]: m for m in payload["metrics"]}
    (ref_p, _), (cur_p, _) = _values(REFERENCE), _values(CURRENT)
    assert metrics["retrieval_precision_at_k"]["status"] == "act" and payload["ok"] is False
    assert metrics["retrieval_precision_at_k"]["reference_mean"] == pytest.approx(np.mean(ref_p))
    assert metrics["retrieval_precision_at_k"]["current_mean"] == pytest.approx(np.mean(cur_p))
    text = runner.invoke(app, ["--db", db_url, "drift", "--end", "2026-03-02", "--release", "r1"])
    line = next(x for x in text.output.splitlines() if x.startswith("Retrieval precision@5"))
    psi = metrics["retrieval_precision_at_k"]["psi"]
    assert (
        line
        == f"Retrieval precision@5: PSI {round(psi, 3)} (act), mean {np.mean(ref_p):.3f} -> {np.mean(cur_p):.3f}"
    )
    assert "Judge groundedness score: PSI None (no data)" in text.output.splitlines()  # no mean there


def _status(psi: float) -> str:
    return "act" if psi >= 0.25 else "watch" if psi >= 0.1 else "ok"


def test_overview_drift_table_shows_retrieval(monkeypatch, engine, db_url):
    _world(engine)
    with session_scope(engine) as s:
        make_user(s, username="lead1", role="lead")
        make_trace(s, ts=END - timedelta(hours=1))  # the filter bar's default range then ends at END
    at = open_app(monkeypatch, db_url, "lead1")
    at.run()
    at.switch_page(page("overview")).run()
    assert not at.exception, at.exception
    frame = next(df.value for df in at.dataframe if "current mean" in df.value.columns)
    rows = {r["metric"]: r for r in frame.to_dict("records")}
    # every release (the filter's default): r2's trace (all five chunks expected) is in the current week
    (ref_p, ref_r), (cur_p, cur_r) = _values(REFERENCE), _values(CURRENT)
    cur_p, cur_r = [*cur_p, 1.0], [*cur_r, 1.0]
    for label, ref, cur in (("Retrieval precision@5", ref_p, cur_p), ("Retrieval recall@5", ref_r, cur_r)):
        psi = numpy_psi(np.array(ref), np.array(cur))
        row = rows[label]
        assert row["PSI"] == f"{psi:.3f}" and row["status"] == _status(psi), label
        assert (row["reference n"], row["current n"]) == (len(ref), len(cur))
        assert row["reference mean"] == f"{100 * np.mean(ref):.1f}%"
        assert row["current mean"] == f"{100 * np.mean(cur):.1f}%"
    assert rows["Input length (characters)"]["current mean"] == "—"
    assert set(rows) == {m.label for m in Desk.open(db_url).dashboards.drift(end=END).metrics}
    flagged = [e.value for e in [*at.error, *at.warning] if e.value.startswith("Retrieval")]
    assert any(v.startswith("Retrieval precision@5: PSI") for v in flagged)
