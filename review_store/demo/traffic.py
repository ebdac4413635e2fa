"""Demo world traffic: 30 days of traces with their guardrail events, and the latent truth behind each
(what a careful human would answer), which the judge and reviewer simulations read."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, func, select

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
    SEGMENT_WEIGHTS,
    SEGMENTS,
    XSS_INPUT,
    XSS_OUTPUT,
)
from review_store.models import (
    GuardrailEvent,
    Trace,
)

DAYS = 30


SMALL_MODEL = "openai/gpt-4o-mini-2024-07-18"


LARGE_MODEL = "anthropic/claude-3-5-sonnet-20241022"


PRICES = {SMALL_MODEL: (0.15e-6, 0.60e-6), LARGE_MODEL: (3e-6, 15e-6)}  # usd per token in / out


PROMPT_VERSIONS = {"r1": "support-v1", "r2": "support-v2-short", "r3": "support-v3"}
R2_CANARY = [(16.0, 5), (16.5, 25), (17.0, 50), (18.0, 100)]  # (day, percent)


@dataclass
class _Truth:
    correct: bool
    correctness: int
    groundedness: int
    tone: int
    issue: str


@dataclass
class DemoSummary:
    traces: int = 0
    guardrail_events: int = 0
    verdicts: int = 0
    labels: int = 0
    items: int = 0
    start: datetime | None = None
    end: datetime | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _timestamps(rng: random.Random, start: datetime, n: int) -> list[datetime]:
    """n times over 30 days: weekends at 45% of weekday traffic, office hours busiest."""
    day_weights = [0.45 if (start + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(DAYS)]
    hour_weights = [0.25 + math.exp(-((h - 13.5) ** 2) / 18) for h in range(24)]
    days = rng.choices(range(DAYS), weights=day_weights, k=n)
    hours = rng.choices(range(24), weights=hour_weights, k=n)
    stamps = [
        start + timedelta(days=d, hours=h, seconds=rng.randrange(3600))
        for d, h in zip(days, hours, strict=True)
    ]
    return sorted(stamps)


def _release_at(rng: random.Random, day: float) -> str:
    share = 0
    for canary_day, pct in R2_CANARY:
        if day >= canary_day:
            share = pct
    return "r2" if rng.random() * 100 < share else "r1"


def _traffic(
    session: Session, rng: random.Random, summary: DemoSummary, start: datetime, n: int
) -> list[_Truth]:
    trace_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    truths: list[_Truth] = []
    for i, ts in enumerate(_timestamps(rng, start, n), start=1):
        day = (ts - start).total_seconds() / 86400
        segment = rng.choices(SEGMENTS, weights=SEGMENT_WEIGHTS)[0]
        release = _release_at(rng, day)
        row, truth, events = _one_trace(rng, i, ts, segment, release)
        trace_rows.append(row)
        truths.append(truth)
        event_rows.extend(events)
        if len(trace_rows) >= 2000:
            _flush(session, trace_rows, event_rows)
    _flush(session, trace_rows, event_rows)
    xss = _xss_trace(n + 1, start + timedelta(days=DAYS - 1, hours=10))
    session.execute(insert(Trace), [xss])
    truths.append(_Truth(True, 4, 5, 4, "none"))
    summary.traces = n + 1
    summary.guardrail_events = session.exec(select(func.count()).select_from(GuardrailEvent)).one()
    return truths


def _flush(session: Session, trace_rows: list, event_rows: list) -> None:
    if trace_rows:
        session.execute(insert(Trace), trace_rows)
    if event_rows:
        session.execute(insert(GuardrailEvent), event_rows)
    trace_rows.clear()
    event_rows.clear()


def _xss_trace(i: int, ts: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "external_id": f"acme-{i:07d}",
        "ts": ts,
        "app": "acme-support",
        "segment": "technical",
        "release": "r2",
        "model": SMALL_MODEL,
        "prompt_version": "support-v2-short",
        "input": XSS_INPUT,
        "output": XSS_OUTPUT,
        "context": [{"id": "kb-tech-01", "score": 0.41, "text": NOISE_CHUNKS[0][1]}],
        "latency_ms": 900.0,
        "ttft_ms": 240.0,
        "tokens_in": 700,
        "tokens_out": 40,
        "cost_usd": 0.00013,
        "cache_hit": False,
        "user_feedback": None,
        "task_success": True,
        "top_retrieval_score": 0.41,
        "meta": {"channel": "web"},
    }


def _one_trace(rng: random.Random, i: int, ts: datetime, segment: str, release: str):
    question_t, good_t, bad_t, cited = rng.choice(SCENARIOS[segment])
    fill = {
        "days": rng.randint(3, 45),
        "order": f"ACME-{rng.randint(100000, 999999)}",
        "country": rng.choice(COUNTRIES),
        "email": f"{rng.choice(FIRST_NAMES)}@example.com",
    }
    question = question_t.format(**fill)
    wrong_p = 0.06 if release == "r1" else (0.30 if segment == "refunds" else 0.08)
    correct = rng.random() >= wrong_p
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
    events: list[dict[str, Any]] = []

    def event(name: str, stage: str, action: str) -> None:
        events.append(
            {
                "trace_id": i,
                "ts": ts,
                "name": name,
                "stage": stage,
                "action": action,
                "score": round(rng.uniform(0.6, 0.99), 3),
                "segment": segment,
                "release": release,
            }
        )

    roll = rng.random()
    blocked = False
    if roll < 0.006:
        question, blocked = rng.choice(INJECTIONS), True
        event("prompt_injection", "input", "blocked")
    elif roll < 0.026:
        question += rng.choice(PII_SNIPPETS)
        event("pii_detector", "input", "redacted")
    elif roll < 0.041:
        question = rng.choice(OFF_TOPIC)
        event("off_topic", "input", "flagged")
    if not correct and rng.random() < 0.45 or rng.random() < 0.015:
        event("grounding", "output", "flagged")
    if rng.random() < 0.01:
        event("citation_check", "output", "flagged")
    if not blocked and rng.random() < 0.003:
        blocked = True
        event("policy", "output", "blocked")
    if rng.random() < 0.01:
        event("low_confidence", "output", "escalated")
    if blocked:
        answer, correct = REFUSAL, True
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
    grounded = rng.choice((4, 5)) if correct else rng.choice((1, 2))
    truth = _Truth(
        correct=correct,
        correctness=rng.choice((4, 5, 5)) if correct else rng.choice((1, 2, 2, 3)),
        groundedness=grounded,
        tone=rng.choice((2, 3, 4, 4, 5)),
        issue="none" if correct else rng.choice(("wrong_policy", "wrong_policy", "missing_information")),
    )
    row = {
        "id": i,
        "external_id": f"acme-{i:07d}",
        "ts": ts,
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
        "cache_hit": cache_hit,
        "user_feedback": feedback,
        "task_success": success,
        "top_retrieval_score": round(top, 3),
        "meta": {"channel": rng.choice(("web", "web", "email", "app"))},
    }
    return row, truth, events
