"""The judge against a real OpenAI-compatible HTTP server on loopback: real litellm, no network, no key."""

from __future__ import annotations

import json

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from review_store import judge
from review_store.audit import list_events
from review_store.db import read_session, session_scope
from review_store.errors import NotFound, PermissionDenied, ValidationFailed
from review_store.models import JudgeConfig, JudgeRun, JudgeVerdict, Trace
from review_store.rubrics import create_rubric
from tests.factories import cli_token, make_trace, make_user
from tests.judge_server import JudgeServer, Reply

RATING = {
    "key": "correctness",
    "kind": "rating",
    "prompt": "Is the answer factually correct?",
    "guidelines": "5 = fully correct and grounded in the policy.",
    "min": 1,
    "max": 5,
}
TONE = {
    "key": "tone",
    "kind": "label",
    "prompt": "How is the tone?",
    "options": ["friendly", "neutral", "rude"],
}
FAST = {"api_key": "x", "backoff_s": 0.01, "timeout_s": 10}


@pytest.fixture
def server():
    with JudgeServer() as srv:
        yield srv


def setup_world(engine, server, outputs, *, questions=(RATING,), model="openai/test-judge", params=None):
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        rubric = create_rubric(session, actor=lead, name="support", questions=list(questions))
        config = judge.create_judge_config(
            session,
            actor=lead,
            name="support-judge",
            model=model,
            rubric_id=rubric.id,
            api_base=server.api_base,
            params=params,
        )
        trace_ids = [
            make_trace(
                session, output=out, context=[{"id": "policy-7", "text": "Refunds within 30 days."}]
            ).id
            for out in outputs
        ]
    return lead, config, trace_ids


def verdicts(engine) -> dict[int, JudgeVerdict]:
    with read_session(engine) as session:
        rows = session.exec(select(JudgeVerdict)).all()
        session.expunge_all()
        return {v.trace_id: v for v in rows}


def test_good_verdict_is_stored_with_value_confidence_rationale_latency(engine, server):
    lead, config, (trace_id,) = setup_world(engine, server, ["You can get a refund within 30 days."])
    report = judge.run_judge(engine, actor=lead, config=config, **FAST)

    assert (report.n_calls, report.n_ok, report.n_error, report.n_traces) == (1, 1, 0, 1)
    verdict = verdicts(engine)[trace_id]
    assert (verdict.value, verdict.score, verdict.confidence, verdict.rationale) == (4, 4.0, 0.9, "fine")
    assert verdict.error is None and verdict.latency_ms > 0 and verdict.judge_run_id == report.run_id
    assert verdict.cost_usd is None  # openai/test-judge has no price: unknown, not a crash
    assert report.n_cost_unknown == 1

    sent = server.requests[0]
    assert sent["response_format"] == {"type": "json_object"}
    prompt = "\n".join(m["content"] for m in sent["messages"])
    for text in (
        RATING["prompt"],
        RATING["guidelines"],
        "from 1 to 5",
        "question ",
        "30 days.",
        "[policy-7]",
    ):
        assert text in prompt

    with read_session(engine) as session:
        run = session.get(JudgeRun, report.run_id)
        assert (run.n_ok, run.n_error, run.triggered_by, run.scheduled) == (1, 0, lead.username, False)
        assert run.finished_at is not None and run.stopped_reason is None
        events = list_events(session, action="judge.run")
        assert len(events) == 1 and json.loads(events[0].payload)["n_ok"] == 1


def test_malformed_json_is_an_error_and_the_run_goes_on(engine, server):
    server.script("[[garbage]]", Reply(content="I think it is a 4, roughly."))
    server.script(
        "[[fenced]]", Reply(content='```json\n{"value": 2, "confidence": 0.5, "rationale": "meh"}\n```')
    )
    lead, config, (bad, fenced, good) = setup_world(engine, server, ["[[garbage]]", "[[fenced]]", "fine"])
    report = judge.run_judge(engine, actor=lead, config=config, concurrency=1, **FAST)

    assert (report.n_ok, report.n_error) == (2, 1)
    stored = verdicts(engine)
    assert "not a JSON object" in stored[bad].error and stored[bad].value is None
    assert (stored[fenced].value, stored[fenced].rationale, stored[fenced].error) == (2, "meh", None)
    assert stored[good].value == 4
    assert report.errors == [{"trace_id": bad, "question": "correctness", "error": stored[bad].error}]


