"""The rollback rule reads the hourly rollups (plus the raw rows of its window's partial edge hours) and gets
the numbers the rule's raw SQL gives: on the demo world and on a randomized world (ingest with --update,
windows starting and ending inside hours), both databases; p95 latency within the documented 1 %."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import case, func
from sqlmodel import col, select

from review_store.db import make_engine, read_session
from review_store.desk import Desk
from review_store.models import GuardrailEvent, JudgeVerdict, Trace
from review_store.permissions import SYSTEM
from review_store.releases import rollback_rule, rule_counts
from tests.test_rollups import START, records, write


def raw_window(session, name: str, hours: float):
    """The rule's window as its raw SQL computed it before the rollups."""
    first, last = session.exec(
        select(func.min(Trace.ts), func.max(Trace.ts)).where(Trace.release == name)
    ).one()
    if last is None:
        return None
    span = timedelta(hours=hours)
    while True:
        start = last - span
        n = session.exec(
            select(func.count()).select_from(Trace).where(Trace.release == name, Trace.ts >= start)
        ).one()
        if n >= rollback_rule.MIN_WINDOW_TRACES or start <= first:
            return start, last, int(n)
        span += timedelta(hours=hours)


def raw_rates(session, name: str, start, end) -> dict:
    """The rule's counts by raw SQL over the whole window (exact nearest-rank p95)."""
    in_window = (Trace.release == name, Trace.ts >= start, Trace.ts <= end)
    n = session.exec(select(func.count()).select_from(Trace).where(*in_window)).one()
    events = session.exec(
        select(GuardrailEvent.name, Trace.segment, func.count())
        .join(Trace, col(Trace.id) == GuardrailEvent.trace_id)
        .where(*in_window)
        .group_by(GuardrailEvent.name, Trace.segment)
    ).all()
    segments = session.exec(
        select(Trace.segment, func.count()).where(*in_window).group_by(Trace.segment)
    ).all()
    judged = session.exec(
        select(
            JudgeVerdict.question_key,
            func.count(),
            func.sum(case((col(JudgeVerdict.score) <= 2.0, 1), else_=0)),
        )
        .join(Trace, col(Trace.id) == JudgeVerdict.trace_id)
        .where(*in_window, col(JudgeVerdict.score).is_not(None), col(JudgeVerdict.error).is_(None))
        .group_by(JudgeVerdict.question_key)
    ).all()
    latencies = sorted(
        session.exec(select(Trace.latency_ms).where(*in_window, col(Trace.latency_ms).is_not(None))).all()
    )
    return {
        "n": int(n),
        "events": sorted((a, b, int(c)) for a, b, c in events),
        "segments": {k: int(v) for k, v in segments},
        "judged": {q: (int(c), int(f or 0)) for q, c, f in judged},
        "p95": latencies[-(-95 * len(latencies) // 100) - 1] if latencies else None,
    }


def assert_same(got: dict, want: dict) -> None:
    assert got["n"] == want["n"]
    assert got["events"] == want["events"]
    assert got["segments"] == want["segments"]
    assert got["judged"] == want["judged"]
    if want["p95"] is None:
        assert got["p95"] is None
    else:
        assert got["p95"] == pytest.approx(want["p95"], rel=0.01, abs=1e-9)


def test_rule_on_the_demo_world_equals_its_raw_sql(demo_any_url):
    engine = make_engine(demo_any_url)
    with read_session(engine) as s:
        status = rollback_rule.evaluate(s)
        assert status.live and status.baseline and status.checks
        for side, name in (("live", status.live), ("baseline", status.baseline)):
            start, last, n = raw_window(s, name, status.window["hours"])
            assert (start, last, n) == tuple(status.window[side][k] for k in ("start", "end", "traces"))
            assert_same(rule_counts.rates(s, name, start, last), raw_rates(s, name, start, last))
        live = raw_rates(s, status.live, status.window["live"]["start"], status.window["live"]["end"])
        base = raw_rates(
            s, status.baseline, status.window["baseline"]["start"], status.window["baseline"]["end"]
        )
    engine.dispose()
    total = {c.metric: c for c in status.checks}["guardrail events per 1k traces"]
    assert total.live == round(1000 * sum(c for _, _, c in live["events"]) / live["n"], 2)
    assert total.baseline == round(1000 * sum(c for _, _, c in base["events"]) / base["n"], 2)
    assert any(c.flagged for c in status.checks)  # the demo's story: r2's grounding spike


@pytest.fixture
def random_world(engine, tmp_path):
    desk = Desk(engine)
    desk.ingest.import_file(
        actor=SYSTEM, path=write(tmp_path / "a.jsonl", records(random.Random(14), 3000, days=6))
    )
    desk.ingest.import_file(
        actor=SYSTEM,
        path=write(tmp_path / "b.jsonl", records(random.Random(41), 700, shift=23, days=6)),
        update=True,
    )
    return engine


def test_rule_counts_on_a_randomized_world_equal_the_raw_sql(random_world):
    rng = random.Random(5)
    with read_session(random_world) as s:
        for name in ("r1", "r2"):
            for hours in (0.5, 3, 24, 1000):
                window = rule_counts.release_span(s, name)
                assert window is not None
                got = rollback_rule.window_of(s, name, hours)
                assert got == raw_window(s, name, hours)
                assert_same(rule_counts.rates(s, name, got[0], got[1]), raw_rates(s, name, got[0], got[1]))
            for _ in range(6):
                start = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 5), seconds=rng.random() * 59)
                end = start + timedelta(minutes=rng.randrange(1, 60 * 40), microseconds=rng.randrange(10**6))
                assert rule_counts.traces_in(s, name, start, end) == raw_rates(s, name, start, end)["n"]
                assert_same(rule_counts.rates(s, name, start, end), raw_rates(s, name, start, end))
