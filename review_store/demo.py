"""The demo world: 30 days of Acme's RAG support assistant, deterministic for a seed and an end date.

The story it tells: r1 is known-good; r2 shortened the system prompt, raised top-k and dropped the
reranker, so answers in `refunds` lose their grounding, the grounding guardrail fires about three times
as often there and the judge misses some of it; r3 fixes it and waits for approval. Reviewers have
labelled about 300 items with overlap 2-3; the judge agrees well on correctness and poorly on tone.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from review_store import audit, golden, rubrics, users
from review_store.db import session_scope
from review_store.demo_text import (
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
from review_store.errors import DatabaseNotEmpty
from review_store.models import (
    Adjudication,
    Approval,
    Deployment,
    EvalRun,
    GatePolicy,
    GoldenExample,
    GuardrailEvent,
    JudgeConfig,
    JudgeRun,
    JudgeVerdict,
    Label,
    Release,
    ReviewItem,
    SamplingPolicy,
    Setting,
    Trace,
    User,
)
from review_store.permissions import SYSTEM

DAYS = 30
SMALL_MODEL = "openai/gpt-4o-mini-2024-07-18"
LARGE_MODEL = "anthropic/claude-3-5-sonnet-20241022"
PRICES = {SMALL_MODEL: (0.15e-6, 0.60e-6), LARGE_MODEL: (3e-6, 15e-6)}  # usd per token in / out
R2_CANARY = [(16.0, 5), (16.5, 25), (17.0, 50), (18.0, 100)]  # (day, percent)
R3_CREATED_DAY = 28

DEMO_USERS = [
    ("rita", "reviewer", "Rita Reviewer"),
    ("raj", "reviewer", "Raj Reviewer"),
    ("olivia", "owner", "Olivia Owner"),
    ("oscar", "owner", "Oscar Owner"),
    ("lena", "lead", "Lena Lead"),
    ("adam", "admin", "Adam Admin"),
]

RUBRIC_QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "correctness",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "prompt": "Is the answer factually correct?",
        "guidelines": "5 = fully correct and complete; 3 = partly correct; 1 = wrong or harmful. Check the facts "
        "against the retrieved policy, not against what sounds plausible.",
    },
    {
        "key": "groundedness",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "prompt": "Is every claim supported by the retrieved context?",
        "guidelines": "5 = every claim is in the cited chunks; 1 = key claims contradict or are absent from them "
        "(for example a 60-day window where the policy says 30).",
    },
    {
        "key": "tone",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "prompt": "Is the tone right for support?",
        "guidelines": "Friendly, direct, no blame, no filler. 5 = exemplary; 1 = rude or robotic.",
    },
    {
        "key": "issue_type",
        "kind": "label",
        "prompt": "Main problem, if any",
        "options": ["none", "wrong_policy", "missing_information", "unsafe", "other"],
        "guidelines": "Pick the most serious problem; 'none' when the answer is fine.",
    },
    {
        "key": "notes",
        "kind": "text",
        "prompt": "Notes",
        "required": False,
        "guidelines": "Optional: what a better answer would say.",
    },
]

JUDGE_TEMPLATE = (
    "You grade a customer-support answer.\nQuestion: {question}\nGuidelines: {guidelines}\n"
    "Allowed values: {allowed}\n\nCustomer: {input}\n\nRetrieved context:\n{context}\n\nAnswer: {output}\n\n"
    'Reply with JSON: {{"value": ..., "confidence": 0..1, "rationale": "..."}}'
)

MANIFESTS: dict[str, dict[str, Any]] = {
    "r1": {
        "prompts": {
            "system": "You are Acme's support assistant. Answer only from the retrieved policy chunks and "
            "cite each chunk you use as [chunk-id]. If the policy does not cover the question, "
            "say so and offer a handover to a human agent. Be friendly and brief.",
            "version": "support-v1",
        },
        "models": {"default": SMALL_MODEL, "technical_complex": LARGE_MODEL},
        "retrieval": {
            "embedding_model": "text-embedding-3-small",
            "chunk_size": 512,
            "top_k": 3,
            "reranker": "cohere/rerank-english-v3.0",
        },
        "tools": [{"name": "lookup_order", "description": "Find an order by its ACME number"}],
        "guardrails": {
            "input": ["pii_detector", "prompt_injection", "off_topic"],
            "output": ["grounding", "citation_check", "policy", "low_confidence"],
        },
    },
}
MANIFESTS["r2"] = {
    **MANIFESTS["r1"],
    "prompts": {
        "system": "You are Acme's support assistant. Be brief and helpful.",
        "version": "support-v2-short",
    },
    "retrieval": {
        "embedding_model": "text-embedding-3-small",
        "chunk_size": 512,
        "top_k": 8,
        "reranker": None,
    },
}
MANIFESTS["r3"] = {
    **MANIFESTS["r1"],
    "prompts": {
        "system": "You are Acme's support assistant. Answer only from the retrieved policy chunks and "
        "cite each chunk as [chunk-id]. Quote time limits and amounts exactly as the policy "
        "states them. If unsure, offer a handover. Be brief.",
        "version": "support-v3",
    },
    "retrieval": {
        "embedding_model": "text-embedding-3-small",
        "chunk_size": 512,
        "top_k": 5,
        "reranker": "cohere/rerank-english-v3.0",
    },
}

GATE_THRESHOLDS = [
    {"metric": "correctness_accuracy", "op": ">=", "threshold": 0.85},
    {"metric": "groundedness_rate", "op": ">=", "threshold": 0.90},
    {"metric": "groundedness_rate:refunds", "op": ">=", "threshold": 0.90},
    {"metric": "format_compliance", "op": ">=", "threshold": 0.98},
    {"metric": "hallucination_rate", "op": "<=", "threshold": 0.08},
    {"metric": "p95_latency_ms", "op": "<=", "threshold": 3500},
    {"metric": "cost_per_task_usd", "op": "<=", "threshold": 0.01},
]


def _eval_metrics(values: dict[str, float]) -> dict[str, Any]:
    judged = {
        "correctness_accuracy": "correctness",
        "groundedness_rate": "groundedness",
        "groundedness_rate:refunds": "groundedness",
        "hallucination_rate": "groundedness",
    }
    out: dict[str, Any] = {}
    for name, value in values.items():
        entry: dict[str, Any] = {"value": value}
        if name in judged:
            entry.update(judge="acme-judge@1", question=judged[name])
        if ":" in name:
            entry["segment"] = name.split(":", 1)[1]
        out[name] = entry
    return out


EVAL_VALUES = {
    "r1": {
        "correctness_accuracy": 0.91,
        "groundedness_rate": 0.95,
        "groundedness_rate:refunds": 0.94,
        "format_compliance": 0.995,
        "hallucination_rate": 0.04,
        "p95_latency_ms": 2400,
        "cost_per_task_usd": 0.0042,
    },
    "r2": {
        "correctness_accuracy": 0.86,
        "groundedness_rate": 0.89,
        "groundedness_rate:refunds": 0.71,
        "format_compliance": 0.993,
        "hallucination_rate": 0.11,
        "p95_latency_ms": 2100,
        "cost_per_task_usd": 0.0036,
    },
    "r3": {
        "correctness_accuracy": 0.92,
        "groundedness_rate": 0.95,
        "groundedness_rate:refunds": 0.93,
        "format_compliance": 0.996,
        "hallucination_rate": 0.035,
        "p95_latency_ms": 2300,
        "cost_per_task_usd": 0.0039,
    },
}


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


def default_end() -> datetime:
    """Midnight UTC today: the demo's 30 days end now, so 'last 7 days' shows data."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def build_demo(
    engine: Engine,
    *,
    seed: int = 7,
    traces: int = 5000,
    end: datetime | None = None,
    force: bool = False,
    password: str | None = None,
) -> dict[str, Any]:
    """Fill the database with the demo world; refuses a non-empty database unless force (then wipes it).

    Passwords are random unless `password` is given (tests); they are returned once, never stored in clear.
    """
    end = end or default_end()
    start = end - timedelta(days=DAYS)
    with Session(engine) as session:
        has_data = (
            session.exec(select(func.count()).select_from(Trace)).one()
            or session.exec(select(func.count()).select_from(User)).one()
        )
    if has_data and not force:
        raise DatabaseNotEmpty(
            "the database already holds data; use --force to replace it with the demo world"
        )
    if has_data:
        _wipe(engine)
    rng = random.Random(seed)
    summary = DemoSummary(start=start, end=end)
    with session_scope(engine) as session:
        ids = _people_and_config(session, summary, start, password)
        truths = _traffic(session, rng, summary, start, traces)
        _verdicts(session, rng, summary, truths, ids)
        _review(session, rng, summary, truths, ids, start, end)
        _releases(session, ids, start)
        _reset_sequences(session)
    return summary.as_dict()