def test_rate_limit_then_success_is_retried_and_stored(engine, server):
    server.script("[[busy]]", Reply(status=429, headers={"Retry-After": "0"}), Reply(status=429), Reply())
    lead, config, (trace_id,) = setup_world(engine, server, ["[[busy]]"])
    report = judge.run_judge(engine, actor=lead, config=config, max_retries=3, **FAST)

    assert server.calls_with("[[busy]]") == 3
    assert (report.n_ok, report.n_error) == (1, 0)
    assert verdicts(engine)[trace_id].value == 4


def test_rate_limit_beyond_max_retries_is_an_error(engine, server):
    server.script("[[busy]]", Reply(status=429))
    lead, config, (trace_id,) = setup_world(engine, server, ["[[busy]]"])
    judge.run_judge(engine, actor=lead, config=config, max_retries=2, **FAST)

    assert server.calls_with("[[busy]]") == 3
    assert "RateLimitError after 3 attempt(s)" in verdicts(engine)[trace_id].error


def test_hanging_response_times_out_and_is_stored_as_error(engine, server):
    server.script("[[hang]]", Reply(hang=True))
    lead, config, (hung, good) = setup_world(engine, server, ["[[hang]]", "fine"])
    report = judge.run_judge(engine, actor=lead, config=config, concurrency=2, api_key="x", timeout_s=1)

    stored = verdicts(engine)
    assert "timeout after 1 s" in stored[hung].error
    assert server.calls_with("[[hang]]") == 1  # a timeout is not retried
    assert stored[good].value == 4 and (report.n_ok, report.n_error) == (1, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"value": 9, "confidence": 0.8, "rationale": "x"}', "9 is outside 1..5"),
        ('{"value": 3, "confidence": 1.5, "rationale": "x"}', "confidence 1.5 is outside 0..1"),
        ('{"confidence": 0.5}', "has no 'value'"),
    ],
)
def test_invalid_verdict_names_what_is_allowed(engine, server, content, message):
    server.default = Reply(content=content)
    lead, config, (trace_id,) = setup_world(engine, server, ["x"])
    judge.run_judge(engine, actor=lead, config=config, **FAST)
    assert message in verdicts(engine)[trace_id].error


def test_one_call_per_question_validated_per_question(engine, server):
    server.script(
        "Question (tone", Reply(content='{"value": "friendly", "confidence": 0.7, "rationale": "warm"}')
    )
    lead, config, (trace_id,) = setup_world(engine, server, ["hi"], questions=(RATING, TONE))
    report = judge.run_judge(engine, actor=lead, config=config, **FAST)

    assert (report.n_calls, report.n_ok) == (2, 2)
    with read_session(engine) as session:
        rows = judge.verdicts_for_trace(session, trace_id=trace_id)
    assert [(r["config"], r["question"], r["value"], r["score"]) for r in rows] == [
        ("support-judge@1", "correctness", 4, 4.0),
        ("support-judge@1", "tone", "friendly", None),
    ]


def test_budget_cap_stops_scheduling_and_is_recorded(engine, server):
    # custom prices (litellm's own cost calculation): 100 prompt + 20 completion tokens -> $0.00012 a call
    params = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}
    lead, config, _ = setup_world(
        engine, server, ["a", "b", "c", "d", "e"], model="openai/priced-judge", params=params
    )
    report = judge.run_judge(engine, actor=lead, config=config, concurrency=1, budget_usd=0.0002, **FAST)

    assert report.n_ok == 2 and report.stopped_reason.startswith("budget")
    assert report.cost_usd == pytest.approx(0.00024)
    assert all(v.cost_usd == pytest.approx(0.00012) for v in verdicts(engine).values())
    with read_session(engine) as session:
        run = session.get(JudgeRun, report.run_id)
        assert run.stopped_reason == report.stopped_reason and run.budget_usd == 0.0002
        assert run.cost_usd == pytest.approx(0.00024)


