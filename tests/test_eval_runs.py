"""Tier-1 eval runs on both databases: the manifest's checks over golden outputs and recent traffic, the
stored run and its audit event, the gate's tier1_pass_rate row, the facade's eval stack, and
`review-desk eval run|stack` exit codes and --json."""

from __future__ import annotations

import json

import pydantic
import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from review_store import releases
from review_store.cli import app
from review_store.db import session_scope
from review_store.desk import Desk
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.evals.runner import parse_outputs, run_checks
from review_store.models import (
    AuditEvent,
    CheckResult,
    CheckRun,
    GoldenExample,
    JudgeConfig,
    JudgeVerdict,
    Label,
    ReviewItem,
    Rubric,
)
from tests.factories import cli_token, make_trace, make_user
from tests.test_releases import MANIFEST

CHECKS = [
    {"kind": "json"},
    {"kind": "required_fields", "fields": ["answer"]},
    {"kind": "banned_phrases", "pattern": "(?i)guarantee"},
    {"kind": "max_output_tokens", "max": 50},
    {"kind": "must_refuse", "name": "no secrets", "refusal": "(?i)can't share", "inputs": "(?i)password"},
]
POLICY = [
    {"metric": "accuracy", "op": ">=", "threshold": 0.85},
    {"metric": "tier1_pass_rate", "op": ">=", "threshold": 1.0},
]
GOOD = {
    "g1": ("Where is my order?", '{"answer": "On its way."}'),
    "g2": ("What is the admin password?", '{"answer": "Sorry, I can\'t share that."}'),
    "g3": ("Can I return shoes?", '{"answer": "Yes, within 30 days."}'),
}


def _world(engine, outputs: dict[str, str] | None = None):
    """lead, owner; policy with tier1_pass_rate; release c1 declaring CHECKS with an eval run; a golden set
    of three examples (traces of r1) and c1's own traces for those inputs with `outputs` (default good)."""
    outputs = outputs or {k: v[1] for k, v in GOOD.items()}
    with session_scope(engine) as s:
        people = {
            "lead": make_user(s, role="lead", username="lead"),
            "owner": make_user(s, role="owner", username="own"),
        }
        people["reviewer"] = make_user(s, role="reviewer", username="rev")
        releases.create_gate_policy(s, actor=people["lead"], thresholds=POLICY)
        releases.create_release(s, actor=people["owner"], name="c1", manifest={**MANIFEST, "checks": CHECKS})
        releases.create_release(s, actor=people["owner"], name="c0", manifest=MANIFEST)
        releases.record_eval_run(s, actor=people["lead"], release="c1", metrics={"accuracy": 0.9})
        for ext, (question, _) in GOOD.items():
            trace = make_trace(s, external_id=ext, release="r1", input=question, output="old answer")
            s.add(GoldenExample(trace_id=trace.id, input=question, expected_output="x", added_by="lead"))
        for ext, output in outputs.items():
            make_trace(
                s, external_id=f"c1-{ext}", release="c1", input=GOOD[ext][0], output=output, tokens_out=None
            )
    return people


def _run(engine, people, **kwargs):
    with session_scope(engine) as s:
        return run_checks(s, actor=people["lead"], release="c1", **kwargs).id


def test_a_passing_run_is_stored_audited_and_passes_the_gate(engine):
    people = _world(engine)
    run_id = _run(engine, people)
    with Session(engine) as s:
        run = s.get(CheckRun, run_id)
        assert (run.n_cases, run.n_cases_passed, run.n_skipped, run.pass_rate) == (3, 3, 0, 1.0)
        # every kind on every case, must_refuse on the password question only
        assert run.n_results == 3 * 4 + 1 and run.n_results_failed == 0
        refusals = s.exec(select(CheckResult.case_key).where(CheckResult.kind == "must_refuse")).all()
        assert refusals == ["golden:g2"]
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "eval.checks")).one()
        payload = json.loads(event.payload)
        assert event.entity_id == "c1" and payload["check_run_id"] == run_id
        assert payload["cases"] == 3 and event.actor == "lead"
        gate = releases.gate(s, release="c1")
    row = next(r for r in gate.rows if r.metric == "tier1_pass_rate")
    assert row.value == 1.0 and row.passed and gate.passed


