"""One demo trace in words and numbers: the question, the answer (right, or subtly wrong), the retrieved
chunks, tokens, cost, latency, feedback, and the guardrail events its planned fate calls for."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from review_store.demo.text import (
    COUNTRIES,
    FIRST_NAMES,
    INJECTIONS,
    NOISE_CHUNKS,
    OFF_TOPIC,
    PII_SNIPPETS,
    POLICY_CHUNKS,
    REFUSAL,
    SCENARIOS,
    XSS_INPUT,
    XSS_OUTPUT,
)

SMALL_MODEL = "openai/gpt-4o-mini-2024-07-18"
LARGE_MODEL = "anthropic/claude-3-5-sonnet-20241022"
PRICES = {SMALL_MODEL: (0.15e-6, 0.60e-6), LARGE_MODEL: (3e-6, 15e-6)}  # usd per token in / out
PROMPT_VERSIONS = {"r1": "support-v1", "r2": "support-v2-short", "r3": "support-v3"}
GUARDRAIL_STAGE_ACTION = {
    "prompt_injection": ("input", "blocked"),
    "pii_detector": ("input", "redacted"),
    "off_topic": ("input", "flagged"),
    "grounding": ("output", "flagged"),
    "citation_check": ("output", "flagged"),
    "policy": ("output", "blocked"),
    "low_confidence": ("output", "escalated"),
}


@dataclass(slots=True)
class Truth:
    """What a careful human would answer about a trace (the simulations of judge and reviewers read it)."""

    correct: bool
    correctness: int
    groundedness: int
    tone: int
    issue: str


@dataclass(slots=True)
class TraceFate:
    """A trace's planned facts, decided by counts (quota.py) before any words are drawn."""

    ts: datetime
    segment: str
    r2_pct: int
    release: str = "r1"
    correct: bool = True
    input_guard: str | None = None
    output_guards: list[str] = field(default_factory=list)


def trace_row(
    rng: random.Random, i: int, fate: TraceFate
) -> tuple[dict[str, Any], Truth, list[dict[str, Any]]]:
    """The trace row (id i), its truth and its guardrail event rows."""
    segment, release, correct = fate.segment, fate.release, fate.correct
    question_t, good_t, bad_t, cited = rng.choice(SCENARIOS[segment])
    fill = {
        "days": rng.randint(3, 45),
        "order": f"ACME-{rng.randint(100000, 999999)}",
        "country": rng.choice(COUNTRIES),
        "email": f"{rng.choice(FIRST_NAMES)}@example.com",
    }
    question = question_t.format(**fill)
    answer = (good_t if correct else bad_t).format(**fill)
    model = LARGE_MODEL if segment == "technical" and rng.random() < 0.3 else SMALL_MODEL
    top_k = 3 if release == "r1" else 8
    top = rng.uniform(0.78, 0.95) if release == "r1" else rng.uniform(0.52, 0.84)
    chunks = [{"id": cited, "score": round(top, 3), "text": dict(POLICY_CHUNKS[segment])[cited]}]
    others = [c for c in POLICY_CHUNKS[segment] if c[0] != cited] + NOISE_CHUNKS
    for k, (cid, ctext) in enumerate(rng.sample(others, top_k - 1)):
        chunks.append(
            {"id": cid, "score": round(top - 0.05 * (k + 1) - rng.uniform(0, 0.04), 3), "text": ctext}
        )
    if fate.input_guard == "prompt_injection":
        question = rng.choice(INJECTIONS)
    elif fate.input_guard == "pii_detector":
        question += rng.choice(PII_SNIPPETS)
    elif fate.input_guard == "off_topic":
        question = rng.choice(OFF_TOPIC)
    names = ([fate.input_guard] if fate.input_guard else []) + fate.output_guards
    events = [
        {
            "trace_id": i,
            "ts": fate.ts,
            "name": name,
            "stage": GUARDRAIL_STAGE_ACTION[name][0],
            "action": GUARDRAIL_STAGE_ACTION[name][1],
            "score": round(rng.uniform(0.6, 0.99), 3),
            "segment": segment,
            "release": release,
        }
        for name in names
    ]
    blocked = any(e["action"] == "blocked" for e in events)
    if blocked:
        answer = REFUSAL
    cache_hit = rng.random() < 0.18
    tokens_in = 450 + 160 * top_k + rng.randint(0, 200)
    tokens_out = 40 if blocked else rng.randint(90, 240)
    price_in, price_out = PRICES[model]
    cost = 0.0 if cache_hit else tokens_in * price_in + tokens_out * price_out
    base_latency = 2300 if model == LARGE_MODEL else 1100
    latency = 150 + rng.lognormvariate(math.log(base_latency), 0.35) * (0.25 if cache_hit else 1)
    feedback_roll = rng.random()
    if correct:
        feedback = "up" if feedback_roll < 0.25 else ("down" if feedback_roll > 0.97 else None)
    else:
        feedback = "down" if feedback_roll < 0.35 else ("up" if feedback_roll > 0.95 else None)
    success = (correct and not blocked and rng.random() < 0.93) or (not correct and rng.random() < 0.1)
    truth = Truth(
        correct=correct,
        correctness=rng.choice((4, 5, 5)) if correct else rng.choice((1, 2, 2, 3)),
        groundedness=rng.choice((4, 5)) if correct else rng.choice((1, 2)),
        tone=rng.choice((2, 3, 4, 4, 5)),
        issue="none" if correct else rng.choice(("wrong_policy", "wrong_policy", "missing_information")),
    )
    row = {
        "id": i,
        "external_id": f"acme-{i:07d}",
        "ts": fate.ts,
        "app": "acme-support",
        "segment": segment,
        "release": release,
        "model": model,
        "prompt_version": PROMPT_VERSIONS[release],
        "input": question,
        "output": answer,
        "context": chunks,
        "latency_ms": round(latency, 1),
        "ttft_ms": round(latency * rng.uniform(0.15, 0.3), 1),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": round(cost, 7),
        "cost_source": "reported",
        "cache_hit": cache_hit,
        "user_feedback": feedback,
        "task_success": success,
        "top_retrieval_score": round(top, 3),
        "meta": {"channel": rng.choice(("web", "web", "email", "app"))},
    }
    return row, truth, events


def xss_row(i: int, ts: datetime) -> tuple[dict[str, Any], Truth]:
    """A trace whose input and output carry HTML: every page must show it as text."""
    row = {
        "id": i,
        "external_id": f"acme-{i:07d}",
        "ts": ts,
        "app": "acme-support",
        "segment": "technical",
        "release": "r2",
        "model": SMALL_MODEL,
        "prompt_version": PROMPT_VERSIONS["r2"],
        "input": XSS_INPUT,
        "output": XSS_OUTPUT,
        "context": [{"id": "kb-tech-01", "score": 0.41, "text": NOISE_CHUNKS[0][1]}],
        "latency_ms": 900.0,
        "ttft_ms": 240.0,
        "tokens_in": 700,
        "tokens_out": 40,
        "cost_usd": 0.00013,
        "cost_source": "reported",
        "cache_hit": False,
        "user_feedback": None,
        "task_success": True,
        "top_retrieval_score": 0.41,
        "meta": {"channel": "web"},
    }
    return row, Truth(True, 4, 5, 4, "none")