def test_rerun_judges_nothing_new_and_errors_are_kept_unless_asked(engine, server):
    server.script("[[garbage]]", Reply(content="nope"), Reply())
    lead, config, ids = setup_world(engine, server, ["a", "b", "[[garbage]]"])
    first = judge.run_judge(engine, actor=lead, config=config, limit=2, **FAST)
    assert first.n_traces == 2  # newest first: the last two made
    second = judge.run_judge(engine, actor=lead, config=config, **FAST)
    assert (second.n_calls, second.n_ok) == (1, 1)
    again = judge.run_judge(engine, actor=lead, config=config, **FAST)
    assert again.n_calls == 0

    assert verdicts(engine)[ids[2]].error is not None  # the garbage trace was in the first run
    retried = judge.run_judge(engine, actor=lead, config=config, retry_errors=True, **FAST)
    assert (retried.n_calls, retried.n_ok) == (1, 1)
    with read_session(engine) as session:
        assert session.exec(select(func.count()).select_from(JudgeVerdict)).one() == 3
        assert len(list_events(session, action="judge.run")) == 4
    assert verdicts(engine)[ids[2]].error is None


def test_trace_ids_restrict_the_run_and_scheduled_is_recorded(engine, server):
    lead, config, ids = setup_world(engine, server, ["a", "b", "c"])
    report = judge.run_judge(engine, actor=lead, config=config, trace_ids=[ids[0]], scheduled=True, **FAST)
    assert report.n_calls == 1 and set(verdicts(engine)) == {ids[0]}
    with read_session(engine) as session:
        assert session.get(JudgeRun, report.run_id).scheduled is True


