"""Releases: manifests, gate, four-eyes sign-off, evidence hash, canary and rollback (both backends)."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from review_store import releases
from review_store.db import make_engine, read_session, session_scope
from review_store.errors import ConflictError, PermissionDenied, ValidationFailed
from review_store.judge.agreement import judge_trust
from review_store.models import Approval, AuditEvent, Deployment
from review_store.permissions import actor_for
from review_store.releases import deployments, manifests
from tests.factories import make_user

MANIFEST = {
    "prompts": {"system": "Answer only from the policy. Cite chunks.", "version": "v1"},
    "models": {"default": "openai/gpt-4o-mini-2024-07-18"},
    "retrieval": {
        "embedding_model": "text-embedding-3-small",
        "chunk_size": 512,
        "top_k": 3,
        "reranker": None,
    },
    "tools": [{"name": "lookup_order", "description": "Find an order"}],
    "guardrails": {"input": ["pii"], "output": ["grounding"]},
}
POLICY = [
    {"metric": "accuracy", "op": ">=", "threshold": 0.85},
    {"metric": "p95_latency_ms", "op": "<=", "threshold": 3000},
]


def _world(engine, *, accuracy: float = 0.9):
    """author (owner), another owner, a reviewer and a lead; a gate policy; release c1 with one eval run."""
    with session_scope(engine) as s:
        people = {
            "author": make_user(s, role="owner", username="author"),
            "owner": make_user(s, role="owner", username="owner2"),
            "reviewer": make_user(s, role="reviewer", username="rev"),
            "lead": make_user(s, role="lead", username="lead"),
        }
        releases.create_gate_policy(s, actor=people["lead"], thresholds=POLICY)
        releases.create_release(s, actor=people["author"], name="c1", manifest=MANIFEST)
        releases.record_eval_run(
            s, actor=people["lead"], release="c1", metrics={"accuracy": accuracy, "p95_latency_ms": 2000}
        )
    return people


def _ship(engine, people, name: str) -> None:
    """Approve (by the non-author owner), promote to 100 % and pass the health check."""
    with session_scope(engine) as s:
        releases.approve_release(s, actor=people["owner"], release=name, comment="looks good")
    for _ in deployments.STAGES:
        with session_scope(engine) as s:
            deployments.promote_release(s, actor=people["owner"], release=name)
    with session_scope(engine) as s:
        deployments.health_check(s, actor=people["owner"], release=name, healthy=True)


def test_manifest_hash_is_canonical_and_prompts_are_hashed():
    reordered = json.loads(json.dumps(MANIFEST))
    reordered = {k: reordered[k] for k in reversed(list(reordered))}
    assert manifests.manifest_hash(MANIFEST) == manifests.manifest_hash(reordered)
    import hashlib

    assert manifests.prompt_hashes(MANIFEST) == {
        "system": hashlib.sha256(MANIFEST["prompts"]["system"].encode()).hexdigest()
    }


def test_unpinned_model_aliases_are_warned_about():
    assert not manifests.model_warnings(MANIFEST)
    loose = dict(MANIFEST, models={"default": "openai/gpt-4o", "big": "anthropic/claude-3-5-sonnet-latest"})
    warnings = manifests.model_warnings(loose)
    assert len(warnings) == 2 and "gpt-4o" in warnings[1] and "not pinned" in warnings[0]
    for pinned in ("gpt-4-0613", "anthropic/claude-3-5-sonnet-20241022", "gemini-1.5-pro-002"):
        assert manifests.is_pinned(pinned), pinned


def test_bad_manifest_names_line_and_field():
    with pytest.raises(ValidationFailed, match=r"m.yaml:3: not valid"):
        manifests.parse_manifest("prompts:\n  system: hi\n  - stray\n", source="m.yaml")
    with pytest.raises(ValidationFailed, match="retrieval.top_k"):
        manifests.parse_manifest(json.dumps(dict(MANIFEST, retrieval={"top_k": 0})), source="m.json")
    with pytest.raises(ValidationFailed, match="unknown section"):
        manifests.parse_manifest(json.dumps(dict(MANIFEST, extra=1)))


def test_diff_per_component_with_prompt_text_diff():
    new = dict(
        MANIFEST, prompts={"system": "Answer only from the policy. Quote limits exactly.", "version": "v2"}
    )
    new["retrieval"] = dict(MANIFEST["retrieval"], top_k=5)
    parts = {d.component: d for d in manifests.diff_manifests(MANIFEST, new, a_name="a", b_name="b")}
    assert not parts["models"].changed and not parts["tools"].changed
    assert parts["retrieval"].changes == [{"field": "top_k", "from": 3, "to": 5}]
    text = parts["prompts"].text_diff
    assert "--- a/prompts/system" in text and "-Cite chunks." in text and "+Quote limits exactly." in text


def test_author_reviewer_and_lead_cannot_approve(engine):
    people = _world(engine)
    for who, error in (
        ("author", PermissionDenied),
        ("reviewer", PermissionDenied),
        ("lead", PermissionDenied),
    ):
        with pytest.raises(error), session_scope(engine) as s:
            releases.approve_release(s, actor=people[who], release="c1", comment="ok")
    with read_session(engine) as s:
        assert s.exec(select(Approval)).all() == []
        assert releases.get_release(s, name="c1").status == "candidate"


def test_failing_gate_needs_an_override_recorded_as_exception(engine):
    people = _world(engine, accuracy=0.7)
    with pytest.raises(ConflictError, match="override"), session_scope(engine) as s:
        releases.approve_release(s, actor=people["owner"], release="c1", comment="ship it")
    with session_scope(engine) as s:
        approval = releases.approve_release(
            s, actor=people["owner"], release="c1", comment="ship it", override_reason="hotfix for outage"
        )
        assert approval.override_reason == "hotfix for outage"
    with read_session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "release.approve")).one()
        payload = json.loads(event.payload)
        assert payload["exception"] is True and payload["gate_passed"] is False
        ((first, _approver),) = releases.approvals(s, release="c1")
        assert first.override_reason == "hotfix for outage"


def test_rejected_release_cannot_be_promoted(engine):
    people = _world(engine)
    with session_scope(engine) as s:
        releases.reject_release(s, actor=people["owner"], release="c1", comment="not convinced")
    with pytest.raises(ConflictError, match="rejected"), session_scope(engine) as s:
        deployments.promote_release(s, actor=people["owner"], release="c1")


def test_canary_stages_are_recorded_and_health_check_marks_known_good(engine):
    people = _world(engine)
    _ship(engine, people, "c1")
    with read_session(engine) as s:
        steps = s.exec(select(Deployment).order_by(Deployment.id)).all()
        assert [(d.kind, d.stage_pct) for d in steps] == [
            ("canary", 5),
            ("canary", 25),
            ("canary", 50),
            ("canary", 100),
            ("health_check", 100),
        ]
        assert deployments.known_good_release(s).name == "c1"


def test_new_evidence_after_approval_blocks_promotion(engine):
    people = _world(engine)
    with session_scope(engine) as s:
        releases.approve_release(s, actor=people["owner"], release="c1", comment="ok")
    with session_scope(engine) as s:
        releases.record_eval_run(
            s, actor=people["lead"], release="c1", metrics={"accuracy": 0.99, "p95_latency_ms": 1}
        )
    with (
        pytest.raises(ConflictError, match="evidence changed since it was approved"),
        session_scope(engine) as s,
    ):
        deployments.promote_release(s, actor=people["owner"], release="c1")


def test_rollback_restores_the_exact_known_good_manifest(engine):
    people = _world(engine)
    _ship(engine, people, "c1")
    changed = dict(MANIFEST, retrieval=dict(MANIFEST["retrieval"], top_k=8, reranker=None))
    with session_scope(engine) as s:
        releases.create_release(s, actor=people["author"], name="c2", manifest=changed, parent="c1")
        releases.record_eval_run(
            s, actor=people["lead"], release="c2", metrics={"accuracy": 0.9, "p95_latency_ms": 1}
        )
    with session_scope(engine) as s:
        releases.approve_release(s, actor=people["owner"], release="c2", comment="ok")
    for _ in deployments.STAGES:
        with session_scope(engine) as s:
            deployments.promote_release(s, actor=people["owner"], release="c2")
    with read_session(engine) as s:
        good_hash = releases.get_release(s, name="c1").manifest_hash
        assert deployments.deployed_manifest(s)["release"] == "c2"
        assert deployments.deployed_manifest(s)["manifest_hash"] != good_hash
    with session_scope(engine) as s:
        deployments.rollback(s, actor=people["owner"], reason="grounding alerts")
    with read_session(engine) as s:
        deployed = deployments.deployed_manifest(s)
        assert deployed["release"] == "c1"
        assert deployed["manifest_hash"] == good_hash == manifests.manifest_hash(deployed["manifest"])
        assert releases.get_release(s, name="c2").status == "rolled_back"
        assert releases.get_release(s, name="c1").status == "live"


def test_reviewer_asking_the_store_to_approve_gets_the_domain_error(demo_engine):
    with (
        pytest.raises(PermissionDenied, match="only owners|may not approve"),
        session_scope(demo_engine) as s,
    ):
        releases.approve_release(s, actor=actor_for(s, "rita"), release="r3", comment="lgtm")


# --- the demo world -------------------------------------------------------------------------------------


def test_demo_gate_r2_fails_on_refunds_groundedness_and_r3_passes(demo_any_url):
    from review_store.db import make_engine

    engine = make_engine(demo_any_url)
    with read_session(engine) as s:
        r2, r3 = releases.gate(s, release="r2"), releases.gate(s, release="r3")
    engine.dispose()
    assert not r2.passed and r3.passed
    refunds = next(r for r in r2.rows if r.metric == "groundedness_rate:refunds")
    assert not refunds.passed and refunds.value == 0.71 and refunds.judge_trusted is True


def _reference_table(session: Session, question: str) -> tuple[np.ndarray, int]:
    """Judge (row 0) vs the per-item human reference (adjudicated, else median), straight from the rows."""
    bind = session.get_bind()
    labels = pd.read_sql(
        "SELECT r.trace_id, l.item_id, l.answers FROM label l JOIN reviewitem r ON r.id = l.item_id", bind
    )
    labels["v"] = [(json.loads(a) if isinstance(a, str) else a).get(question) for a in labels["answers"]]
    labels = labels.dropna(subset=["v"])  # a label of the shadow review answers only the pairwise question
    adj = pd.read_sql("SELECT item_id, answers FROM adjudication", bind)
    adj = {
        i: (json.loads(a) if isinstance(a, str) else a)[question]
        for i, a in zip(adj.item_id, adj.answers, strict=True)
    }
    ref = labels.groupby(["trace_id", "item_id"])["v"].median().reset_index()
    ref["v"] = [adj.get(i, v) for i, v in zip(ref.item_id, ref.v, strict=True)]
    verdicts = pd.read_sql(
        "SELECT v.trace_id, v.score FROM judgeverdict v JOIN judgeconfig c ON c.id = v.judge_config_id "
        f"WHERE c.name = 'acme-judge' AND c.version = 1 AND v.question_key = '{question}'",
        bind,
    )
    both = ref.merge(verdicts, on="trace_id")
    data = np.array([both["score"].to_numpy(float), both["v"].to_numpy(float)])
    return data, len(both)


def _independent_alpha(session: Session, question: str) -> tuple[float, int]:
    data, n = _reference_table(session, question)
    return krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"), n


def _independent_ci(session: Session, question: str, resamples: int = 1000) -> tuple[float, float]:
    """Percentile bootstrap over items, drawing item indices with numpy and alpha from the package."""
    data, _ = _reference_table(session, question)
    rng = np.random.default_rng(123)
    alphas = []
    for _ in range(resamples):
        sample = data[:, rng.integers(0, data.shape[1], data.shape[1])]
        if len(np.unique(sample)) > 1:
            alphas.append(krippendorff.alpha(reliability_data=sample, level_of_measurement="ordinal"))
    lo, hi = np.percentile(alphas, [2.5, 97.5])
    return float(lo), float(hi)


def test_demo_judge_trust_correctness_and_groundedness_trusted_tone_not(demo_engine):
    with read_session(demo_engine) as s:
        results = {
            q: judge_trust(s, judge="acme-judge@1", question=q)
            for q in ("correctness", "groundedness", "tone")
        }
        for q, result in results.items():
            alpha, n = _independent_alpha(s, q)
            assert result.alpha == pytest.approx(alpha, abs=1e-9) and result.n_items == n
            lo, hi = _independent_ci(s, q)  # another RNG: the same interval up to bootstrap noise
            assert result.ci_low == pytest.approx(lo, abs=0.03) and result.ci_high == pytest.approx(
                hi, abs=0.03
            )
    assert results["correctness"].trusted and results["groundedness"].trusted
    assert not results["tone"].trusted
    assert [results[q].verdict for q in ("correctness", "groundedness", "tone")] == [
        "trusted",
        "trusted",
        "untrusted",
    ]
    assert results["tone"].reason.startswith("judge not trusted for tone: alpha 0.")
    assert results["correctness"].ci_low >= 0.80 > results["tone"].ci_low
    assert results["tone"].judge == "acme-judge@1" and results["tone"].question == "tone"


def test_untrusted_judge_row_fails_closed(demo_engine):
    with session_scope(demo_engine) as s:
        lena = actor_for(s, "lena")
        releases.create_gate_policy(
            s, actor=lena, thresholds=[{"metric": "tone_score", "op": ">=", "threshold": 3.5}]
        )
        releases.record_eval_run(
            s,
            actor=lena,
            release="r3",
            metrics={"tone_score": {"value": 4.6, "judge": "acme-judge@1", "question": "tone"}},
        )
    with read_session(demo_engine) as s:
        result = releases.gate(s, release="r3")
    (row,) = result.rows
    assert row.value == 4.6 and not row.passed and row.judge_trusted is False
    assert row.note.startswith("judge not trusted for tone: alpha") and "CI" in row.note
    with read_session(demo_engine) as s:  # the gate's note is the Agreement page's trust reason
        assert row.note == judge_trust(s, judge="acme-judge@1", question="tone").reason


# --- the facade: desk.releases ------------------------------------------------------------------------


def _desk(url: str):
    from review_store.desk import Desk

    return Desk.open(url)


def test_sign_off_blockers_are_one_rule_for_page_and_store(engine, db_url):
    people = _world(engine, accuracy=0.7)  # the gate fails
    desk = _desk(db_url)
    author = desk.releases.sign_off_status(actor=people["author"], release="c1")
    assert [b.rule for b in author.approve_blockers] == ["author", "gate"]
    assert not author.can_approve and not author.can_reject
    owner = desk.releases.sign_off_status(actor=people["owner"], release="c1")
    assert [b.rule for b in owner.approve_blockers] == ["gate"] and owner.can_reject
    assert desk.releases.sign_off_status(
        actor=people["owner"], release="c1", override_reason="hotfix"
    ).can_approve
    # the store refuses with the very first blocker the page shows
    with pytest.raises(PermissionDenied) as refused:
        desk.releases.approve(actor=people["author"], release="c1", comment="mine")
    assert str(refused.value) == author.approve_reason
    with pytest.raises(ConflictError) as gate_refused:
        desk.releases.approve(actor=people["owner"], release="c1", comment="ok")
    assert str(gate_refused.value) == owner.approve_reason
    with pytest.raises(ValidationFailed, match="comment"):
        desk.releases.reject(actor=people["owner"], release="c1", comment="  ")
    assert desk.releases.get("c1").status == "candidate" and desk.releases.approvals("c1") == ()
    done = desk.releases.reject(actor=people["owner"], release="c1", comment="not convinced")
    assert done.decision == "rejected" and done.approver == "owner2"
    after = desk.releases.sign_off_status(actor=people["owner"], release="c1")
    assert [b.rule for b in after.reject_blockers] == ["status"]


def test_facade_rollout_returns_committed_state(engine, db_url):
    people = _world(engine)
    desk = _desk(db_url)
    seen = desk.releases.gate("c1").evidence_hash
    approval = desk.releases.approve(
        actor=people["owner"], release="c1", comment="ok", seen_evidence_hash=seen
    )
    assert approval.evidence_hash == seen and desk.releases.get("c1").status == "approved"
    stages = [
        desk.releases.promote(actor=people["owner"], release="c1").stage_pct for _ in deployments.STAGES
    ]
    assert stages == list(deployments.STAGES)
    assert desk.releases.get("c1").stage_pct == 100 and desk.releases.list().live == "c1"
    step = desk.releases.health_check(actor=people["owner"], release="c1", healthy=True)
    assert step.known_good and desk.releases.list().known_good == "c1"
    with pytest.raises(ConflictError, match="only an approved release"):
        desk.releases.promote(actor=people["owner"], release="c1")
    with pytest.raises(ConflictError, match="nothing to roll back"):
        desk.releases.rollback(actor=people["owner"])
    assert desk.releases.get("c1").status == "known_good"


def test_gate_asks_trust_for_the_metrics_segment(demo_db_url):
    """A segment metric is judged on that segment's agreement: the gate's verdict is judge_trust's."""
    desk = _desk(demo_db_url)
    r3 = desk.releases.gate("r3")
    refunds = next(r for r in r3.rows if r.metric == "groundedness_rate:refunds")
    assert refunds.segment == "refunds" and refunds.judge_trusted is True
    engine = make_engine(demo_db_url)
    with read_session(engine) as s:
        trust = judge_trust(s, judge="acme-judge@1", question="groundedness", segment="refunds")
        overall = judge_trust(s, judge="acme-judge@1", question="groundedness")
    engine.dispose()
    assert refunds.note == trust.reason and trust.n_items < overall.n_items