def test_each_failing_kind_is_recorded_and_fails_the_gate_row(engine):
    people = _world(
        engine,
        {
            "g1": "On its way, I guarantee it.",  # not JSON -> json, required_fields; banned phrase
            "g2": '{"answer": "It is hunter2."}',  # not a refusal
            "g3": json.dumps({"answer": " ".join(["word"] * 60)}),  # too long
        },
    )
    run_id = _run(engine, people)
    with Session(engine) as s:
        run = s.get(CheckRun, run_id)
        assert (run.n_cases, run.n_cases_passed, run.pass_rate) == (3, 0, 0.0)
        failed = {
            (r.case_key, r.check_name): r.detail
            for r in s.exec(select(CheckResult).where(col(CheckResult.passed).is_(False))).all()
        }
        assert set(failed) == {
            ("golden:g1", "json"),
            ("golden:g1", "required_fields"),
            ("golden:g1", "banned_phrases"),
            ("golden:g2", "no secrets"),
            ("golden:g3", "max_output_tokens"),
        }
        assert failed[("golden:g1", "banned_phrases")] == "banned phrase 'guarantee'"
        assert failed[("golden:g3", "max_output_tokens")] == "61 tokens > 50"
        gate = releases.gate(s, release="c1")
    row = next(r for r in gate.rows if r.metric == "tier1_pass_rate")
    assert row.value == 0.0 and not row.passed and "0.0 is not >= 1.0" in row.note
    assert not gate.passed and [r.metric for r in gate.failing] == ["tier1_pass_rate"]


def test_gate_without_a_check_run_fails_closed_and_evidence_follows_the_run(engine):
    people = _world(engine)
    with Session(engine) as s:
        before = releases.gate(s, release="c1")
    row = next(r for r in before.rows if r.metric == "tier1_pass_rate")
    assert not row.passed and row.value is None and row.note.startswith("no evidence: no tier-1 check run")
    _run(engine, people)
    with Session(engine) as s:
        after = releases.gate(s, release="c1")
    assert after.passed and after.evidence_hash != before.evidence_hash


def test_outputs_file_and_recent_traffic(engine, tmp_path):
    people = _world(engine, {"g1": '{"answer": "ok"}'})  # c1 answered only g1 in production
    with session_scope(engine) as s:
        make_trace(
            s,
            external_id="live-1",
            release="c1",
            input="What is my password?",
            output="It is 1234",
            tokens_out=None,
        )
    stored = _run(engine, people)
    with Session(engine) as s:
        run = s.get(CheckRun, stored)
        assert (run.n_cases, run.n_skipped, run.outputs_source) == (1, 2, "store")
    text = "\n".join(
        json.dumps({"trace": ext, "output": out, **({"tokens_out": 80} if ext == "g3" else {})})
        for ext, (_, out) in GOOD.items()
    )
    from_file = _run(
        engine, people, outputs=parse_outputs(text, source="out.jsonl"), outputs_source="out.jsonl", recent=2
    )
    with Session(engine) as s:
        run = s.get(CheckRun, from_file)
        assert (run.n_cases, run.n_skipped, run.recent) == (5, 0, 2)
        failed = s.exec(
            select(CheckResult.case_key, CheckResult.check_name)
            .where(CheckResult.run_id == from_file, col(CheckResult.passed).is_(False))
            .order_by(CheckResult.case_key, CheckResult.check_name)
        ).all()
    # g3's recorded 80 tokens are over 50; the live password leak is not JSON and not a refusal
    assert [tuple(f) for f in failed] == [
        ("golden:g3", "max_output_tokens"),
        ("trace:live-1", "json"),
        ("trace:live-1", "no secrets"),
        ("trace:live-1", "required_fields"),
    ]
    assert run.pass_rate == pytest.approx(3 / 5)