def test_mock_response_needs_no_server_or_key(engine, server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        rubric = create_rubric(session, actor=lead, name="r", questions=[RATING])
        config = judge.create_judge_config(
            session, actor=lead, name="m", model="openai/gpt-4o-mini", rubric_id=rubric.id
        )
        make_trace(session)
    with pytest.raises(ValidationFailed, match="OPENAI_API_KEY"):
        judge.run_judge(engine, actor=lead, config=config)
    report = judge.run_judge(engine, actor=lead, config="m@1", mock_response='{"value": 5, "confidence": 1}')
    assert report.n_ok == 1 and report.cost_usd > 0  # gpt-4o-mini is in litellm's price map
    assert not server.requests


def test_configs_are_versioned_and_immutable(engine, server):
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        reviewer = make_user(session, role="reviewer")
        rubric = create_rubric(session, actor=lead, name="r", questions=[RATING])
        first = judge.create_judge_config(
            session, actor=lead, name="j", model="openai/x", rubric_id=rubric.id
        )
        same = judge.create_judge_config(session, actor=lead, name="j", model="openai/x", rubric_id=rubric.id)
        second = judge.create_judge_config(
            session, actor=lead, name="j", model="openai/x", rubric_id=rubric.id, params={"temperature": 0}
        )
        assert (first.id, first.version, second.version) == (same.id, 1, 2)
        assert len(list_events(session, action="judge_config.create")) == 2
        with pytest.raises(PermissionDenied):
            judge.create_judge_config(
                session, actor=reviewer, name="j", model="openai/y", rubric_id=rubric.id
            )
        with pytest.raises(ValidationFailed, match=r"\{answer\}"):
            judge.create_judge_config(
                session,
                actor=lead,
                name="j",
                model="m",
                rubric_id=rubric.id,
                prompt_template="{question} {output} {answer}",
            )
        with pytest.raises(ValidationFailed, match="api_key"):
            judge.create_judge_config(
                session, actor=lead, name="j", model="m", rubric_id=rubric.id, params={"api_key": "s"}
            )
        with pytest.raises(NotFound):
            judge.create_judge_config(session, actor=lead, name="j", model="m", rubric_id=9999)
    with read_session(engine) as session:
        assert judge.get_judge_config(session, "j").version == 2
        assert judge.get_judge_config(session, "j@1").params == {}
        assert judge.get_judge_config(session, "j", 2).params == {"temperature": 0}
        with pytest.raises(NotFound, match="j@7"):
            judge.get_judge_config(session, "j@7")
        listed = judge.list_judge_configs(session)
        assert [(c["config"], c["rubric"], c["verdicts_ok"]) for c in listed] == [
            ("j@1", "r@1", 0),
            ("j@2", "r@1", 0),
        ]


def test_reviewer_may_not_run_the_judge(engine, server):
    _, config, _ = setup_world(engine, server, ["a"])
    with session_scope(engine) as session:
        reviewer = make_user(session, role="reviewer")
    with pytest.raises(PermissionDenied, match="run judge"):
        judge.run_judge(engine, actor=reviewer, config=config, **FAST)


def test_provider_ready_names_the_variable_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    def cfg(model, api_base=None):
        return JudgeConfig(name="j", model=model, rubric_id=1, content_hash="", api_base=api_base)

    ok, message = judge.provider_ready(cfg("openai/gpt-4o-mini"))
    assert not ok and "OPENAI_API_KEY" in message
    ok, message = judge.provider_ready(cfg("anthropic/claude-3-5-haiku-latest"))
    assert not ok and "ANTHROPIC_API_KEY" in message
    assert judge.provider_ready(cfg("openai/local", api_base="http://127.0.0.1:8000/v1"))[0]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert judge.provider_ready(cfg("openai/gpt-4o-mini")) == (True, "OPENAI_API_KEY is set")


def test_render_prompt_leaves_braces_in_trace_text_alone():
    from review_store.rubrics import Question

    trace = Trace(external_id="t", ts=None, input="{output}", output='{"value": 1}', context=[])
    text = judge.render_prompt("Q: {question}\nIn: {input}\nOut: {output}", Question.from_dict(RATING), trace)
    assert text == 'Q: Is the answer factually correct?\nIn: {output}\nOut: {"value": 1}'


def test_the_judge_reads_the_rating_anchors():
    from review_store.rubrics import Question

    anchored = Question.from_dict({**RATING, "anchors": {"5": "Fully correct", "1": "Wrong or harmful"}})
    assert (
        judge.allowed_values(anchored)
        == "a whole number from 1 to 5 (1 = Wrong or harmful; 5 = Fully correct)"
    )
    assert judge.allowed_values(Question.from_dict(RATING)) == "a whole number from 1 to 5"


def test_cli_create_list_run(db_url, server, tmp_path, monkeypatch):
    from review_store.cli import app
    from review_store.db import make_engine

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        lead = make_user(session, role="lead")
        create_rubric(session, actor=lead, name="support", questions=[RATING])
        make_trace(session)
        make_trace(session)
    engine.dispose()
    template = tmp_path / "judge.txt"
    template.write_text(judge.DEFAULT_TEMPLATE)
    runner = CliRunner(env=cli_token(db_url, lead.username))  # the lead's personal token
    base = ["--db", db_url, "judge"]

    created = runner.invoke(
        app,
        [
            *base,
            "create",
            "--name",
            "cj",
            "--model",
            "openai/test-judge",
            "--rubric",
            "support",
            "--template-file",
            str(template),
            "--api-base",
            server.api_base,
            "--as",
            lead.username,
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["config"] == "cj@1"

    ran = runner.invoke(
        app, [*base, "run", "--config", "cj@1", "--limit", "1", "--as", lead.username, "--json"]
    )
    assert ran.exit_code == 0, ran.output
    payload = json.loads(ran.output)
    assert (payload["n_ok"], payload["n_error"], payload["config"]) == (1, 0, "cj@1")

    text = runner.invoke(app, [*base, "run", "--config", "cj", "--as", lead.username])
    assert text.exit_code == 0 and "1 ok, 0 errors" in text.output

    listed = runner.invoke(app, [*base, "list", "--json"])
    assert json.loads(listed.output)["configs"][0]["verdicts_ok"] == 2

    missing = runner.invoke(app, [*base, "run", "--config", "nope"])
    assert missing.exit_code == 2 and "no judge config nope" in missing.output
    bad_file = runner.invoke(
        app,
        [
            *base,
            "create",
            "--name",
            "x",
            "--model",
            "m",
            "--rubric",
            "support",
            "--template-file",
            str(tmp_path / "absent.txt"),
        ],
    )
    assert bad_file.exit_code == 2 and "absent.txt" in bad_file.output