def _wipe(engine: Engine) -> None:
    from sqlmodel import SQLModel

    with session_scope(engine) as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.exec(table.delete())


def _people_and_config(session: Session, summary: DemoSummary, start: datetime, password: str | None) -> dict:
    ids: dict[str, Any] = {}
    for username, role, name in DEMO_USERS:
        secret = password or secrets.token_urlsafe(9)
        user = users.add_user(
            session,
            actor=SYSTEM,
            username=username,
            role=role,
            password=secret,
            display_name=name,
            email=f"{username}@acme.example",
        )
        user.created_at = start
        ids[username] = user.id
        summary.credentials[username] = secret
    rubric = rubrics.create_rubric(session, actor=SYSTEM, name="acme-support", questions=RUBRIC_QUESTIONS)
    rubric.created_at = start
    ids["rubric"] = rubric.id
    for version, note in ((1, ""), (2, "Tone: judge against the examples in the style guide, not length.")):
        config = JudgeConfig(
            name="acme-judge",
            version=version,
            model=SMALL_MODEL,
            rubric_id=rubric.id,
            prompt_template=JUDGE_TEMPLATE + (f"\n{note}" if note else ""),
            params={"temperature": 0},
            content_hash=hashlib.sha256(f"acme-judge-{version}-{note}".encode()).hexdigest(),
            created_by="lena",
            created_at=start + timedelta(days=version * 10 - 10),
        )
        session.add(config)
        session.flush()
        ids[f"judge{version}"] = config.id
        audit.record(
            session,
            actor="lena",
            action="judge_config.create",
            entity="judge_config",
            entity_id=f"acme-judge@{version}",
            payload={"model": SMALL_MODEL},
        )
    policy = SamplingPolicy(
        version=1,
        daily_quota=60,
        overlap_k=2,
        created_by="lena",
        created_at=start,
        strategies=[
            {"strategy": "random", "share": 0.5},
            {"strategy": "low_score", "share": 0.2},
            {"strategy": "guardrail", "share": 0.15},
            {"strategy": "thumbs_down", "share": 0.15},
        ],
        content_hash="",
    )
    policy.content_hash = hashlib.sha256(audit.canonical_json(policy.strategies).encode()).hexdigest()
    session.add(policy)
    session.flush()
    ids["policy"] = policy.id
    audit.record(
        session, actor="lena", action="sampling_policy.create", entity="sampling_policy", entity_id=1
    )
    session.add(
        Setting(
            key="cost.budget", value={"period": "month", "usd": 40.0}, updated_by="lena", updated_at=start
        )
    )
    audit.record(
        session,
        actor="lena",
        action="setting.put",
        entity="setting",
        entity_id="cost.budget",
        payload={"to": {"period": "month", "usd": 40.0}},
    )
    return ids


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
        "prompt_version": MANIFESTS[release]["prompts"]["version"],
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