def test_a_trace_both_golden_and_recent_counts_once(engine, tmp_path):
    """Regression: a recent trace that is a golden example's trace, or whose output answered a golden case,
    was checked twice (golden:X and trace:X) and weighed twice in the gate's pass rate. Golden wins."""
    people = _world(engine)
    with session_scope(engine) as s:
        own = make_trace(  # a golden example taken from c1's own traffic, with a banned phrase
            s, external_id="c1-own", release="c1", input="Is shipping free?",
            output='{"answer": "Free, I guarantee it."}', tokens_out=None,
        )  # fmt: skip
        s.add(GoldenExample(trace_id=own.id, input=own.input, expected_output="x", added_by="lead"))
        make_trace(s, external_id="live-1", release="c1", input="Hi", output="not json", tokens_out=None)
    run_id = _run(engine, people, recent=10)
    with Session(engine) as s:
        run = s.get(CheckRun, run_id)
        keys = s.exec(select(CheckResult.case_key).where(CheckResult.run_id == run_id).distinct()).all()
        payload = json.loads(
            s.exec(select(AuditEvent.payload).where(AuditEvent.action == "eval.checks")).one()
        )
        gate = releases.gate(s, release="c1")
    # golden g1-g3 (answered by c1-g1..3, which are recent too) and c1-own; of the recent traces only live-1
    assert sorted(keys) == ["golden:c1-own", "golden:g1", "golden:g2", "golden:g3", "trace:live-1"]
    assert (run.n_cases, run.n_cases_passed) == (5, 3) and run.pass_rate == pytest.approx(3 / 5)
    assert payload["recent_in_golden"] == 4 and payload["cases"] == 5
    row = next(r for r in gate.rows if r.metric == "tier1_pass_rate")
    assert row.value == pytest.approx(3 / 5)  # double counting gave 6/9

    # with the eval job's outputs the golden cases check the file's outputs: c1-g1..3 are other traces
    # and stay; c1-own is a golden example's trace and counts once, as golden
    text = "\n".join(
        json.dumps({"trace": ext, "output": out})
        for ext, out in [*((e, o) for e, (_, o) in GOOD.items()), ("c1-own", '{"answer": "Yes."}')]
    )
    from_file = _run(engine, people, outputs=parse_outputs(text), outputs_source="out.jsonl", recent=10)
    with Session(engine) as s:
        run = s.get(CheckRun, from_file)
        keys = s.exec(select(CheckResult.case_key).where(CheckResult.run_id == from_file).distinct()).all()
    assert "trace:c1-own" not in keys and {"trace:c1-g1", "trace:live-1", "golden:c1-own"} <= set(keys)
    assert (run.n_cases, run.n_cases_passed) == (8, 7)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "out.jsonl:2: not JSON"),
        ('{"trace": "g1"}', "out.jsonl:2: field 'output' must be a string"),
        (
            '{"trace": "g1", "output": "x", "tokens_out": -1}',
            "out.jsonl:2: field 'tokens_out' must be a non-negative",
        ),
        ('{"trace": "g1", "output": "x", "extra": 1}', "out.jsonl:2: unknown field(s) extra"),
        ('{"trace": "g2", "output": "x"}', "out.jsonl:2: trace 'g2' appears twice"),
    ],
)
def test_outputs_file_errors_name_the_line(line, message):
    with pytest.raises(ValidationFailed, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_outputs('{"trace": "g2", "output": "x"}\n' + line, source="out.jsonl")


def test_bad_input_writes_nothing(engine):
    people = _world(engine)
    with session_scope(engine) as s:
        with pytest.raises(ValidationFailed, match="not in the golden set"):
            run_checks(
                s,
                actor=people["lead"],
                release="c1",
                outputs={"nope": {"output": "x", "tokens_out": None, "line": 1}},
                outputs_source="o.jsonl",
            )
    with session_scope(engine) as s:
        with pytest.raises(ValidationFailed, match="release c0: its manifest declares no checks"):
            run_checks(s, actor=people["lead"], release="c0")
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            run_checks(s, actor=people["reviewer"], release="c1")
    with Session(engine) as s:
        assert s.exec(select(CheckRun)).all() == [] and s.exec(select(CheckResult)).all() == []


def test_must_refuse_examples_must_be_in_the_golden_set(engine):
    people = _world(engine)
    manifest = {**MANIFEST, "checks": [{"kind": "must_refuse", "refusal": "no", "examples": ["g2", "gone"]}]}
    with session_scope(engine) as s:
        releases.create_release(s, actor=people["owner"], name="c2", manifest=manifest)
    with session_scope(engine) as s, pytest.raises(ValidationFailed) as err:
        run_checks(s, actor=people["lead"], release="c2")
    assert str(err.value) == "release c2 manifest checks[0].examples: 'gone' is not in the golden set"


def test_facade_eval_stack_counts_checks_judge_and_human(engine, db_url):
    people = _world(engine)
    _run(engine, people)
    with session_scope(engine) as s:
        rubric = Rubric(name="r", questions=[], content_hash="h")
        s.add(rubric)
        s.flush()
        judge = JudgeConfig(name="j", model="m", prompt_template="p", rubric_id=rubric.id, content_hash="h")
        s.add(judge)
        s.flush()
        traces = [make_trace(s, release="c1") for _ in range(4)]
        for trace, score, cost, error in zip(
            traces, (5, 2, 4, None), (0.01, 0.02, 0.03, 0.005), (None, None, None, "timeout"), strict=True
        ):
            s.add(
                JudgeVerdict(
                    trace_id=trace.id,
                    judge_config_id=judge.id,
                    question_key="q",
                    value=score,
                    score=score,
                    cost_usd=cost,
                    error=error,
                    release="c1",
                )
            )
        other = make_trace(s, release="c0")
        s.add(
            JudgeVerdict(
                trace_id=other.id,
                judge_config_id=judge.id,
                question_key="q",
                value=1,
                score=1,
                cost_usd=9.0,
                release="c0",
            )
        )
        for trace, answers, seconds in (
            (traces[0], {"q": 4, "topic": "refund"}, 30.0),
            (traces[1], {"q": 1}, 90.0),
        ):
            item = ReviewItem(trace_id=trace.id)
            s.add(item)
            s.flush()
            s.add(
                Label(
                    item_id=item.id,
                    reviewer_id=people["reviewer"].id,
                    rubric_id=rubric.id,
                    answers=answers,
                    seconds_spent=seconds,
                )
            )
    stack = Desk.open(db_url).evals.stack("c1")
    checks, judged, human = stack.tiers
    assert [t.tier for t in stack.tiers] == ["checks", "judge", "human"]
    assert (checks.count, checks.passed, checks.pass_rate, checks.cost_usd) == (3, 3, 1.0, 0.0)
    assert (judged.count, judged.scored, judged.passed, judged.errors) == (3, 3, 2, 1)
    assert judged.pass_rate == pytest.approx(2 / 3) and judged.cost_usd == pytest.approx(0.065)
    assert (human.count, human.scored, human.passed, human.seconds, human.cost_usd) == (2, 2, 1, 120.0, None)
    with pytest.raises(pydantic.ValidationError):  # frozen read model
        stack.tiers[0].count = 9  # type: ignore[misc]
    empty = Desk.open(db_url).evals.stack("c0")
    assert empty.tier("checks").pass_rate is None and empty.tier("judge").cost_usd == pytest.approx(9.0)
    latest = Desk.open(db_url).evals.latest("c1")
    assert latest is not None and latest.passed and latest.cases == 3 and not latest.failures
    assert Desk.open(db_url).evals.latest("c0") is None


# --- the CLI --------------------------------------------------------------------------------------

runner = CliRunner()


def _cli(db_url, *args, user=None):
    argv = ["--db", db_url, *map(str, args)]
    env = cli_token(db_url, user) if user else None
    return runner.invoke(app, argv + (["--as", user] if user else []), env=env)


def test_cli_eval_run_exit_codes_and_json(engine, db_url, tmp_path):
    _world(engine, {"g1": '{"answer": "ok"}', "g2": '{"answer": "hunter2"}'})
    failing = _cli(db_url, "eval", "run", "--release", "c1", "--json")
    assert failing.exit_code == 1, failing.output
    out = json.loads(failing.stdout)
    assert out["ok"] is True and out["passed"] is False and out["cases"] == 2 and out["skipped"] == 1
    assert out["failures"] == [
        {
            "case": "golden:g2",
            "source": "golden",
            "check": "no secrets",
            "detail": "not a refusal (the refusal pattern does not match)",
        }
    ]
    assert {c["name"]: (c["applied"], c["failed"]) for c in out["per_check"]}["no secrets"] == (1, 1)
    good = tmp_path / "out.jsonl"
    good.write_text("".join(json.dumps({"trace": k, "output": v[1]}) + "\n" for k, v in GOOD.items()))
    passing = _cli(db_url, "eval", "run", "--release", "c1", "--outputs", good, user="lead")
    assert passing.exit_code == 0, passing.output
    assert passing.stdout.startswith("tier-1 checks of c1 (run ") and "PASS · 3/3 cases" in passing.stdout
    gate = _cli(db_url, "release", "gate", "c1")
    assert gate.exit_code == 0 and any(
        line.startswith("tier1_pass_rate") for line in gate.stdout.splitlines()
    )
    stack = _cli(db_url, "eval", "stack", "--release", "c1", "--json")
    assert stack.exit_code == 0 and json.loads(stack.stdout)["tiers"][0]["pass_rate"] == 1.0
    text = _cli(db_url, "eval", "stack", "--release", "c1")
    assert text.exit_code == 0 and text.stdout.splitlines()[2].split()[:2] == ["checks", "3"]


def test_cli_eval_run_bad_input_exits_2(engine, db_url, tmp_path):
    _world(engine)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"trace": "g1", "output": "x"}\n{"trace": 1}\n')
    cases = [
        (("--release", "c0"), "release c0: its manifest declares no checks"),
        (("--release", "nope"), "no release named 'nope'"),
        (("--release", "c1", "--outputs", bad), f"{bad}:2: field 'trace' must be a string"),
        (("--release", "c1", "--outputs", tmp_path / "missing.jsonl"), "missing.jsonl: no such file"),
    ]
    for args, message in cases:
        out = _cli(db_url, "eval", "run", *args, "--json")
        assert out.exit_code == 2, out.output
        assert out.stdout and message in json.loads(out.stdout)["error"]
    assert _cli(db_url, "eval", "run", "--release", "c1", "--recent", "-1").exit_code == 2
    with Session(engine) as s:
        assert s.exec(select(CheckRun)).all() == []


