"""Demo world shadow run: r3 answers a sample of r2's production inputs in shadow, reviewers and a judge
compare the pairs blind, and the gate makes that comparison a rule.

On day 28, once r3 exists, Lena adds a pairwise question to the rubric (acme-support v2), creates a pairwise
judge (acme-pairwise@1) and a gate policy version whose `pairwise:preference` row asks that r3 hold
within a margin of MARGIN against r2. r3 then replays SHADOW_PAIRS of r2's earlier production inputs (each
shadow trace names the production trace it shadows); Rita and Raj compare each pair on the Review page's
A/B view (the labels are written in bulk, as the rest of the demo's), and the judge compares them too. A
few of the newest open items also get a shadow, so the Review page has pairs to answer.

By construction r3 is never worse, whatever the seed and end date: where r2's answer was right, r3 gives the
same answer (a tie); where it was wrong, r3 answers from the cited policy chunk (the golden set's corrected
answer). So every human outcome is a win or a tie for r3, delta >= 0, the bootstrap CI's lower end is >= 0,
and the rule holds for r3; r2 has no shadow run, so its row fails (it fails on its evals anyway).

Nothing here draws from the story's generator: a generator of its own (seeded from the world's seed) picks
the sample, so every other number of the story is unchanged.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from review_store import audit, clock, rubrics
from review_store.demo.releases import GATE_THRESHOLDS, R3_CREATED_DAY
from review_store.demo.review import corrected_answer
from review_store.demo.setup import RUBRIC_QUESTIONS
from review_store.demo.story import Story
from review_store.demo.traffic import BuildCounts, TraceFacts
from review_store.demo.words import PROMPT_VERSIONS, SMALL_MODEL
from review_store.judge.config import create_judge_config, get_judge_config
from review_store.models import JudgeRun, JudgeVerdict, Label, ReviewItem, Trace
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.permissions import Actor
from review_store.releases.gate import create_gate_policy
from review_store.rollups.maintain import add_traces, add_verdicts

__all__ = ["MARGIN", "PAIRWISE_QUESTION", "SHADOW_PAIRS", "write_shadow_run"]

SHADOW_PAIRS = 48  # labelled pairs: half where r2 was wrong (when there are that many), half right
OPEN_PAIRS = 4  # the newest open r2 items get a shadow too: pairs left for the Review page
MARGIN = 0.05
JUDGE_TIES = 3  # pairs the judge calls a tie where the reviewers saw r3 better
PAIRWISE_QUESTION: dict[str, Any] = {
    "key": "preference",
    "kind": "pairwise",
    "prompt": "Which answer is better?",
    "guidelines": "Correct and grounded in the cited policy first, then complete, then tone. "
    "Tie when they say the same thing.",
}
PAIRWISE_THRESHOLD = {"metric": f"pairwise:{PAIRWISE_QUESTION['key']}", "op": ">=", "threshold": -MARGIN}
_TRACE_COLUMNS = (
    "app", "segment", "model", "input", "context", "latency_ms", "ttft_ms", "tokens_in", "tokens_out",
    "cost_usd", "cost_source", "cache_hit", "task_success", "top_retrieval_score", "meta", "tenant", "end_user",
)  # fmt: skip


def _sample(rng: random.Random, facts: list[TraceFacts], taken: set[int], before) -> list[TraceFacts]:
    """r2's production traces before the replay, not blocked and not yet in the queue: half wrong answers
    (r2's regression), half right ones, as far as there are."""
    pool = [
        f for f in facts[:-1] if f.release == "r2" and not f.blocked and f.id not in taken and f.ts < before
    ]
    wrong = [f for f in pool if not f.truth.correct]
    right = [f for f in pool if f.truth.correct]
    n_wrong = min(len(wrong), SHADOW_PAIRS // 2)
    picks = rng.sample(wrong, n_wrong) + rng.sample(right, min(len(right), SHADOW_PAIRS - n_wrong))
    return sorted(picks, key=lambda f: f.id)


def _reason(outcome: str, candidate_is_a: bool) -> str:
    if outcome == "tie":
        return "Both say the same thing and cite the same policy chunk."
    better, worse = ("A", "B") if candidate_is_a else ("B", "A")
    return f"{better} states the policy as the cited chunk does; {worse} contradicts it."


def write_shadow_run(
    session: Session,
    rng_seed: int,
    story: Story,
    counts: BuildCounts,
    facts: list[TraceFacts],
    ids: dict[str, Any],
) -> None:
    """Run after the releases are queued (write_releases r2, r3): the rubric, judge and policy versions at
    their moments, then the shadow traces, the pairwise items and labels, and the judge's verdicts."""
    rng = random.Random(f"demo-shadow:{rng_seed}")
    lena = Actor(username="lena", role="lead", id=ids["lena"])
    start = story.day(R3_CREATED_DAY, hours=3)  # r3 exists (day 28) and its eval job ran (+2 h)
    rubric = story.call(
        session,
        story.day(R3_CREATED_DAY, hours=2, minutes=30),
        rubrics.create_rubric,
        actor=lena,
        name="acme-support",
        questions=[*RUBRIC_QUESTIONS, PAIRWISE_QUESTION],
    )
    story.later(
        story.day(R3_CREATED_DAY, hours=2, minutes=40),
        create_judge_config,
        actor=lena,
        name="acme-pairwise",
        model=SMALL_MODEL,
        rubric_id=rubric.id,
        params={"temperature": 0},
    )
    story.later(
        story.day(R3_CREATED_DAY, hours=2, minutes=50),
        create_gate_policy,
        actor=lena,
        thresholds=[*GATE_THRESHOLDS, PAIRWISE_THRESHOLD],
    )
    with_items = set(session.exec(select(ReviewItem.trace_id)).all())
    pairs = _sample(rng, facts, with_items, before=start)
    open_items = session.exec(
        select(ReviewItem.trace_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(ReviewItem.status == "open", Trace.release == "r2", col(Trace.ts) < start)
        .order_by(col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc())
        .limit(OPEN_PAIRS)
    ).all()
    by_id = {f.id: f for f in facts}
    shadowed = [f.id for f in pairs] + [t for t in open_items if t in by_id and not by_id[t].blocked]
    _write_shadows(session, story, counts, shadowed, by_id, start)
    outcomes, keys = _write_labels(session, rng, story, counts, pairs, rubric.id, ids, start)
    _queue_judge(story, counts, pairs, outcomes, keys, start)


def _write_shadows(session, story, counts, shadowed, by_id, start) -> None:
    rows = session.exec(select(Trace).where(col(Trace.id).in_(shadowed)).order_by(col(Trace.id))).all()
    next_id = max(by_id) + 1
    out = []
    for n, prod in enumerate(rows):
        correct = by_id[prod.id].truth.correct
        row = {name: getattr(prod, name) for name in _TRACE_COLUMNS}
        row.update(
            id=next_id + n,
            external_id=f"acme-shadow-{next_id + n:07d}",
            ts=start + timedelta(minutes=2 * n),
            release="r3",
            prompt_version=PROMPT_VERSIONS["r3"],
            output=prod.output if correct else corrected_answer(prod.context),
            context=(prod.context or [])[:5],
            shadow_of=prod.external_id,
            user_feedback=None,
        )
        out.append(row)
    if out:
        session.connection().execute(insert(Trace.__table__), out)
        add_traces(session.connection(), out, [])  # shadow traces add nothing to the rollups
    counts.extra["shadow_traces"] = len(out)
    story.audit(
        start + timedelta(minutes=2 * len(out)),
        actor="demo",
        action="shadow.replay",
        entity="shadow_run",
        entity_id="r3",
        payload={"baseline": "r2", "shadow_traces": len(out)},
    )


def _write_labels(session, rng, story, counts, pairs, rubric_id, ids, start) -> tuple[dict, dict]:
    """Items (k = 2, done) on the production traces with both reviewers' screen answers; returns
    ({trace id: the candidate's outcome}, {trace id: external id})."""
    rows = session.exec(select(Trace.id, Trace.external_id).where(col(Trace.id).in_([p.id for p in pairs])))
    keys = dict(rows.all())
    outcomes: dict[int, str] = {}
    items = []
    for n, fact in enumerate(pairs):
        outcomes[fact.id] = "tie" if fact.truth.correct else "a"  # r3 fixes every wrong answer, never worse
        created = start + timedelta(hours=2, minutes=10 * n)
        items.append(
            ReviewItem(
                trace_id=fact.id,
                queue="sampled",
                reason="shadow",
                overlap_k=2,
                status="done",
                labels_done=2,
                sampling_policy_id=ids["policy"],
                created_at=created,
            )
        )
    session.add_all(items)
    session.flush()
    labels = []
    for item, fact in zip(items, pairs, strict=True):
        cand_a = candidate_shown_as_a(keys[fact.id])
        outcome = outcomes[fact.id]
        choice = outcome if outcome == "tie" or cand_a else "b"
        for r, reviewer in enumerate(("rita", "raj")):
            labels.append(
                Label(
                    item_id=item.id,
                    reviewer_id=ids[reviewer],
                    rubric_id=rubric_id,
                    answers={
                        PAIRWISE_QUESTION["key"]: {"choice": choice, "reason": _reason(outcome, cand_a)}
                    },
                    seconds_spent=round(rng.uniform(20, 90), 1),
                    source="demo",
                    created_at=item.created_at + timedelta(minutes=4 + 6 * r),
                )
            )
    session.add_all(labels)
    session.flush()
    counts.labels += len(labels)
    counts.items += len(items)
    story.audit(
        start + timedelta(hours=2, minutes=10 * len(pairs) + 20),
        actor="demo",
        action="review.seed",
        entity="review_item",
        entity_id="demo-shadow",
        payload={"pairwise_items": len(items), "labels": len(labels)},
    )
    return outcomes, keys


def _queue_judge(story: Story, counts: BuildCounts, pairs, outcomes: dict[int, str], keys, start) -> None:
    """acme-pairwise@1's run on the pairs: it agrees with the reviewers except on JUDGE_TIES wins it calls
    ties (a judge verdict never decides the rule; the report shows it beside the humans)."""
    wins = [f.id for f in pairs if outcomes[f.id] == "a"]
    soft = set(wins[:JUDGE_TIES])
    at = start + timedelta(hours=1)
    verdicts = []
    for fact in pairs:
        outcome = "tie" if fact.id in soft else outcomes[fact.id]
        verdicts.append((fact, keys[fact.id], outcome))
    counts.verdicts += len(verdicts)
    story.later(at, _store_judge_run, verdicts=verdicts)


def _store_judge_run(session: Session, *, verdicts: list[tuple[TraceFacts, str, str]]) -> None:
    config = get_judge_config(session, "acme-pairwise", 1)
    at = clock.now()
    rows = []
    for fact, key, outcome in verdicts:
        cand_a = candidate_shown_as_a(key)
        choice = outcome if outcome == "tie" or cand_a else "b"
        rows.append(
            {
                "trace_id": fact.id,
                "judge_config_id": config.id,
                "question_key": PAIRWISE_QUESTION["key"],
                "value": choice,
                "score": None,
                "confidence": 0.8 if outcome == "a" else 0.6,
                "rationale": _reason(outcome, cand_a),
                "cost_usd": 0.00021,
                "latency_ms": 900.0,
                "error": None,
                "created_at": at,
                "trace_ts": fact.ts,
                "segment": fact.segment,
                "release": fact.release,
            }
        )
    if rows:
        session.connection().execute(insert(JudgeVerdict.__table__), rows)
        add_verdicts(session.connection(), rows)
    session.add(
        JudgeRun(
            judge_config_id=config.id,
            started_at=at,
            finished_at=at + timedelta(minutes=10),
            n_ok=len(rows),
            cost_usd=round(0.00021 * len(rows), 4),
            triggered_by="lena",
            scheduled=False,
        )
    )
    session.flush()
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id="acme-pairwise@1",
        payload={"verdicts": len(rows), "candidate": "r3", "baseline": "r2"},
    )