def _judge_value(rng: random.Random, truth_value: int, noise: float) -> int:
    if rng.random() < noise:
        return max(1, min(5, truth_value + rng.choice((-2, -1, 1, 2))))
    return truth_value


def _verdicts(
    session: Session, rng: random.Random, summary: DemoSummary, truths: list[_Truth], ids: dict
) -> None:
    rows: list[dict[str, Any]] = []
    releases = dict(session.exec(select(Trace.id, Trace.release)).all())
    segments = dict(session.exec(select(Trace.id, Trace.segment)).all())
    stamps = dict(session.exec(select(Trace.id, Trace.ts)).all())
    for trace_id, truth in enumerate(truths, start=1):
        missed = releases[trace_id] == "r2" and segments[trace_id] == "refunds" and not truth.correct
        values = {
            "correctness": _judge_value(rng, truth.correctness, 0.06),
            "groundedness": rng.choice((3, 4))
            if missed and rng.random() < 0.35
            else _judge_value(rng, truth.groundedness, 0.05),
            "tone": rng.randint(1, 5) if rng.random() < 0.7 else truth.tone,
        }
        for key, value in values.items():
            confidence = round(rng.betavariate(8, 2), 3)
            rows.append(
                {
                    "trace_id": trace_id,
                    "judge_config_id": ids["judge1"],
                    "question_key": key,
                    "value": value,
                    "score": float(value),
                    "confidence": confidence,
                    "rationale": f"{key} {value}/5: "
                    + (
                        "matches the cited policy."
                        if value >= 4
                        else "conflicts with or is missing from the context."
                    ),
                    "cost_usd": 0.00012,
                    "latency_ms": round(rng.uniform(400, 1400), 1),
                    "error": None,
                    "created_at": summary.start + timedelta(days=DAYS - 1),
                    "trace_ts": stamps[trace_id],
                    "segment": segments[trace_id],
                    "release": releases[trace_id],
                }
            )
        if len(rows) >= 6000:
            session.execute(insert(JudgeVerdict), rows)
            summary.verdicts += len(rows)
            rows.clear()
    if rows:
        session.execute(insert(JudgeVerdict), rows)
        summary.verdicts += len(rows)
    run = JudgeRun(
        judge_config_id=ids["judge1"],
        started_at=summary.start + timedelta(days=DAYS - 1),
        finished_at=summary.start + timedelta(days=DAYS - 1, hours=1),
        n_ok=summary.verdicts,
        cost_usd=round(0.00012 * summary.verdicts, 4),
        triggered_by="lena",
        scheduled=True,
    )
    session.add(run)
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id="acme-judge@1",
        payload={"verdicts": summary.verdicts},
    )