def test_gate_refuses_a_segment_metric_when_that_segment_is_untrusted(demo_engine, demo_db_url):
    """Trusted overall but not in the metric's segment (too few items there): the segment row fails,
    with judge_trust's own reason for that segment."""
    from review_store import settings

    with session_scope(demo_engine) as s:
        lena = actor_for(s, "lena")
        overall_n = judge_trust(s, judge="acme-judge@1", question="correctness").n_items
        billing_n = judge_trust(s, judge="acme-judge@1", question="correctness", segment="billing").n_items
        assert billing_n < overall_n
        settings.put(s, actor=lena, key="judge.trust", value={"min_items": billing_n + 1})
        releases.create_gate_policy(
            s, actor=lena, thresholds=[{"metric": "correctness:billing", "op": ">=", "threshold": 0.5}]
        )
        metric = {"value": 0.95, "judge": "acme-judge@1", "question": "correctness", "segment": "billing"}
        releases.record_eval_run(s, actor=lena, release="r3", metrics={"correctness:billing": metric})
    with read_session(demo_engine) as s:
        overall = judge_trust(s, judge="acme-judge@1", question="correctness")
        billing = judge_trust(s, judge="acme-judge@1", question="correctness", segment="billing")
    assert overall.trusted and not billing.trusted, (overall.reason, billing.reason)
    (row,) = _desk(demo_db_url).releases.gate("r3").rows
    assert row.value == 0.95 and not row.passed and row.judge_trusted is False
    assert row.note == billing.reason
