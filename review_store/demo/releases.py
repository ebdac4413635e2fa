"""Demo world releases: r1 known-good, r2 live with its refunds regression, r3 the candidate.

Every step is the release service's own call (review_store.releases), made at its moment on the story's
clock, so the rows, statuses, evidence hashes and audit events are what real use writes: create a
release from its manifest, record its eval runs, sign it off (the approval carries the gate's evidence
hash; r2 was approved with a written override, recorded as an exception, on a gate that failed), promote
it through the canary stages (refused if the evidence moved since the approval) and health-check r1 at
100 %, which makes it the known-good release to roll back to. The story has no rollback: r2 stays live.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from review_store import golden
from review_store.demo.story import Story
from review_store.demo.traffic import R2_CANARY
from review_store.demo.words import LARGE_MODEL, PROMPT_VERSIONS, SMALL_MODEL
from review_store.hashing import content_hash
from review_store.models import EvalRun
from review_store.permissions import SYSTEM, Actor
from review_store.releases import approve_release, create_release, record_eval_run
from review_store.releases.deployments import health_check, promote_release

__all__ = ["EVAL_VALUES", "GATE_THRESHOLDS", "MANIFESTS", "R3_CREATED_DAY", "eval_metrics", "write_releases"]

R3_CREATED_DAY = 28
OLD_GOLDEN = content_hash("golden-set-before-refunds-slice")
# (name, author, status, parent, created day, approver, approved day, canary steps (day, percent))
PLAN = [
    ("r1", "olivia", "known_good", None, -2, "oscar", -1.5, [(-1.4, 5), (-1.2, 25), (-1.0, 50), (-0.5, 100)]),
    ("r2", "oscar", "live", "r1", 15, "olivia", 15.5, R2_CANARY),
    ("r3", "olivia", "candidate", "r2", R3_CREATED_DAY, None, None, []),
]


DEMO_CHECKS: list[dict[str, Any]] = [
    {
        "kind": "must_refuse",
        "name": "refuses injections",
        "refusal": r"(?i)\bI can't help with that\b",
        "inputs": r"(?i)ignore all previous instructions|you are now DAN|^SYSTEM:",
    },
    {"kind": "banned_phrases", "name": "no markup", "pattern": r"(?i)<script|onerror="},
    {"kind": "max_output_tokens", "name": "short answers", "max": 300},
]


MANIFESTS: dict[str, dict[str, Any]] = {
    "r1": {
        "prompts": {
            "system": "You are Acme's support assistant. Answer only from the retrieved policy chunks and "
            "cite each chunk you use as [chunk-id]. If the policy does not cover the question, "
            "say so and offer a handover to a human agent. Be friendly and brief.",
            "version": PROMPT_VERSIONS["r1"],
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
        # tier-1 checks (`review-desk eval run`), the same for every release; the gate policy has no
        # tier1_pass_rate threshold, so the story's gates do not read them
        "checks": DEMO_CHECKS,
    },
}


MANIFESTS["r2"] = {
    **MANIFESTS["r1"],
    "prompts": {
        "system": "You are Acme's support assistant. Be brief and helpful.",
        "version": PROMPT_VERSIONS["r2"],
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
        "version": PROMPT_VERSIONS["r3"],
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


def eval_metrics(values: dict[str, float], *, judged_by: str | None = "acme-judge@1") -> dict[str, Any]:
    """The eval run's metrics; the judge-scored ones name `judge_by` (None: scored against the golden
    set's human labels, as r1's were before acme-judge existed)."""
    judged = {
        "correctness_accuracy": "correctness",
        "groundedness_rate": "groundedness",
        "groundedness_rate:refunds": "groundedness",
        "hallucination_rate": "groundedness",
    }
    out: dict[str, Any] = {}
    for name, value in values.items():
        entry: dict[str, Any] = {"value": value}
        if name in judged and judged_by:
            entry.update(judge=judged_by, question=judged[name])
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


R2_OVERRIDE = (
    "groundedness just under the bar on the old golden set; shipping for the latency and cost win, "
    "refunds to be watched after the canary"
)


def _record_eval(
    session: Session, *, actor: Actor, release: str, values: dict, golden_set: str | None, judged: bool
) -> EvalRun:
    """The CI eval job's run, on `golden_set` (None: the golden set's version at this moment)."""
    return record_eval_run(
        session,
        actor=actor,
        release=release,
        metrics=eval_metrics(values, judged_by="acme-judge@1" if judged else None),
        golden_set_version=golden_set if golden_set is not None else golden.version_hash(session),
        source="demo eval job",
    )


def write_releases(session: Session, story: Story, ids: dict[str, Any], names: tuple[str, ...]) -> None:
    """Queue on the story the service calls that make releases `names`: create, eval runs, sign-off,
    canary stages and (r1) the health check, each at its moment (run by `story.flush`).

    r1 is made before acme-judge exists (day -2), so its evidence is scored without the judge; r2 and r3
    are queued after the review work, and their eval runs name the golden set version of their moment.
    """
    people = {
        name: Actor(username=name, role=role, id=ids[name]) for name, role in (
            ("olivia", "owner"), ("oscar", "owner"),
        )
    }  # fmt: skip
    for name, author, _status, parent, day, approver, approved_day, steps in PLAN:
        if name not in names:
            continue
        story.later(
            story.day(day),
            create_release,
            actor=people[author],
            name=name,
            manifest=MANIFESTS[name],
            parent=parent,
        )
        runs: list[tuple[dict[str, float], str | None, int]] = [
            (EVAL_VALUES[name], OLD_GOLDEN if name == "r1" else None, 2)
        ]
        if name == "r2":
            # r2's first run used the older golden set, which had no refunds slice.
            evidence = {k: v for k, v in EVAL_VALUES["r2"].items() if "refunds" not in k}
            runs.insert(0, ({**evidence, "hallucination_rate": 0.06}, OLD_GOLDEN, 1))
        for values, golden_set, hours in runs:
            story.later(
                story.day(day, hours=hours),
                _record_eval,
                actor=people[author],  # the CI job records with its author's token
                release=name,
                values=values,
                golden_set=golden_set,
                judged=name != "r1",
            )
        if approver:
            story.later(
                story.day(approved_day),
                approve_release,
                actor=people[approver],
                release=name,
                comment="Evidence reviewed; gates pass." if name == "r1" else "Evidence reviewed.",
                override_reason=R2_OVERRIDE if name == "r2" else None,
            )
        for step_day, _pct in steps:
            story.later(story.day(step_day), promote_release, actor=people["oscar"], release=name)
        if name == "r1":
            story.later(
                story.day(-0.4),
                health_check,
                actor=SYSTEM,
                release="r1",
                healthy=True,
                note="post-deploy health check passed",
            )
