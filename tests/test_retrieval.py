"""Retrieval quality: precision@k and recall from golden expected_chunks and reviewers' chunk marks,
by hand-computed cases and properties; the gate rows and the CLI read the same numbers. Both databases."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session
from typer.testing import CliRunner

from review_store import escalations, golden, queue, retrieval, rubrics
from review_store import settings as team_settings
from review_store.cli import app
from review_store.db import session_scope
from review_store.desk import Desk
from review_store.errors import ValidationFailed
from review_store.models import GoldenExample, ReviewItem
from review_store.releases.gate import create_gate_policy, evaluate
from tests.factories import make_trace, make_user

QUESTIONS = [
    {"key": "helpful", "kind": "label", "options": ["yes", "no"]},
    {"key": "relevant", "kind": "chunks", "prompt": "Which retrieved chunks were relevant?"},
]


def _ctx(*ids: str) -> list[dict]:
    return [{"id": i, "text": f"chunk {i}", "score": 0.9 - n / 10, "source": "kb"} for n, i in enumerate(ids)]


def test_trace_scores_by_hand():
    assert retrieval.trace_scores(["a", "b", "c", "d"], {"a", "x"}, 3) == (1 / 3, 1 / 2)
    assert retrieval.trace_scores(["a", "b", "c", "d"], {"d"}, 3) == (0.0, 0.0)  # ranked below the cut
    assert retrieval.trace_scores(["a", "b", "c", "d"], {"d"}, 4) == (1 / 4, 1.0)
    assert retrieval.trace_scores(["p", "q"], {"p"}, 5) == (1 / 2, 1.0)  # judged on the 2 it returned
    assert retrieval.trace_scores([], {"a"}, 5) == (None, 0.0)
    assert retrieval.trace_scores(["a"], set(), 5) == (0.0, None)
    assert retrieval.chunk_ids([{"id": "a"}, {"text": "no id"}, {"id": 7}, {"id": "a"}, "x"]) == ["a", "7"]
    with pytest.raises(ValidationFailed, match="k must be"):
        retrieval.trace_scores(["a"], {"a"}, 0)


ids = st.lists(st.sampled_from("abcdefgh"), max_size=8, unique=True)


@settings(max_examples=300, deadline=None)
@given(retrieved=ids, relevant=st.sets(st.sampled_from("abcdefgh")), k=st.integers(1, 10))
def test_trace_scores_properties(retrieved, relevant, k):
    precision, recall = retrieval.trace_scores(retrieved, relevant, k)
    for value in (precision, recall):
        assert value is None or 0.0 <= value <= 1.0
    assert (precision is None) == (not retrieved)
    assert (recall is None) == (not relevant)
    if relevant and relevant <= set(retrieved[:k]):
        assert recall == 1.0  # every expected chunk retrieved within the cut
    if retrieved and set(retrieved[:k]) <= relevant:
        assert precision == 1.0
    if retrieved and relevant and not relevant & set(retrieved[:k]):
        assert precision == recall == 0.0
    if recall is not None:  # a deeper cut never loses a relevant chunk
        assert retrieval.trace_scores(retrieved, relevant, k + 1)[1] >= recall


def _world(engine) -> dict:
    """r1 billing: A (golden expects a and x), C (golden expects a, nothing retrieved), E (no relevant set);
    r1 refunds: B (three reviewers mark p, p, p+q: q is marked by 1 of 3, so only p is relevant);
    r2 billing: D (golden expects nothing: none of its chunks is relevant)."""
    with session_scope(engine) as s:
        rubric = rubrics.create_rubric(s, actor=make_user(s, role="lead"), name="rag", questions=QUESTIONS)
        reviewers = [make_user(s) for _ in range(3)]
        a = make_trace(s, context=_ctx("a", "b", "c", "d"))
        c = make_trace(s, context=[])
        make_trace(s, context=_ctx("a", "b"))
        b = make_trace(s, segment="refunds", context=_ctx("p", "q"))
        d = make_trace(s, release="r2", context=_ctx("m", "n", "o", "p2"))
        for trace, expected in ((a, ["a", "x"]), (c, ["a"]), (d, [])):
            s.add(
                GoldenExample(
                    trace_id=trace.id, input=trace.input, expected_output="", expected_chunks=expected
                )
            )
        item = ReviewItem(trace_id=b.id, overlap_k=3)
        s.add(item)
        s.flush()
        return {"rubric": rubric.id, "reviewers": reviewers, "item": item.id, "b": b.external_id}


def _label(engine, world, reviewer, marks, helpful="yes"):
    with session_scope(engine) as s:
        assert queue.next_item(s, actor=reviewer).id == world["item"]
    with session_scope(engine) as s:
        queue.submit_label(
            s,
            actor=reviewer,
            item_id=world["item"],
            rubric_id=world["rubric"],
            answers={"helpful": helpful, "relevant": marks},
        )


def test_report_per_release_and_segment_gate_and_cli(engine, db_url):
    world = _world(engine)
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match=r"'zz' not among .*p, q"):
        queue.next_item(s, actor=world["reviewers"][0])
        queue.submit_label(
            s,
            actor=world["reviewers"][0],
            item_id=world["item"],
            rubric_id=world["rubric"],
            answers={"helpful": "yes", "relevant": ["p", "zz"]},
        )
    for reviewer, marks in zip(world["reviewers"], (["p"], ["p"], ["q", "p"]), strict=True):
        _label(engine, world, reviewer, marks)

    report = Desk.open(db_url).retrieval.report(k=3)
    got = {
        (r.release, r.segment): (r.traces, r.from_golden, r.from_review, r.precision_at_k, r.recall)
        for r in report.rows
    }
    assert [(r.release, r.segment) for r in report.rows] == [
        ("r1", None),
        ("r1", "billing"),
        ("r1", "refunds"),
        ("r2", None),
        ("r2", "billing"),
    ]
    # A: p 1/3, r 1/2; B: p 1/2, r 1; C: p undefined, r 0; D: p 0, r undefined
    assert got[("r1", None)] == (3, 2, 1, pytest.approx(5 / 12), pytest.approx(1 / 2))
    assert got[("r1", "billing")] == (2, 2, 0, pytest.approx(1 / 3), pytest.approx(1 / 4))
    assert got[("r1", "refunds")] == (1, 0, 1, pytest.approx(1 / 2), pytest.approx(1.0))
    assert got[("r2", None)] == (1, 1, 0, 0.0, None)
    only = Desk.open(db_url).retrieval.report(release="r1", segment="refunds", k=3)
    assert [(r.segment, r.precision_at_k) for r in only.rows] == [(None, 0.5), ("refunds", 0.5)]

    with session_scope(engine) as s:  # the gate reads the same function at the setting's k (default 5)
        create_gate_policy(
            s,
            actor=make_user(s, role="lead"),
            thresholds=[
                {"metric": "retrieval_precision_at_k", "op": ">=", "threshold": 0.4},
                {"metric": "retrieval_recall:refunds", "op": ">=", "threshold": 0.9},
                {"metric": "retrieval_recall", "op": ">=", "threshold": 0.1},
            ],
        )
    with Session(engine) as s:
        r1 = evaluate(s, release="r1", runs=[])
        r3 = evaluate(s, release="r3", runs=[])
    # at k=5: A p 1/4, B p 1/2 -> 3/8; recall in refunds: B's 1
    assert [(row.metric, row.value, row.passed) for row in r1.rows] == [
        ("retrieval_precision_at_k", pytest.approx(3 / 8), False),
        ("retrieval_recall:refunds", 1.0, True),
        ("retrieval_recall", pytest.approx(1 / 2), True),
    ]
    assert r1.rows[1].segment == "refunds" and not r1.passed
    assert not r3.passed and all(row.value is None and "no evidence" in row.note for row in r3.rows)
    with session_scope(engine) as s:  # the team's k moves the gate, the report's default and the CLI's
        team_settings.put(s, actor=make_user(s, role="lead"), key="retrieval.k", value={"k": 3})
    with Session(engine) as s:
        assert evaluate(s, release="r1", runs=[]).rows[0].value == pytest.approx(5 / 12)
    assert Desk.open(db_url).retrieval.report().k == 3

    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "retrieval", "report", "--release", "r1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["k"] == 3 and data["rows"][0]["precision_at_k"] == pytest.approx(5 / 12)
    text = runner.invoke(app, ["--db", db_url, "retrieval", "report", "--segment", "refunds"])
    assert text.exit_code == 0 and "refunds" in text.stdout and "50.0 %" in text.stdout
    bad = runner.invoke(app, ["--db", db_url, "retrieval", "report", "--k", "0"])
    assert bad.exit_code == 2 and "k must be" in bad.output
    none = runner.invoke(app, ["--db", db_url, "retrieval", "report", "--release", "r9"])
    assert none.exit_code == 0 and "no judged traces for release r9" in none.stdout


def test_adjudicated_marks_settle_the_relevant_set(engine, db_url):
    world = _world(engine)
    for reviewer, helpful in zip(world["reviewers"], ("yes", "no", "yes"), strict=True):
        _label(engine, world, reviewer, ["p"], helpful)  # "helpful" disagrees: the item goes to a lead
    with session_scope(engine) as s:
        lead = make_user(s, role="lead")
        assert s.get(ReviewItem, world["item"]).status == "adjudication"
    settle = {"helpful": "yes", "relevant": ["zz"]}
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match="'zz' not among"):
        escalations.adjudicate(s, actor=lead, item_id=world["item"], answers=settle)
    with session_scope(engine) as s:
        escalations.adjudicate(s, actor=lead, item_id=world["item"], answers={**settle, "relevant": ["q"]})
    row = Desk.open(db_url).retrieval.report(release="r1", segment="refunds", k=1).rows[1]
    assert (row.from_review, row.precision_at_k, row.recall) == (1, 0.0, 0.0)  # q is ranked 2nd
    assert Desk.open(db_url).retrieval.report(release="r1", segment="refunds", k=2).rows[1].recall == 1.0


def test_golden_expected_chunks_import_export_and_hash(engine):
    with session_scope(engine) as s:
        lead = make_user(s, role="lead")
        trace = make_trace(s, context=_ctx("a", "b"))
        plain = make_trace(s)
    base = {"input": "q", "expected_output": "a", "expected_labels": {}, "tags": []}
    lines = [
        json.dumps({"trace": trace.external_id, **base, "expected_chunks": ["b", "z"]}),
        json.dumps({"trace": plain.external_id, **base}),
    ]
    with session_scope(engine) as s:
        assert golden.import_jsonl(s, actor=lead, text="\n".join(lines)).added == 2
    with Session(engine) as s:
        exported = [json.loads(line) for line in golden.export_jsonl(s).splitlines()]
        version = golden.version_hash(s)
    assert {e["trace"]: e.get("expected_chunks") for e in exported} == {
        trace.external_id: ["b", "z"],
        plain.external_id: None,  # not set: not in the content (older hashes hold)
    }
    changed = [json.dumps({"trace": trace.external_id, **base}), lines[1]]
    with session_scope(engine) as s:
        assert golden.import_jsonl(s, actor=lead, text="\n".join(changed)).as_dict() == {
            "added": 0,
            "updated": 1,
            "unchanged": 1,
        }
    with Session(engine) as s:
        assert golden.version_hash(s) != version
    bad = json.dumps({"trace": trace.external_id, **base, "expected_chunks": ["a", "a"]})
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match="line 1: .*chunk ids repeat"):
        golden.import_jsonl(s, actor=lead, text=bad)
    bad = json.dumps({"trace": trace.external_id, **base, "expected_chunks": "a"})
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match="line 1: field 'expected_chunks'"):
        golden.import_jsonl(s, actor=lead, text=bad)


def test_chunks_question_answers():
    q = rubrics.Question.from_dict({"key": "relevant", "kind": "chunks"})
    assert q.required is False and q.to_dict()["kind"] == "chunks"
    assert q.check_answer([]) == [] and q.check_answer(None) is None
    assert q.check_answer(["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(ValidationFailed, match="not a list of chunk ids"):
        q.check_answer([1, 2])


def test_the_judge_skips_chunk_questions(engine):
    """A rubric's "chunks" question is a reviewer's reading of the context: the judge makes no call for it."""
    from review_store import judge
    from tests.judge_server import JudgeServer
    from tests.test_judge import FAST, RATING, setup_world

    with JudgeServer() as server:
        lead, config, (trace_id,) = setup_world(engine, server, ["ok"], questions=(RATING, QUESTIONS[1]))
        report = judge.run_judge(engine, actor=lead, config=config, **FAST)
    assert (report.n_calls, report.n_ok) == (1, 1)
    with Session(engine) as session:
        rows = judge.verdicts_for_trace(session, trace_id=trace_id)
    assert [r["question"] for r in rows] == ["correctness"]