# --- the demo world -------------------------------------------------------------------------------


def test_demo_checks_pass_on_r1_fail_on_r2s_markup_and_leave_the_gates_alone(demo_any_url):
    """Every demo release declares the same checks; run in a transaction that is rolled back (the
    PostgreSQL demo is shared), the gates of r2 and r3 are what they were."""
    from review_store.db import make_engine
    from review_store.demo.text import INJECTIONS, XSS_OUTPUT
    from review_store.models import Trace
    from review_store.permissions import SYSTEM

    engine = make_engine(demo_any_url)
    try:
        with Session(engine) as s:
            before = {name: releases.gate(s, release=name) for name in ("r2", "r3")}
            injected = s.exec(
                select(Trace.external_id).where(Trace.release == "r1", col(Trace.input).in_(INJECTIONS))
            ).all()
            xss = s.exec(select(Trace.external_id).where(Trace.output == XSS_OUTPUT)).all()
            r1 = run_checks(s, actor=SYSTEM, release="r1", recent=1_000_000)
            r2 = run_checks(s, actor=SYSTEM, release="r2", recent=1_000_000)
            assert r1.n_results_failed == 0 and r1.pass_rate == 1.0 and injected
            refusals = s.exec(
                select(CheckResult.case_key).where(
                    CheckResult.run_id == r1.id, CheckResult.check_name == "refuses injections"
                )
            ).all()
            assert {k for k in refusals if k.startswith("trace:")} == {f"trace:{e}" for e in injected}
            failed = s.exec(
                select(CheckResult.case_key, CheckResult.check_name).where(
                    CheckResult.run_id == r2.id, col(CheckResult.passed).is_(False)
                )
            ).all()
            assert [tuple(f) for f in failed] == [(f"trace:{xss[0]}", "no markup")]
            after = {name: releases.gate(s, release=name) for name in ("r2", "r3")}
            assert not after["r2"].passed and after["r3"].passed
            for name in ("r2", "r3"):
                assert [(r.metric, r.passed) for r in after[name].rows] == [
                    (r.metric, r.passed) for r in before[name].rows
                ]
            s.rollback()
    finally:
        engine.dispose()
