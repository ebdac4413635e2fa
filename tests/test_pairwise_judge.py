"""The judge on pairwise questions against the scripted OpenAI-compatible server on loopback (real litellm,
no network): the prompt shows both outputs as A and B in the reviewers' layout, the reply's a / b / tie and
reason are stored on the production trace, bad replies become error verdicts; both databases."""

from __future__ import annotations

import pytest
from sqlmodel import select

from review_store import judge
from review_store.db import read_session, session_scope
from review_store.errors import ValidationFailed
from review_store.judge.pairwise import parse_pairwise, run_pairwise_judge
from review_store.models import JudgeVerdict
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.rubrics import Question, create_rubric
from tests.factories import make_trace, make_user
from tests.judge_server import JudgeServer, Reply

QUESTIONS = [
    {"key": "correct", "kind": "rating", "prompt": "Is the answer correct?"},
    {"key": "better", "kind": "pairwise", "prompt": "Which answer is better?", "guidelines": "Policy first."},
]
FAST = {"api_key": "x", "backoff_s": 0.01, "timeout_s": 10}


@pytest.fixture
def server():
    with JudgeServer() as srv:
        yield srv


def _world(engine, server, n=4):
    with session_scope(engine) as s:
        lead = make_user(s, role="lead")
        rubric = create_rubric(s, actor=lead, name="mig", questions=QUESTIONS)
        judge.create_judge_config(
            s, actor=lead, name="pj", model="openai/test-judge", rubric_id=rubric.id, api_base=server.api_base
        )
        prod = {}
        for i in range(n):
            p = make_trace(
                s, external_id=f"p{i}", release="r2", input=f"refund question {i}", output=f"[[base-{i}]] r2"
            )
            make_trace(s, external_id=f"s{i}", release="r3", shadow_of=f"p{i}", output=f"[[cand-{i}]] r3")
            prod[f"p{i}"] = p.id
        make_trace(s, external_id="lonely", release="r2")  # no shadow: never judged pairwise
    return lead, prod


def _verdicts(engine) -> dict[tuple[int, str], JudgeVerdict]:
    with read_session(engine) as s:
        rows = s.exec(select(JudgeVerdict)).all()
        s.expunge_all()
        return {(v.trace_id, v.question_key): v for v in rows}


def test_the_judge_compares_a_and_b_in_the_reviewers_layout(engine, server):
    lead, prod = _world(engine, server)
    for i in range(3):  # the judge prefers the candidate on p0..p2, whichever side it is shown on
        side = "a" if candidate_shown_as_a(f"p{i}") else "b"
        server.script(
            f"[[cand-{i}]]",
            Reply(content=f'{{"value": "{side}", "confidence": 0.8, "rationale": "cites policy"}}'),
        )
    server.script("[[cand-3]]", Reply(content='{"value": "left", "confidence": 0.8, "rationale": "x"}'))
    report = run_pairwise_judge(engine, actor=lead, config="pj", candidate="r3", baseline="r2", **FAST)
    assert (report.n_calls, report.n_ok, report.n_error) == (4, 3, 1)

    got = _verdicts(engine)
    assert {key for key in got} == {(prod[f"p{i}"], "better") for i in range(4)}  # on the production traces
    for i in range(3):
        v = got[(prod[f"p{i}"], "better")]
        assert v.value == ("a" if candidate_shown_as_a(f"p{i}") else "b")
        assert (v.rationale, v.confidence, v.score, v.error) == ("cites policy", 0.8, None, None)
    bad = got[(prod["p3"], "better")]
    assert bad.value is None and "'left' is not one of a, b, tie" in bad.error

    for body in server.requests:  # both outputs, at their positions, with the input and the guidelines
        prompt = "\n".join(m["content"] for m in body["messages"])
        i = next(i for i in range(4) if f"[[cand-{i}]]" in prompt)
        first, second = (f"[[cand-{i}]]", f"[[base-{i}]]") if candidate_shown_as_a(f"p{i}") else (
            f"[[base-{i}]]", f"[[cand-{i}]]")  # fmt: skip
        assert prompt.index("--- Answer A ---") < prompt.index(first) < prompt.index("--- Answer B ---")
        assert prompt.index("--- Answer B ---") < prompt.index(second)
        for text in (f"refund question {i}", "Which answer is better?", "Policy first.", '"a", "b", "tie"'):
            assert text in prompt
        assert "r3" not in prompt.replace(f"[[cand-{i}]] r3", "")  # no release named beyond the outputs

    again = run_pairwise_judge(engine, actor=lead, config="pj", candidate="r3", baseline="r2", **FAST)
    assert again.n_calls == 0  # every pair has a verdict (the error one too, unless retried)
    server.script("[[cand-3]]", Reply(content='{"value": "tie", "confidence": 0.5, "rationale": "same"}'))
    retried = run_pairwise_judge(
        engine, actor=lead, config="pj", candidate="r3", baseline="r2", retry_errors=True, **FAST
    )
    assert (retried.n_calls, retried.n_ok) == (1, 1)
    assert _verdicts(engine)[(prod["p3"], "better")].value == "tie"

    per_trace = judge.run_judge(engine, actor=lead, config="pj", **FAST)  # the rating question only
    assert {q for (_, q) in _verdicts(engine)} == {"better", "correct"}
    assert per_trace.n_calls == 9  # 8 traces of the pairs + the lonely one, one rating question each


def test_mock_response_and_refusals(engine, server):
    lead, prod = _world(engine, server, n=2)
    report = run_pairwise_judge(
        engine,
        actor=lead,
        config="pj",
        candidate="r3",
        baseline="r2",
        mock_response='{"value": "tie", "confidence": 1, "rationale": "equivalent"}',
    )
    assert (report.n_calls, report.n_ok) == (2, 2) and server.requests == []
    assert {v.value for v in _verdicts(engine).values()} == {"tie"}
    with pytest.raises(ValidationFailed, match="candidate and baseline are both 'r3'"):
        run_pairwise_judge(engine, actor=lead, config="pj", candidate="r3", baseline="r3", **FAST)
    with session_scope(engine) as s:
        rubric = create_rubric(s, actor=lead, name="plain", questions=QUESTIONS[:1])
        judge.create_judge_config(
            s, actor=lead, name="rj", model="openai/x", rubric_id=rubric.id, api_base="http://127.0.0.1:9/v1"
        )
    with pytest.raises(ValidationFailed, match="has no pairwise question"):
        run_pairwise_judge(engine, actor=lead, config="rj", candidate="r3", baseline="r2", **FAST)


def test_parse_pairwise_reads_a_b_tie_and_requires_a_reason():
    q = Question(key="better", kind="pairwise", prompt="?")
    assert parse_pairwise(
        '```json\n{"value": "b", "confidence": 0.7, "rationale": " B is grounded "}\n```', q
    ) == (
        "b",
        0.7,
        "B is grounded",
    )
    with pytest.raises(ValidationFailed, match="no rationale"):
        parse_pairwise('{"value": "a"}', q)
    with pytest.raises(ValidationFailed, match="not one of a, b, tie"):
        parse_pairwise('{"value": "A better", "rationale": "x"}', q)
