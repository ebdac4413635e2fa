"""The judge on pairwise questions: it compares the two outputs of a shadow pair, shown as A and B in the
same positions reviewers see (review_store.pairwise.pairs), and answers a, b or tie with a reason.

The verdict is stored on the production (baseline) trace, as a reviewer's label is on its item: value =
the screen choice ("a" / "b" / "tie"), rationale = the reason (required, as for a reviewer). So the
judge's verdict sits beside the reviewer's answer after submit, agreement compares choices in the same
layout, and the paired report maps both to the candidate with the same `candidate_outcome`.

The prompt is the built-in PAIRWISE_TEMPLATE (a config's own template judges one output, so it cannot
show two); the config gives the model, its parameters and the rubric.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from review_store.db import read_session
from review_store.errors import ValidationFailed
from review_store.judge.llm import PLACEHOLDER_RE, SYSTEM_PROMPT, context_text, parse_verdict
from review_store.judge.run import JudgeRunReport, Task, drive, load_config, prepare_call
from review_store.models import JudgeVerdict, Trace
from review_store.pairwise.pairs import ShadowPair, shadow_pairs
from review_store.permissions import Actor, require
from review_store.rubrics import PAIRWISE, PAIRWISE_CHOICES, Question

PAIRWISE_TEMPLATE = """You are comparing two answers of a customer-support assistant to the same customer input.

Question ({key}): {question}
Guidelines for graders:
{guidelines}

--- Customer input ---
{input}

--- Retrieved context ---
{context}

--- Answer A ---
{output_a}

--- Answer B ---
{output_b}

Judge the answers on the question only; their order says nothing about their quality.
Reply with one JSON object only: {"value": "a" | "b" | "tie", "confidence": <0..1>, "rationale": "<why, one or two sentences>"}
"""

_CHOICE = Question(key="choice", kind="label", prompt="choice", options=PAIRWISE_CHOICES)


def render_pairwise_prompt(
    question: Question, *, input: str, context: Any, output_a: str, output_b: str
) -> str:
    values = {
        "key": question.key,
        "question": question.prompt,
        "guidelines": question.guidelines or "(none)",
        "input": input,
        "context": context_text(context),
        "output_a": output_a,
        "output_b": output_b,
    }
    # one pass over the placeholders: trace text containing braces is never re-interpreted
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), PAIRWISE_TEMPLATE)


def pairwise_messages(prompt: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f'{SYSTEM_PROMPT} The value must be one of "a", "b", "tie".'},
        {"role": "user", "content": prompt},
    ]


def parse_pairwise(content: str | None, question: Question) -> tuple[str, float | None, str]:
    """(choice, confidence, reason) from the model's reply; ValidationFailed names what is wrong (a value
    outside a, b, tie, or no reason)."""
    choice, confidence, rationale = parse_verdict(content, _CHOICE)
    if not rationale.strip():
        raise ValidationFailed(f"{question.key}: the reply gives no rationale (the reason for the choice)")
    return choice, confidence, rationale.strip()


def _tasks(
    engine: Engine,
    config_id: int,
    question: Question,
    pairs: list[ShadowPair],
    *,
    retry_errors: bool,
    batch: int = 100,
) -> Iterator[Task]:
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        with read_session(engine) as session:
            done_filter = [
                JudgeVerdict.judge_config_id == config_id,
                JudgeVerdict.question_key == question.key,
                col(JudgeVerdict.trace_id).in_([p.baseline_trace_id for p in chunk]),
            ]
            if retry_errors:
                done_filter.append(col(JudgeVerdict.error).is_(None))
            done = set(session.exec(select(JudgeVerdict.trace_id).where(*done_filter)).all())
            todo = [p for p in chunk if p.baseline_trace_id not in done]
            ids = [i for p in todo for i in (p.a_trace_id, p.b_trace_id)]
            texts = (
                {t.id: t for t in session.exec(select(Trace).where(col(Trace.id).in_(ids))).all()}
                if ids
                else {}
            )
            tasks = []
            for p in todo:
                a, b = texts[p.a_trace_id], texts[p.b_trace_id]
                baseline = texts[p.baseline_trace_id]
                prompt = render_pairwise_prompt(
                    question,
                    input=baseline.input,
                    context=baseline.context,
                    output_a=a.output,
                    output_b=b.output,
                )
                tasks.append(Task(p.baseline_trace_id, question, prompt, pairwise_messages(prompt)))
        yield from tasks


def run_pairwise_judge(
    engine: Engine,
    *,
    actor: Actor,
    config: str,
    candidate: str,
    baseline: str,
    limit: int | None = None,
    concurrency: int = 4,
    timeout_s: float = 60,
    max_retries: int = 3,
    budget_usd: float | None = None,
    mock_response: str | None = None,
    api_key: str | None = None,
    retry_errors: bool = False,
    backoff_s: float = 0.5,
) -> JudgeRunReport:
    """Judge every pairwise question of the config's rubric on the shadow pairs of `candidate` against
    `baseline` that lack this config's verdict (oldest production trace first, at most `limit` pairs).
    Failures become error verdicts and the run goes on, as in run_judge; the same budget rule."""
    require(actor, "run_judge")
    if concurrency < 1 or timeout_s <= 0 or max_retries < 0 or (limit is not None and limit < 0):
        raise ValidationFailed(
            "pairwise judge: concurrency >= 1, timeout_s > 0, max_retries >= 0, limit >= 0"
        )
    if budget_usd is not None and budget_usd < 0:
        raise ValidationFailed("pairwise judge: budget_usd must be >= 0")
    cfg, spec = load_config(engine, config)
    questions = [q for q in spec.questions if q.kind == PAIRWISE]
    if not questions:
        raise ValidationFailed(f"judge {cfg.name}@{cfg.version}: its rubric has no pairwise question")
    with read_session(engine) as session:
        pairs = shadow_pairs(session, candidate=candidate, baseline=baseline, limit=limit)
    shared = prepare_call(cfg, timeout_s=timeout_s, api_key=api_key, mock_response=mock_response)

    def every_task() -> Iterator[Task]:
        for q in questions:
            yield from _tasks(engine, cfg.id, q, pairs, retry_errors=retry_errors)

    return drive(
        engine,
        actor,
        cfg,
        every_task(),
        shared=shared,
        concurrency=concurrency,
        max_retries=max_retries,
        budget_usd=budget_usd,
        scheduled=False,
        backoff_s=backoff_s,
        parse=parse_pairwise,
    )
