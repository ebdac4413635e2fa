"""The paired report per pairwise question (humans and each judge separately, via the stats module), the
non-inferiority rule in the gate policy, its gate rows and `review-desk pairwise report`; both databases.

Screen answers are written in each pair's own layout from a planned candidate outcome, so the report's
counts must equal the plan: that checks the position mapping end to end; the sign test is checked against
scipy and the CI against the stats module on the planned outcomes."""

from __future__ import annotations

import json

import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from review_store import rubrics
from review_store.cli import app
from review_store.db import session_scope
from review_store.desk import Desk
from review_store.errors import ValidationFailed
from review_store.models import Adjudication, JudgeConfig, JudgeVerdict, Label, ReviewItem
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.pairwise.stats import paired_stats
from review_store.permissions import SYSTEM
from review_store.releases.gate import create_gate_policy, evaluate
from tests.factories import make_trace, make_user

QUESTIONS = [
    {"key": "correct", "kind": "pairwise", "prompt": "Which answer is more correct?"},
    {"key": "style", "kind": "pairwise", "prompt": "Which answer reads better?"},
]
# planned candidate outcomes per pair (a = candidate better): correct clearly improves, style is worse
CORRECT = ["a"] * 18 + ["b"] * 6 + ["tie"] * 6
STYLE = ["a"] * 5 + ["b"] * 15 + ["tie"] * 10
JUDGE = ["a"] * 12 + ["b"] * 12 + ["tie"] * 6
SWAP = {"a": "b", "b": "a", "tie": "tie"}
runner = CliRunner()


def screen(outcome: str, key: str) -> str:
    """The choice a reviewer makes on screen for this candidate outcome, in pair `key`'s layout."""
    return outcome if candidate_shown_as_a(key) else SWAP[outcome]


def _world(engine, *, n_pairs: int = 30) -> None:
    with session_scope(engine) as s:
        rubric = rubrics.create_rubric(s, actor=SYSTEM, name="mig", questions=QUESTIONS)
        ann, bob, lead = make_user(s), make_user(s), make_user(s, role="lead")
        config = JudgeConfig(name="pj", model="m", prompt_template="p", rubric_id=rubric.id, content_hash="x")
        s.add(config)
        s.flush()
        for i in range(n_pairs):
            key = f"p{i}"
            prod = make_trace(s, external_id=key, release="r2")
            make_trace(s, external_id=f"s{i}", release="r3", shadow_of=key)
            item = ReviewItem(trace_id=prod.id, overlap_k=1, status="done", labels_done=1)
            s.add(item)
            s.flush()
            answers = {
                "correct": {"choice": screen(CORRECT[i], key), "reason": "r"},
                "style": {"choice": screen(STYLE[i], key), "reason": "r"},
            }
            s.add(Label(item_id=item.id, reviewer_id=ann.id, rubric_id=rubric.id, answers=answers))
            s.add(
                JudgeVerdict(
                    trace_id=prod.id,
                    judge_config_id=config.id,
                    question_key="correct",
                    value=screen(JUDGE[i], key),
                    rationale="judge",
                    release="r2",
                )
            )
        # a split pair (no outcome) and an adjudicated one (the lead's answer counts)
        for key, adjudicated in (("split", None), ("settled", "a")):
            prod = make_trace(s, external_id=key, release="r2")
            make_trace(s, external_id=f"s-{key}", release="r3", shadow_of=key)
            item = ReviewItem(trace_id=prod.id, overlap_k=2, status="adjudication", labels_done=2)
            s.add(item)
            s.flush()
            for who, outcome in ((ann, "a"), (bob, "b")):
                answers = {"correct": {"choice": screen(outcome, key), "reason": "r"}}
                s.add(Label(item_id=item.id, reviewer_id=who.id, rubric_id=rubric.id, answers=answers))
            if adjudicated:
                answers = {"correct": {"choice": screen(adjudicated, key), "reason": "lead"}}
                s.add(
                    Adjudication(
                        item_id=item.id, adjudicator_id=lead.id, rubric_id=rubric.id, answers=answers
                    )
                )
        make_trace(s, external_id="alone", release="r4")  # r4 never ran in shadow


def _policy(engine, rows):
    with session_scope(engine) as s:
        create_gate_policy(s, actor=make_user(s, role="lead"), thresholds=rows)


