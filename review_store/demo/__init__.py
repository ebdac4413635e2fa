"""The demo world: 30 days of Acme's RAG support assistant, deterministic for a seed and an end date.

The story it tells: r1 is known-good; r2 shortened the system prompt, raised top-k and dropped the
reranker, so answers in `refunds` lose their grounding, the grounding guardrail fires about three times
as often there and the judge misses some of it; r3 fixes it and waits for approval. Reviewers have
labelled about 300 items with overlap 2-3; the judge agrees well on correctness and poorly on tone.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from review_store import audit, clock, rubrics, users
from review_store.db import session_scope
from review_store.demo.releases import _releases
from review_store.demo.review import _review, _verdicts
from review_store.demo.traffic import (
    DAYS,
    SMALL_MODEL,
    DemoSummary,
    _traffic,
)
from review_store.errors import DatabaseNotEmpty
from review_store.hashing import content_hash
from review_store.models import (
    JudgeConfig,
    SamplingPolicy,
    Setting,
    Trace,
    User,
)
from review_store.permissions import SYSTEM

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


def default_end() -> datetime:
    """Midnight UTC today: the demo's 30 days end now, so 'last 7 days' shows data."""
    return clock.now().replace(hour=0, minute=0, second=0, microsecond=0)


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
    policy.content_hash = content_hash(policy.strategies)
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


def _reset_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL sequences behind; move each to its table's max id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("trace", "guardrailevent", "judgeverdict"):
        session.exec(
            sql_text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        )
