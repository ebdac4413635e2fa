"""Small builders for store tests, so each test states only what matters to it."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from review_store.models import GuardrailEvent, Trace, User
from review_store.permissions import Actor
from review_store.rollups.maintain import add_traces

_counter = itertools.count(1)
BASE_TIME = datetime(2026, 1, 5, 12, 0, 0)


def make_user(session: Session, *, role: str = "reviewer", username: str | None = None) -> Actor:
    """A user row written directly (no audit), returned as the Actor the store functions take."""
    username = username or f"{role}{next(_counter)}"
    user = User(username=username, role=role, display_name=username.title())
    session.add(user)
    session.flush()
    return Actor(username=user.username, role=user.role, id=user.id)


def make_trace(session: Session, **fields: Any) -> Trace:
    n = next(_counter)
    values: dict[str, Any] = {
        "external_id": f"t-{n}",
        "ts": BASE_TIME + timedelta(minutes=n),
        "app": "acme-support",
        "segment": "billing",
        "release": "r1",
        "model": "openai/gpt-4o-mini-2024-07-18",
        "prompt_version": "support-v1",
        "input": f"question {n}",
        "output": f"answer {n}",
        "context": [],
        "latency_ms": 1000.0,
        "tokens_in": 500,
        "tokens_out": 100,
        "cost_usd": 0.001,
    }
    values.update(fields)
    trace = Trace(**values)
    session.add(trace)
    session.flush()
    add_traces(session.connection(), [trace.model_dump()])  # as every writer does
    return trace


def make_guardrail_event(session: Session, trace: Trace, **fields: Any) -> GuardrailEvent:
    values: dict[str, Any] = {
        "trace_id": trace.id,
        "ts": trace.ts,
        "name": "grounding",
        "stage": "output",
        "action": "flagged",
        "score": 0.9,
        "segment": trace.segment,
        "release": trace.release,
    }
    values.update(fields)
    event = GuardrailEvent(**values)
    session.add(event)
    session.flush()
    add_traces(session.connection(), [], [event.model_dump()])
    return event


def cli_token(url: str, username: str) -> dict[str, str]:
    """The environment that lets a CLI test act as `username` (`--as`): a fresh personal token of theirs.

    Issued in-process by the built-in system identity, as an admin would with `review-desk users token`.
    """
    from review_store.desk import SYSTEM, Desk

    issued = Desk.open(url).users.issue_token(actor=SYSTEM, username=username, label="test")
    return {"REVIEW_DESK_TOKEN": issued.secret}
