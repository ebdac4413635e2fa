"""Demo world releases: r1 known-good, r2 live with its refunds regression, r3 the candidate; their
manifests, eval evidence, gate policy, approvals and canary steps."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from review_store import audit, golden
from review_store.demo.traffic import LARGE_MODEL, PROMPT_VERSIONS, R2_CANARY, SMALL_MODEL
from review_store.hashing import content_hash
from review_store.models import (
    Approval,
    Deployment,
    EvalRun,
    GatePolicy,
    Release,
)

R3_CREATED_DAY = 28


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


def _releases(session: Session, ids: dict, start: datetime) -> None:
    golden_version = golden.version_hash(session)
    old_golden = hashlib.sha256(b"golden-set-before-refunds-slice").hexdigest()
    policy = GatePolicy(
        version=1,
        thresholds=GATE_THRESHOLDS,
        created_by="lena",
        created_at=start,
        content_hash=content_hash(GATE_THRESHOLDS),
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
            manifest_hash=content_hash(manifest),
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