def _human(rng: random.Random, truth: _Truth, careful: float) -> dict[str, Any]:
    def near(value: int, p: float) -> int:
        return max(1, min(5, value + rng.choice((-1, 1)))) if rng.random() < p else value

    return {
        "correctness": near(truth.correctness, 0.12 / careful),
        "groundedness": near(truth.groundedness, 0.10 / careful),
        "tone": near(truth.tone, 0.30 / careful),
        "issue_type": truth.issue if rng.random() < 0.9 else "other",
        "notes": "" if truth.correct else "Policy says 30 days / see cited chunk.",
    }


def _judge_v2(session, rng, summary, truths, ids, trace_ids) -> None:
    """acme-judge@2 (better tone guidelines, pricier) judged only the labelled traces: a trend to show."""
    rows = []
    copies = {
        t: (ts, seg, rel)
        for t, ts, seg, rel in session.exec(
            select(Trace.id, Trace.ts, Trace.segment, Trace.release).where(Trace.id.in_(trace_ids))
        ).all()
    }
    for trace_id in trace_ids:
        truth = truths[trace_id - 1]
        ts, segment, release = copies[trace_id]
        values = {
            "correctness": _judge_value(rng, truth.correctness, 0.06),
            "groundedness": _judge_value(rng, truth.groundedness, 0.05),
            "tone": rng.randint(1, 5) if rng.random() < 0.25 else _judge_value(rng, truth.tone, 0.1),
        }
        for key, value in values.items():
            rows.append(
                {
                    "trace_id": trace_id,
                    "judge_config_id": ids["judge2"],
                    "question_key": key,
                    "value": value,
                    "score": float(value),
                    "confidence": round(rng.betavariate(8, 2), 3),
                    "rationale": f"{key} {value}/5 (v2 guidelines).",
                    "cost_usd": 0.00018,
                    "latency_ms": round(rng.uniform(500, 1600), 1),
                    "error": None,
                    "created_at": summary.start + timedelta(days=DAYS - 2),
                    "trace_ts": ts,
                    "segment": segment,
                    "release": release,
                }
            )
    session.execute(insert(JudgeVerdict), rows)
    summary.verdicts += len(rows)
    session.add(
        JudgeRun(
            judge_config_id=ids["judge2"],
            started_at=summary.start + timedelta(days=DAYS - 2),
            finished_at=summary.start + timedelta(days=DAYS - 2, minutes=20),
            n_ok=len(rows),
            cost_usd=round(0.00018 * len(rows), 4),
            triggered_by="lena",
        )
    )
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id="acme-judge@2",
        payload={"verdicts": len(rows)},
    )


