"""Demo world releases: r1 known-good, r2 live with its refunds regression, r3 the candidate; their
manifests, eval evidence, gate policy, approvals and canary steps."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from review_store import golden
from review_store.demo.story import Story
from review_store.demo.traffic import R2_CANARY
from review_store.demo.words import LARGE_MODEL, PROMPT_VERSIONS, SMALL_MODEL
from review_store.hashing import content_hash
from review_store.models import (
    Approval,
    Deployment,
    EvalRun,
    Release,
)

__all__ = ["EVAL_VALUES", "GATE_THRESHOLDS", "MANIFESTS", "R3_CREATED_DAY", "eval_metrics", "write_releases"]

R3_CREATED_DAY = 28
OLD_GOLDEN = content_hash("golden-set-before-refunds-slice")
# (name, author, status, parent, created day, approver, approved day, canary steps (day, percent))
PLAN = [
    ("r1", "olivia", "known_good", None, -2, "oscar", -1.5, [(-1.4, 5), (-1.2, 25), (-1.0, 50), (-0.5, 100)]),
    ("r2", "oscar", "live", "r1", 15, "olivia", 15.5, R2_CANARY),
    ("r3", "olivia", "candidate", "r2", R3_CREATED_DAY, None, None, []),
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


def eval_metrics(values: dict[str, float]) -> dict[str, Any]:
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


def write_releases(session: Session, story: Story, ids: dict[str, Any], names: tuple[str, ...]) -> None:
    """Releases `names` with their eval runs, approvals, canary steps and (r1) health check.

    r1 is written before the judge configs exist (day -2); r2 and r3 after the review work, because r3's
    eval run names the golden set version the reviewers' examples make.
    """
    golden_version = golden.version_hash(session) if names != ("r1",) else OLD_GOLDEN
    for name, author, status, parent, day, approver, approved_day, steps in PLAN:
        if name not in names:
            continue
        manifest = MANIFESTS[name]
        created = story.day(day)
        release = Release(
            name=name,
            manifest=manifest,
            author_id=ids[author],
            status=status,
            manifest_hash=content_hash(manifest),
            parent_id=ids.get(f"release:{parent}"),
            created_at=created,
        )
        session.add(release)
        session.flush()
        ids[f"release:{name}"] = release.id
        story.audit(
            created,
            actor=author,
            action="release.create",
            entity="release",
            entity_id=name,
            payload={"manifest_hash": release.manifest_hash},
        )
        runs = [(EVAL_VALUES[name], OLD_GOLDEN if name == "r1" else golden_version, 2)]
        if name == "r2":
            # r2 was signed off on evidence from the older golden set, which had no refunds slice.
            evidence = {k: v for k, v in EVAL_VALUES["r2"].items() if "refunds" not in k}
            runs.insert(0, ({**evidence, "hallucination_rate": 0.06}, OLD_GOLDEN, 1))
        for values, golden_set, hours in runs:
            at = story.day(day, hours=hours)
            session.add(
                EvalRun(
                    release_id=release.id,
                    golden_set_version=golden_set,
                    source="demo eval job",
                    metrics=eval_metrics(values),
                    created_by="ci",
                    created_at=at,
                )
            )
            story.audit(at, actor="ci", action="eval.record", entity="release", entity_id=name)
        if approver:
            at = story.day(approved_day)
            session.add(
                Approval(
                    release_id=release.id,
                    approver_id=ids[approver],
                    decision="approved",
                    comment="Evidence reviewed; gates pass.",
                    gate_policy_id=ids["gate_policy"],
                    evidence_hash=content_hash(f"{name}-evidence"),
                    created_at=at,
                )
            )
            story.audit(at, actor=approver, action="release.approve", entity="release", entity_id=name)
        for step_day, pct in steps:
            at = story.day(step_day)
            session.add(
                Deployment(release_id=release.id, kind="canary", stage_pct=pct, actor="oscar", created_at=at)
            )
            story.audit(
                at,
                actor="oscar",
                action="release.promote",
                entity="release",
                entity_id=name,
                payload={"stage_pct": pct},
            )
        if name == "r1":
            at = story.day(-0.4)
            session.add(
                Deployment(
                    release_id=release.id,
                    kind="health_check",
                    stage_pct=100,
                    healthy=True,
                    known_good=True,
                    actor="system",
                    note="post-deploy health check passed",
                    created_at=at,
                )
            )
            story.audit(
                at,
                actor="system",
                action="release.health_check",
                entity="release",
                entity_id="r1",
                payload={"healthy": True},
            )
