"""Dashboards read the rollups and give the raw rows' numbers: a randomized world (ingest with --update and
judge verdicts), ranges that start and end inside an hour, both databases. Oracles are computed in Python
from the raw rows; p95 latency within the documented 1 %."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from review_store.dashboards import cost_sources, costs, drift, guardrails, overview, trends
from review_store.dashboards.common import Filters
from review_store.db import read_session, session_scope
from review_store.desk import Desk
from review_store.models import GuardrailEvent, JudgeConfig, JudgeVerdict, Rubric, Trace
from review_store.permissions import SYSTEM
from review_store.rollups.maintain import add_verdicts
from tests.test_rollups import START, priced, records, write


@pytest.fixture
def world(engine, tmp_path):
    rng = random.Random(2026)
    desk = Desk(engine)
    first = priced(records(rng, 2500, days=14))
    desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "a.jsonl", first))
    desk.ingest.import_file(
        actor=SYSTEM,
        path=write(tmp_path / "b.jsonl", priced(records(random.Random(7), 500, shift=37, days=14), every=2)),
        update=True,
    )
    with session_scope(engine) as session:
        rubric = Rubric(name="r", questions=[], content_hash="h")
        session.add(rubric)
        session.flush()
        config = JudgeConfig(name="j", model="m", rubric_id=rubric.id, content_hash="h")
        session.add(config)
        session.flush()
        traces = session.exec(select(Trace.id, Trace.ts, Trace.segment, Trace.release)).all()
        rows = [
            {
                "trace_id": tid, "judge_config_id": config.id, "question_key": "groundedness",
                "value": s, "score": float(s), "cost_usd": 0.0004, "trace_ts": ts, "segment": seg,
                "release": rel, "error": None,
            }
            for tid, ts, seg, rel in traces
            if (s := rng.choice([None, 1, 2, 3, 4, 5])) is not None
        ]  # fmt: skip
        session.connection().execute(insert(JudgeVerdict.__table__), rows)
        add_verdicts(session.connection(), rows)
    return engine


def raw(engine, filters: Filters) -> tuple[list[dict], list[dict], list[dict]]:
    """The raw traces (as dicts), events and verdicts in the filter, read whole."""

    def inside(ts, segment) -> bool:
        return filters.start <= ts < filters.end and filters.segment in (None, segment)

    with read_session(engine) as session:
        rows = [t.model_dump() for t in session.exec(select(Trace)).all() if inside(t.ts, t.segment)]
        events = [
            e.model_dump() for e in session.exec(select(GuardrailEvent)).all() if inside(e.ts, e.segment)
        ]
        verdicts = [
            v.model_dump() for v in session.exec(select(JudgeVerdict)).all() if inside(v.trace_ts, v.segment)
        ]
    return rows, events, verdicts


def _ranges():
    return [
        Filters(START + timedelta(hours=7, minutes=13), START + timedelta(days=3, hours=2, minutes=41)),
        Filters(START + timedelta(days=1), START + timedelta(days=4), segment="refunds"),
        Filters(START + timedelta(hours=30, minutes=5), START + timedelta(hours=30, minutes=50)),
    ]


@pytest.mark.parametrize("which", range(3))
def test_overview_costs_and_guardrails_equal_the_raw_rows(world, which):
    filters = _ranges()[which]
    rows, events, verdicts = raw(world, filters)
    with read_session(world) as session:
        kpis = {k.key: k.value for k in overview.overview_kpis(session, filters)}
        by_model = {r["model"]: r for r in costs.cost_breakdown(session, filters=filters, by="model")}
        changes = {r["group"]: r for r in guardrails.guardrail_changes(session, filters=filters, by="name")}
        trend = trends.kpi_trends(session, filters, bucket="hour")
    known = [r for r in rows if r["task_success"] is not None]
    ok = sum(1 for r in rows if r["task_success"] is True)
    assert kpis["task_success_rate"] == (pytest.approx(ok / len(known)) if known else None)
    cost = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    assert kpis["cost_per_successful_task_usd"] == (pytest.approx(sum(cost) / ok) if ok and cost else None)
    assert kpis["safety_triggers_per_1k"] == (pytest.approx(len(events) * 1000 / len(rows)) if rows else None)
    lat = sorted(r["latency_ms"] for r in rows if r["latency_ms"] is not None)
    if lat:
        exact = lat[math.ceil(0.95 * len(lat)) - 1]
        assert kpis["p95_latency_ms"] == pytest.approx(exact, rel=0.01, abs=1e-9)
    scored = [v for v in verdicts if v["question_key"] == "groundedness" and v["score"] is not None]
    bad = sum(1 for v in scored if v["score"] <= 2)
    assert kpis["hallucination_rate"] == (pytest.approx(bad / len(scored)) if scored else None)
    for model in {r["model"] for r in rows}:
        mine = [r for r in rows if r["model"] == model]
        assert by_model[model]["traces"] == len(mine)
        assert by_model[model]["tokens_in"] == sum(r["tokens_in"] or 0 for r in mine)
        assert by_model[model]["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for r in mine))
    for name in {e["name"] for e in events}:
        assert changes[name]["events_now"] == sum(1 for e in events if e["name"] == name)
        assert changes[name]["traces_now"] == len(rows)
    assert sum(p["traces"] for p in trend["task_success_rate"]) == len(rows)


@pytest.mark.parametrize("which", range(3))
def test_cost_sources_equal_the_raw_rows(world, which):
    filters = _ranges()[which]
    rows, _, _ = raw(world, filters)
    with read_session(world) as session:
        split = {r["source"]: r for r in cost_sources.cost_sources(session, filters=filters)}
    assert list(split) == ["reported", "computed", "unknown"]
    for source, stored in (("reported", "reported"), ("computed", "computed"), ("unknown", None)):
        mine = [r for r in rows if r["cost_source"] == stored]
        assert split[source]["traces"] == len(mine)
        assert split[source]["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for r in mine), abs=1e-9)
    if which == 0:  # the long range has traces of every source
        assert all(split[s]["traces"] for s in split) and split["computed"]["cost_usd"] > 0


def test_drift_equals_the_raw_rows(world):
    end = START + timedelta(days=14, hours=5, minutes=20)  # inside an hour: raw edges are read too
    with read_session(world) as session:
        report = {r.metric: r for r in drift.drift_report(session, end=end)}
    ref = raw(world, Filters(end - timedelta(days=14), end - timedelta(days=7)))[0]
    cur = raw(world, Filters(end - timedelta(days=7), end))[0]
    for metric, column in (("input_length", "input_chars"), ("top_retrieval_score", "top_retrieval_score")):
        hists = []
        for rows in (ref, cur):
            counts: dict[float, int] = {}
            for r in rows:
                if r[column] is not None:
                    counts[float(r[column])] = counts.get(float(r[column]), 0) + 1
            hists.append(sorted(counts.items()))
        edges, (rc, cc) = drift._from_histograms(*hists)
        n_r, n_c = sum(rc.values()), sum(cc.values())
        keys = range(len(edges) + 1)
        expected = drift.psi([rc.get(k, 0) / n_r for k in keys], [cc.get(k, 0) / n_c for k in keys])
        assert report[metric].psi == pytest.approx(expected), metric
        assert (report[metric].reference_n, report[metric].current_n) == (n_r, n_c)
    assert report["segment_mix"].current_n == len(cur)


@pytest.mark.parametrize("which", range(3))
def test_kpi_drilldown_groups_read_the_rollup_and_equal_the_raw_rows(world, which):
    filters = _ranges()[which]
    rows, _, verdicts = raw(world, filters)
    bad = {v["trace_id"] for v in verdicts if v["score"] is not None and v["score"] <= 2}
    poor_of = {
        "task_success_rate": lambda r: r["task_success"] is False,
        "cache_hit_rate": lambda r: r["cache_hit"] is False,
        "hallucination_rate": lambda r: r["id"] in bad,
    }
    with read_session(world) as session:
        judge_id = overview.groundedness_judge_id(session)
        for key, is_poor in poor_of.items():
            got = trends.kpi_drilldown(session, filters=filters, key=key, judge_id=judge_id)["by_version"]
            want: dict[tuple, list[int]] = {}
            for r in rows:
                group = want.setdefault((r["prompt_version"], r["model"]), [0, 0])
                group[0] += 1
                group[1] += int(is_poor(r))
            assert {(g["prompt_version"], g["model"]): [g["traces"], g["poor"]] for g in got} == want, key