def _review(session, rng, summary, truths, ids, start, end) -> None:  # noqa: C901 (one linear story)
    n = len(truths)
    reviewers = [ids["rita"], ids["raj"]]
    candidates = list(range(1, n))
    rng.shuffle(candidates)
    labelled, open_items = candidates[:300], candidates[300:450]
    _judge_v2(session, rng, summary, truths, ids, sorted(labelled))
    reasons = ["random"] * 5 + ["low_score", "guardrail", "thumbs_down", "stratified", "low_confidence"]
    done_day0 = DAYS - 14
    for idx, trace_id in enumerate(sorted(labelled)):
        k = 3 if idx % 4 == 0 else 2
        created = start + timedelta(days=done_day0 + rng.uniform(0, 12))
        item = ReviewItem(
            trace_id=trace_id,
            queue="sampled",
            reason=rng.choice(reasons),
            priority=0,
            overlap_k=k,
            status="done",
            labels_done=k,
            sampling_policy_id=ids["policy"],
            created_at=created,
        )
        session.add(item)
        session.flush()
        answers = []
        for r, reviewer in enumerate(reviewers + ([ids["lena"]] if k == 3 else [])):
            ans = _human(rng, truths[trace_id - 1], 1.3 if r == 2 else 1.0)
            answers.append(ans)
            session.add(
                Label(
                    item_id=item.id,
                    reviewer_id=reviewer,
                    rubric_id=ids["rubric"],
                    answers=ans,
                    seconds_spent=round(rng.uniform(12, 75), 1),
                    source="demo",
                    created_at=created + timedelta(minutes=5 + r * 7),
                )
            )
        spread = max(abs(a["correctness"] - b["correctness"]) for a in answers for b in answers)
        if spread >= 2 or len({a["issue_type"] for a in answers}) > 1 and rng.random() < 0.3:
            item.status = "adjudication"
            if rng.random() < 0.5:
                final = dict(answers[0], correctness=truths[trace_id - 1].correctness)
                session.add(
                    Adjudication(
                        item_id=item.id,
                        adjudicator_id=ids["lena"],
                        rubric_id=ids["rubric"],
                        answers=final,
                        note="Checked against the cited policy.",
                        created_at=created + timedelta(hours=6),
                    )
                )
                item.status = "done"
        session.add(item)
        summary.labels += k
    for trace_id in sorted(open_items):
        session.add(
            ReviewItem(
                trace_id=trace_id,
                queue="sampled",
                reason=rng.choice(reasons),
                overlap_k=2,
                status="open",
                sampling_policy_id=ids["policy"],
                created_at=end - timedelta(hours=rng.uniform(1, 72)),
            )
        )
    session.add(
        ReviewItem(
            trace_id=n,
            queue="sampled",
            reason="thumbs_down",
            overlap_k=2,
            status="open",
            priority=5,
            sampling_policy_id=ids["policy"],
            created_at=end - timedelta(hours=2),
        )
    )
    escalation_reasons = [
        "guardrail: prompt_injection blocked",
        "judge confidence below 0.5",
        "reviewer flag",
    ]
    for j, trace_id in enumerate(candidates[450:462]):
        age = [2, 5, 20, 30, 50, 70][j % 6]
        session.add(
            ReviewItem(
                trace_id=trace_id,
                queue="escalation",
                reason="guardrail" if j % 3 == 0 else ("low_confidence" if j % 3 == 1 else "flag"),
                overlap_k=1,
                status="escalated",
                priority=10,
                escalated_at=end - timedelta(hours=age),
                escalation_reason=escalation_reasons[j % 3],
                created_at=end - timedelta(hours=age),
            )
        )
    session.flush()
    summary.items = session.exec(select(func.count()).select_from(ReviewItem)).one()
    golden_items = session.exec(
        select(ReviewItem).where(ReviewItem.status == "done").order_by(ReviewItem.id)
    ).all()
    for item in golden_items[:40]:
        trace = session.get(Trace, item.trace_id)
        truth = truths[item.trace_id - 1]
        session.add(
            GoldenExample(
                trace_id=trace.id,
                item_id=item.id,
                input=trace.input,
                expected_output=trace.output
                if truth.correct
                else "(corrected) Answer strictly from the cited policy.",
                expected_labels={"correctness": truth.correctness, "groundedness": truth.groundedness},
                tags=[trace.segment],
                added_by="rita",
                created_at=item.created_at + timedelta(hours=1),
            )
        )
    audit.record(
        session,
        actor="demo",
        action="review.seed",
        entity="review_item",
        entity_id="demo",
        payload={"labelled": len(labelled), "open": len(open_items) + 1, "escalated": 12},
    )


