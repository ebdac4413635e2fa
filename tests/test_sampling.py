"""Sampling strategies on the demo world: each picks what it says, and nothing is sampled twice."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import Session, func, select

from review_store import sampling
from review_store.db import session_scope
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.models import GuardrailEvent, JudgeVerdict, ReviewItem, SamplingPolicy, Trace
from review_store.permissions import SYSTEM, actor_for
from tests.conftest import TEST_NOW
from tests.factories import cli_token, make_guardrail_event, make_trace, make_user


def _sample(engine, **kwargs):
    with session_scope(engine) as session:
        lena = actor_for(session, "lena")
        return sampling.sample(session, actor=lena, **kwargs)


def _frames(engine):
    with Session(engine) as session:
        traces = pd.DataFrame(
            session.exec(select(Trace.id, Trace.segment, Trace.user_feedback)).all(),
            columns=["id", "segment", "feedback"],
        )
        verdicts = pd.DataFrame(
            session.exec(
                select(
                    JudgeVerdict.trace_id,
                    JudgeVerdict.judge_config_id,
                    JudgeVerdict.question_key,
                    JudgeVerdict.score,
                    JudgeVerdict.confidence,
                )
            ).all(),
            columns=["trace_id", "config", "question", "score", "confidence"],
        )
        sampled = {
            t for t in session.exec(select(ReviewItem.trace_id).where(ReviewItem.queue == "sampled")).all()
        }
        guarded = set(session.exec(select(GuardrailEvent.trace_id)).all())
    return traces, verdicts, sampled, guarded


def test_strategies_pick_what_they_say(demo_engine):
    traces, verdicts, before, guarded = _frames(demo_engine)
    free = traces[~traces["id"].isin(before)]

    low_conf = _sample(demo_engine, strategy="low_confidence", n=10_000, threshold=0.5)
    expected = set(verdicts[verdicts["confidence"] < 0.5]["trace_id"]) - before
    assert set(low_conf.trace_ids) == expected and low_conf.created == len(expected) > 0
    taken = before | expected

    thumbs = _sample(demo_engine, strategy="thumbs_down", n=25)
    assert thumbs.created == 25
    assert set(traces.set_index("id").loc[thumbs.trace_ids, "feedback"]) == {"down"}
    assert not set(thumbs.trace_ids) & taken
    taken |= set(thumbs.trace_ids)

    guard = _sample(demo_engine, strategy="guardrail", n=30)
    assert guard.created == 30 and set(guard.trace_ids) <= guarded - (taken - set(guard.trace_ids))
    taken |= set(guard.trace_ids)

    low = _sample(demo_engine, strategy="low_score", n=40)
    worst = verdicts.groupby("trace_id")["score"].min()
    eligible = worst[~worst.index.isin(taken)]
    assert low.created == 40
    assert worst.loc[low.trace_ids].max() <= eligible.drop(low.trace_ids).min()
    taken |= set(low.trace_ids)

    random = _sample(demo_engine, strategy="random", n=50, segment="refunds")
    assert random.created == 50 and not set(random.trace_ids) & taken
    assert set(traces.set_index("id").loc[random.trace_ids, "segment"]) == {"refunds"}
    assert len(free) > 0


def test_stratified_counts_per_segment(demo_engine):
    equal = _sample(demo_engine, strategy="stratified", n=40, mode="equal")
    assert equal.per_segment == {"account": 10, "billing": 10, "refunds": 10, "technical": 10}
    traces, _, sampled, _ = _frames(demo_engine)
    free = traces[~traces["id"].isin(sampled)]["segment"].value_counts()
    prop = _sample(demo_engine, strategy="stratified", n=100, mode="proportional")
    assert sum(prop.per_segment.values()) == 100
    for segment, count in free.items():
        assert abs(prop.per_segment[segment] - 100 * count / free.sum()) < 1, segment


def test_largest_remainder_quotas():
    assert sampling.stratified_quotas({"a": 10, "b": 10, "c": 10}, 10, "proportional") == {
        "a": 4,
        "b": 3,
        "c": 3,
    }
    assert sampling.stratified_quotas({"a": 70, "b": 20, "c": 10}, 10, "proportional") == {
        "a": 7,
        "b": 2,
        "c": 1,
    }
    assert sampling.stratified_quotas({"a": 2, "b": 50}, 10, "equal") == {"a": 2, "b": 5}


def test_judges_disagreeing(demo_engine):
    with session_scope(demo_engine) as session:
        rows = session.exec(
            select(JudgeVerdict).where(
                JudgeVerdict.question_key == "correctness",
                JudgeVerdict.trace_id <= 40,
                JudgeVerdict.judge_config_id == 1,
            )
        ).all()
        for v in rows:  # a second judge: agrees on traces 1-20, three points off on 21-40
            off = 0 if v.trace_id <= 20 else (3 if v.score <= 2 else -3)
            other = session.exec(
                select(JudgeVerdict).where(
                    JudgeVerdict.trace_id == v.trace_id,
                    JudgeVerdict.judge_config_id == 2,
                    JudgeVerdict.question_key == "correctness",
                )
            ).first() or JudgeVerdict(trace_id=v.trace_id, judge_config_id=2, question_key="correctness")
            other.value = other.score = v.score + off
            session.add(other)
    _, verdicts, before, _ = _frames(demo_engine)
    scored = verdicts.dropna(subset=["score"])
    per_q = scored.groupby(["trace_id", "question"]).agg(
        n=("config", "nunique"), spread=("score", lambda s: s.max() - s.min())
    )
    expected = {t for (t, _), r in per_q.iterrows() if r["n"] >= 2 and r["spread"] >= 2} - before
    assert set(range(21, 41)) - before <= expected
    result = _sample(demo_engine, strategy="judge_disagreement", n=10_000, threshold=2)
    assert set(result.trace_ids) == expected


def test_rerun_never_resamples(engine):
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        for i in range(30):
            trace = make_trace(session, segment="billing" if i % 3 else "refunds", user_feedback="down")
            if i % 2:
                make_guardrail_event(session, trace)
    for strategy in ("guardrail", "thumbs_down", "random", "stratified"):
        for _ in range(2):
            with session_scope(engine) as session:
                sampling.sample(session, actor=lead, strategy=strategy, n=12)
    with Session(engine) as session:
        items = session.exec(select(ReviewItem.trace_id, ReviewItem.reason)).all()
    ids = [t for t, _ in items]
    assert len(ids) == len(set(ids)) == 30  # everything sampled once, nothing twice
    assert sum(1 for _, r in items if r == "guardrail") == 15


def test_policy_is_versioned_and_only_leads_edit_it(engine):
    with session_scope(engine) as session:
        lead, reviewer = make_user(session, role="lead"), make_user(session)
        strategies = [{"strategy": "random", "share": 0.6}, {"strategy": "thumbs_down", "share": 0.4}]
        first = sampling.save_policy(session, actor=lead, strategies=strategies, daily_quota=20, overlap_k=2)
        same = sampling.save_policy(session, actor=lead, strategies=strategies, daily_quota=20, overlap_k=2)
        second = sampling.save_policy(session, actor=lead, strategies=strategies, daily_quota=30, overlap_k=3)
        assert (first.version, same.version, second.version) == (1, 1, 2)
        with pytest.raises(PermissionDenied):
            sampling.save_policy(session, actor=reviewer, strategies=strategies, daily_quota=1, overlap_k=1)
        with pytest.raises(ValidationFailed, match="add up"):
            sampling.save_policy(
                session,
                actor=lead,
                strategies=strategies + [{"strategy": "random", "share": 0.5}],
                daily_quota=1,
                overlap_k=1,
            )
        for _ in range(20):
            make_trace(session, user_feedback="down")
    with session_scope(engine) as session:
        results = sampling.run_policy(session, actor=SYSTEM)
    assert [(r.strategy, r.created) for r in results] == [("random", 18), ("thumbs_down", 2)]
    with Session(engine) as session:
        items = session.exec(select(ReviewItem)).all()
        policy = session.exec(select(SamplingPolicy).where(SamplingPolicy.version == 2)).one()
    assert {i.overlap_k for i in items} == {3} and {i.sampling_policy_id for i in items} == {policy.id}


def test_cli_sample_and_golden_round_trip(demo_db_url, tmp_path):
    from typer.testing import CliRunner

    from review_store.cli import app

    runner = CliRunner(env=cli_token(demo_db_url, "lena"))  # lena's personal token
    args = ["--db", demo_db_url, "sample", "--strategy", "thumbs_down", "--n", "7", "--as", "lena", "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert '"created": 7' in first.output
    bad = runner.invoke(app, ["--db", demo_db_url, "sample", "--strategy", "nope"])
    assert bad.exit_code == 2 and "not one of" in bad.output
    out = tmp_path / "golden.jsonl"
    exported = runner.invoke(app, ["--db", demo_db_url, "golden", "export", str(out), "--json"])
    assert exported.exit_code == 0 and len(out.read_text().splitlines()) == 40
    back = runner.invoke(app, ["--db", demo_db_url, "golden", "import", str(out), "--as", "lena", "--json"])
    assert back.exit_code == 0 and '"unchanged": 40' in back.output


def test_a_sample_larger_than_one_statement_inserts_every_item(engine):
    """100,000 items once failed with 'too many SQL variables' (one VALUES list for all rows)."""
    from sqlalchemy import insert

    n = sampling.INSERT_SLICE * 2 + 7
    with Session(engine) as session:
        now = TEST_NOW
        rows = [{"external_id": f"bulk-{i}", "ts": now, "input": "q", "output": "a", "context": [], "meta": {}}
                for i in range(n)]  # fmt: skip
        session.execute(insert(Trace), rows)
        session.commit()
    with session_scope(engine) as session:
        result = sampling.sample(session, actor=SYSTEM, strategy="random", n=n, overlap_k=2)
    assert result.created == n and len(set(result.trace_ids)) == n
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ReviewItem)).one() == n