def test_report_counts_map_positions_and_match_the_stats(engine, db_url):
    _world(engine)
    report = Desk.open(db_url).pairwise.report(candidate="r3", baseline="r2")
    assert report.pairs == 32 and report.policy_version is None and report.passed  # nothing critical yet
    by_q = {q.question: q for q in report.questions}
    correct = by_q["correct"]
    planned = CORRECT + ["a"]  # + the adjudicated pair; the split one has no outcome
    expected = paired_stats(planned)
    h = correct.human
    assert (h.n, h.wins, h.losses, h.ties) == (31, 19, 6, 6)
    assert (h.win_rate, h.delta, h.ci_low, h.ci_high) == (
        expected.win_rate,
        expected.delta,
        expected.ci_low,
        expected.ci_high,
    )
    assert h.sign_p == pytest.approx(binomtest(19, 25, 0.5).pvalue, rel=1e-12)
    (j,) = correct.judges  # the judge counted separately, never mixed with the humans
    assert (j.source, j.n, j.wins, j.losses, j.ties) == ("pj@1", 30, 12, 12, 6)
    assert j.sign_p == 1.0 and j.delta == 0.0
    s = by_q["style"].human
    assert (s.n, s.wins, s.losses, s.ties) == (30, 5, 15, 10)
    assert not correct.critical and correct.holds is None


def test_the_rule_in_the_policy_gate_rows_and_cli(engine, db_url):
    _world(engine)
    with (
        session_scope(engine) as s,
        pytest.raises(ValidationFailed, match=r"thresholds\[0\]: a pairwise row is '>= -margin'"),
    ):
        create_gate_policy(
            s, actor=SYSTEM, thresholds=[{"metric": "pairwise:correct", "op": "<=", "threshold": 0}]
        )
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match="margin from 0 up to 1"):
        create_gate_policy(
            s, actor=SYSTEM, thresholds=[{"metric": "pairwise:correct", "op": ">=", "threshold": 0.1}]
        )
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match="name the question"):
        create_gate_policy(s, actor=SYSTEM, thresholds=[{"metric": "pairwise:", "op": ">=", "threshold": 0}])

    _policy(engine, [{"metric": "pairwise:correct", "op": ">=", "threshold": -0.05}])
    desk = Desk.open(db_url)
    report = desk.pairwise.report(candidate="r3", baseline="r2")
    correct = next(q for q in report.questions if q.question == "correct")
    assert correct.critical and correct.margin == 0.05 and correct.holds and report.passed
    assert correct.note.startswith("improves: delta +0.419")
    with session_scope(engine) as s:
        (row,) = evaluate(s, release="r3", runs=[]).rows
        assert (row.metric, row.question, row.passed, row.value) == (
            "pairwise:correct",
            "correct",
            True,
            correct.human.ci_low,
        )
        assert row.note == f"vs r2: {correct.note}"
        (r4,) = evaluate(s, release="r4", runs=[]).rows
        assert not r4.passed and r4.value is None and "r4 has no shadow run" in r4.note
    ok = runner.invoke(app, ["--db", db_url, "pairwise", "report", "--candidate", "r3", "--baseline", "r2"])
    assert ok.exit_code == 0, ok.output
    assert "correct: holds (margin 0.05)" in ok.output and "rule passes" in ok.output

    _policy(
        engine,
        [
            {"metric": "pairwise:correct", "op": ">=", "threshold": -0.05},
            {"metric": "pairwise:style", "op": ">=", "threshold": -0.1},
        ],
    )
    failed = runner.invoke(
        app, ["--db", db_url, "pairwise", "report", "--candidate", "r3", "--baseline", "r2", "--json"]
    )
    assert failed.exit_code == 1, failed.output
    payload = json.loads(failed.output)
    assert payload["ok"] is False and payload["passed"] is False
    style = next(q for q in payload["questions"] if q["question"] == "style")
    assert style["holds"] is False and style["human"]["ci_low"] < -0.1 and "below -0.1" in style["note"]
    with session_scope(engine) as s:
        rows = {r.metric: r for r in evaluate(s, release="r3", runs=[]).rows}
        assert rows["pairwise:correct"].passed and not rows["pairwise:style"].passed

    bad = runner.invoke(app, ["--db", db_url, "pairwise", "report", "--candidate", "r3", "--baseline", "r3"])
    assert bad.exit_code == 2 and "both 'r3'" in bad.output
    empty = runner.invoke(
        app, ["--db", db_url, "pairwise", "report", "--candidate", "r4", "--baseline", "r2"]
    )
    assert empty.exit_code == 1 and "no shadow pair of the candidate" in empty.output