def _releases(session: Session, ids: dict, start: datetime) -> None:
    golden_version = golden.version_hash(session)
    old_golden = hashlib.sha256(b"golden-set-before-refunds-slice").hexdigest()
    policy = GatePolicy(
        version=1,
        thresholds=GATE_THRESHOLDS,
        created_by="lena",
        created_at=start,
        content_hash=hashlib.sha256(audit.canonical_json(GATE_THRESHOLDS).encode()).hexdigest(),
    )
    session.add(policy)
    session.flush()
    audit.record(session, actor="lena", action="gate_policy.create", entity="gate_policy", entity_id=1)
    plan = [
        ("r1", "olivia", "known_good", None, -2),
        ("r2", "oscar", "live", "r1", 15),
        ("r3", "olivia", "candidate", "r2", R3_CREATED_DAY),
    ]
    release_ids: dict[str, int] = {}
    for name, author, status, parent, day in plan:
        manifest = MANIFESTS[name]
        release = Release(
            name=name,
            manifest=manifest,
            author_id=ids[author],
            status=status,
            manifest_hash=hashlib.sha256(audit.canonical_json(manifest).encode()).hexdigest(),
            parent_id=release_ids.get(parent),
            created_at=start + timedelta(days=day),
        )
        session.add(release)
        session.flush()
        release_ids[name] = release.id
        audit.record(
            session,
            actor=author,
            action="release.create",
            entity="release",
            entity_id=name,
            payload={"manifest_hash": release.manifest_hash},
        )
        golden_for_run = old_golden if name == "r1" else golden_version
        session.add(
            EvalRun(
                release_id=release.id,
                golden_set_version=golden_for_run,
                source="demo eval job",
                metrics=_eval_metrics(EVAL_VALUES[name]),
                created_by="ci",
                created_at=start + timedelta(days=day, hours=2),
            )
        )
        audit.record(session, actor="ci", action="eval.record", entity="release", entity_id=name)
    # r2 was signed off on evidence from the older golden set, which had no refunds slice.
    r2_evidence = {k: v for k, v in _eval_metrics(EVAL_VALUES["r2"]).items() if "refunds" not in k}
    r2_evidence["hallucination_rate"] = {"value": 0.06, "judge": "acme-judge@1", "question": "groundedness"}
    session.add(
        EvalRun(
            release_id=release_ids["r2"],
            golden_set_version=old_golden,
            source="demo eval job",
            metrics=r2_evidence,
            created_by="ci",
            created_at=start + timedelta(days=15, hours=1),
        )
    )
    for name, approver, day in (("r1", "oscar", -1.5), ("r2", "olivia", 15.5)):
        session.add(
            Approval(
                release_id=release_ids[name],
                approver_id=ids[approver],
                decision="approved",
                comment="Evidence reviewed; gates pass.",
                gate_policy_id=policy.id,
                evidence_hash=hashlib.sha256(f"{name}-evidence".encode()).hexdigest(),
                created_at=start + timedelta(days=day),
            )
        )
        audit.record(session, actor=approver, action="release.approve", entity="release", entity_id=name)
    steps = [("r1", d, pct) for d, pct in ((-1.4, 5), (-1.2, 25), (-1.0, 50), (-0.5, 100))]
    steps += [("r2", d, pct) for d, pct in R2_CANARY]
    for name, day, pct in steps:
        session.add(
            Deployment(
                release_id=release_ids[name],
                kind="canary",
                stage_pct=pct,
                actor="oscar",
                created_at=start + timedelta(days=day),
            )
        )
        audit.record(
            session,
            actor="oscar",
            action="release.promote",
            entity="release",
            entity_id=name,
            payload={"stage_pct": pct},
        )
    session.add(
        Deployment(
            release_id=release_ids["r1"],
            kind="health_check",
            stage_pct=100,
            healthy=True,
            known_good=True,
            actor="system",
            note="post-deploy health check passed",
            created_at=start + timedelta(days=-0.4),
        )
    )
    audit.record(
        session,
        actor="system",
        action="release.health_check",
        entity="release",
        entity_id="r1",
        payload={"healthy": True},
    )


def _reset_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL sequences behind; move each to its table's max id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("trace", "guardrailevent", "judgeverdict"):
        session.exec(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        )
