"""The demo world's people and configuration: six users, the rubric, two judge versions, the sampling
policy, the cost budget and the gate policy, each saved through the store's own functions at its moment
on the story's clock."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session

from review_store import rubrics, sampling, settings, users
from review_store.demo.releases import GATE_THRESHOLDS
from review_store.demo.story import Story
from review_store.demo.words import SMALL_MODEL
from review_store.judge.config import create_judge_config
from review_store.permissions import SYSTEM, Actor
from review_store.releases.gate import create_gate_policy

__all__ = ["DEMO_USERS", "JUDGE_TEMPLATE", "RUBRIC_QUESTIONS", "write_config", "write_people"]

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
        "anchors": {
            "1": "Wrong or harmful",
            "2": "Mostly wrong",
            "3": "Partly correct",
            "4": "Correct, minor gaps",
            "5": "Fully correct and complete",
        },
    },
    {
        "key": "groundedness",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "prompt": "Is every claim supported by the retrieved context?",
        "guidelines": "5 = every claim is in the cited chunks; 1 = key claims contradict or are absent from them "
        "(for example a 60-day window where the policy says 30).",
        "anchors": {
            "1": "Unsupported: contradicts or ignores the context",
            "3": "Partly supported",
            "5": "Fully supported by the cited context",
        },
    },
    {
        "key": "tone",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "prompt": "Is the tone right for support?",
        "guidelines": "Friendly, direct, no blame, no filler. 5 = exemplary; 1 = rude or robotic.",
        "anchors": {"1": "Rude or robotic", "3": "Acceptable, some filler", "5": "Exemplary"},
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


def write_people(
    session: Session, story: Story, ids: dict[str, Any], password: str | None, credentials: dict[str, str]
) -> None:
    """The users (a week before the world starts), the rubric and the gate policy the releases are judged by."""
    for username, role, name in DEMO_USERS:
        secret = password or secrets.token_urlsafe(9)
        user = story.call(
            session,
            story.day(-7),
            users.add_user,
            actor=SYSTEM,
            username=username,
            role=role,
            password=secret,
            display_name=name,
            email=f"{username}@acme.example",
        )
        ids[username] = user.id
        credentials[username] = secret
    lena = Actor(username="lena", role="lead", id=ids["lena"])
    ids["rubric"] = story.call(
        session,
        story.day(-7, hours=2),
        rubrics.create_rubric,
        actor=lena,
        name="acme-support",
        questions=RUBRIC_QUESTIONS,
    ).id
    ids["gate_policy"] = story.call(
        session, story.day(-3), create_gate_policy, actor=lena, thresholds=GATE_THRESHOLDS
    ).id


def write_config(session: Session, story: Story, ids: dict[str, Any]) -> None:
    """Judge v1, the sampling policy and the budget on day 0; judge v2 (tone guidelines) on day 10."""
    lena = Actor(username="lena", role="lead", id=ids["lena"])
    for version, day, note in (
        (1, 0, ""),
        (2, 10, "Tone: judge against the examples in the style guide, not length."),
    ):
        story.later(  # queued: run in time order with the review work (story.flush)
            story.day(day, hours=1),
            create_judge_config,
            actor=lena,
            name="acme-judge",
            model=SMALL_MODEL,
            prompt_template=JUDGE_TEMPLATE + (f"\n{note}" if note else ""),
            rubric_id=ids["rubric"],
            params={"temperature": 0},
        )
        if version == 1:
            ids["policy"] = story.call(
                session,
                story.day(0, hours=2),
                sampling.save_policy,
                actor=lena,
                strategies=[
                    {"strategy": "random", "share": 0.5},
                    {"strategy": "low_score", "share": 0.2},
                    {"strategy": "guardrail", "share": 0.15},
                    {"strategy": "thumbs_down", "share": 0.15},
                ],
                daily_quota=60,
                overlap_k=2,
            ).id
            story.call(
                session,
                story.day(0, hours=3),
                settings.put,
                actor=lena,
                key="cost.budget",
                value={"period": "month", "usd": 40.0},
            )
