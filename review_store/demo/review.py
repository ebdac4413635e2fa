"""Demo world review work: judge verdicts (acme-judge v1 on every trace, v2 on the labelled ones), human
labels with overlap 2-3 and adjudications (planned in labelplan.py), open and escalated items, and the
golden set."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from review_store.demo.labelplan import LabelPlan, judge_v1
from review_store.demo.story import Story
from review_store.demo.traffic import DAYS, BuildCounts, TraceFacts
from review_store.models import Adjudication, GoldenExample, JudgeRun, JudgeVerdict, Label, ReviewItem, Trace
from review_store.rollups.maintain import add_verdicts

__all__ = ["write_review", "write_verdicts"]

REASONS = ["random"] * 5 + ["low_score", "guardrail", "thumbs_down", "stratified", "low_confidence"]
OPEN_ITEMS = 150
ESCALATIONS = 12
GOLDEN = 40
COST = {1: 0.00012, 2: 0.00018}


def _verdict_rows(
    rng: random.Random, trace: TraceFacts, config_id: int, version: int, values, at
) -> list[dict]:
    rows = []
    for key, value in values.items():
        if version == 1:
            why = (
                "matches the cited policy."
                if value >= 4
                else "conflicts with or is missing from the context."
            )
        else:
            why = "(v2 guidelines)."
        rows.append(
            {
                "trace_id": trace.id,
                "judge_config_id": config_id,
                "question_key": key,
                "value": value,
                "score": float(value),
                "confidence": round(rng.betavariate(8, 2), 3),
                "rationale": f"{key} {value}/5: {why}",
                "cost_usd": COST[version],
                "latency_ms": round(rng.uniform(400, 1400) + 100 * (version - 1), 1),
                "error": None,
                "created_at": at,
                "trace_ts": trace.ts,
                "segment": trace.segment,
                "release": trace.release,
            }
        )
    return rows


def write_verdicts(
    session: Session,
    rng: random.Random,
    story: Story,
    counts: BuildCounts,
    facts: list[TraceFacts],
    plans: list[LabelPlan],
    ids: dict[str, int],
) -> None:
    """acme-judge@1 on every trace (a scheduled run on day 29); @2 on the labelled traces only (day 28)."""
    planned = {p.trace.id: p for p in plans}
    for version, day, traces in ((1, DAYS - 1, facts), (2, DAYS - 2, [p.trace for p in plans])):
        at, rows, total = story.day(day), [], 0
        for trace in traces:
            plan = planned.get(trace.id)
            values = plan.judge[version] if plan else judge_v1(rng, trace)
            rows += _verdict_rows(rng, trace, ids[f"judge{version}"], version, values, at)
            if len(rows) >= 6000:
                session.connection().execute(insert(JudgeVerdict.__table__), rows)
                add_verdicts(session.connection(), rows)  # rollups, same transaction
                total += len(rows)
                rows.clear()
        if rows:
            session.connection().execute(insert(JudgeVerdict.__table__), rows)
            add_verdicts(session.connection(), rows)  # rollups, same transaction
            total += len(rows)
        counts.verdicts += total
        session.add(
            JudgeRun(
                judge_config_id=ids[f"judge{version}"],
                started_at=at,
                finished_at=at + (timedelta(hours=1) if version == 1 else timedelta(minutes=20)),
                n_ok=total,
                cost_usd=round(COST[version] * total, 4),
                triggered_by="lena",
                scheduled=version == 1,
            )
        )
        story.audit(
            at,
            actor="lena",
            action="judge.run",
            entity="judge_config",
            entity_id=f"acme-judge@{version}",
            payload={"verdicts": total},
        )


def _labelled(
    session: Session, rng: random.Random, story: Story, plans: list[LabelPlan], ids
) -> list[ReviewItem]:
    reviewers = [ids["rita"], ids["raj"], ids["lena"]]
    items = [
        ReviewItem(
            trace_id=p.trace.id,
            queue="sampled",
            reason="low_score" if not p.trace.truth.correct and rng.random() < 0.5 else rng.choice(REASONS),
            priority=0,
            overlap_k=len(p.answers),
            status="adjudication" if p.adjudicate or p.pending else "done",
            labels_done=len(p.answers),
            sampling_policy_id=ids["policy"],
            created_at=p.created,
        )
        for p in plans
    ]
    session.add_all(items)
    session.flush()
    labels, settled = [], []
    for item, plan in zip(items, plans, strict=True):
        for r, answers in enumerate(plan.answers):
            labels.append(
                Label(
                    item_id=item.id,
                    reviewer_id=reviewers[r],
                    rubric_id=ids["rubric"],
                    answers=answers,
                    seconds_spent=round(rng.uniform(12, 75), 1),
                    source="demo",
                    created_at=plan.created + timedelta(minutes=5 + r * 7),
                )
            )
        if plan.adjudicate:
            truth = plan.trace.truth
            final = dict(plan.answers[0], correctness=truth.correctness, groundedness=truth.groundedness)
            settled.append(
                Adjudication(
                    item_id=item.id,
                    adjudicator_id=ids["lena"],
                    rubric_id=ids["rubric"],
                    answers=final,
                    note="Checked against the cited policy.",
                    created_at=min(plan.created + timedelta(hours=6), story.end - timedelta(minutes=10)),
                )
            )
            item.status = "done"
    session.add_all(labels + settled)
    session.flush()
    return items


def write_review(
    session: Session,
    rng: random.Random,
    story: Story,
    counts: BuildCounts,
    facts: list[TraceFacts],
    plans: list[LabelPlan],
    ids: dict[str, int],
) -> None:
    end = story.end
    items = _labelled(session, rng, story, plans, ids)
    counts.labels = sum(len(p.answers) for p in plans)
    taken = {p.trace.id for p in plans}
    xss = facts[-1].id
    rest = [f.id for f in facts[:-1] if f.id not in taken]
    rest = rng.sample(rest, min(len(rest), OPEN_ITEMS + ESCALATIONS))  # O(k), also at a million traces
    open_rows: list[dict[str, Any]] = [
        {
            "trace_id": trace_id,
            "queue": "sampled",
            "reason": rng.choice(REASONS),
            "overlap_k": 2,
            "status": "open",
            "sampling_policy_id": ids["policy"],
            "created_at": end - timedelta(hours=rng.uniform(1, 72)),
        }
        for trace_id in sorted(rest[:OPEN_ITEMS])
    ]
    open_rows.append(
        {
            "trace_id": xss,
            "queue": "sampled",
            "reason": "thumbs_down",
            "overlap_k": 2,
            "status": "open",
            "priority": 5,
            "sampling_policy_id": ids["policy"],
            "created_at": end - timedelta(hours=2),
        }
    )
    why = ["guardrail: prompt_injection blocked", "judge confidence below 0.5", "reviewer flag"]
    for j, trace_id in enumerate(rest[OPEN_ITEMS : OPEN_ITEMS + ESCALATIONS]):
        age = timedelta(hours=[2, 5, 20, 30, 50, 70][j % 6])
        open_rows.append(
            {
                "trace_id": trace_id,
                "queue": "escalation",
                "reason": ("guardrail", "low_confidence", "flag")[j % 3],
                "overlap_k": 1,
                "status": "escalated",
                "priority": 10,
                "escalated_at": end - age,
                "escalation_reason": why[j % 3],
                "created_at": end - age,
            }
        )
    session.execute(insert(ReviewItem), open_rows)
    counts.items = len(items) + len(open_rows)
    done = [(item, plan) for item, plan in zip(items, plans, strict=True) if item.status == "done"]
    golden = []
    for item, plan in done[:GOLDEN]:
        truth = plan.trace.truth
        golden.append(
            {
                "trace_id": item.trace_id,
                "item_id": item.id,
                "input": "",
                "expected_output": "",
                "expected_labels": {"correctness": truth.correctness, "groundedness": truth.groundedness},
                "tags": [plan.trace.segment],
                "added_by": "rita",
                "created_at": min(item.created_at + timedelta(hours=1), end - timedelta(minutes=5)),
                "_correct": truth.correct,
            }
        )
    _fill_golden_text(session, golden)
    story.audit(
        end - timedelta(minutes=1),
        actor="demo",
        action="review.seed",
        entity="review_item",
        entity_id="demo",
        payload={"labelled": len(items), "open": OPEN_ITEMS + 1, "escalated": ESCALATIONS},
    )


def _corrected(context: list[dict[str, Any]]) -> str:
    """What the answer should have said: the policy chunk the question is about (retrieved first), cited."""
    cited = next((c for c in context or [] if isinstance(c, dict) and c.get("text")), None)
    if cited is None:
        return (
            "I can only answer from Acme's policies; let me connect you with a colleague who can check this."
        )
    return f"{cited['text']} [{cited.get('id', 'policy')}]"


def _fill_golden_text(session: Session, golden: list[dict[str, Any]]) -> None:
    ids = [g["trace_id"] for g in golden]
    query = select(Trace.id, Trace.input, Trace.output, Trace.context).where(col(Trace.id).in_(ids))
    texts = {i: (inp, out, ctx) for i, inp, out, ctx in session.exec(query).all()}
    for g in golden:
        inp, out, ctx = texts[g["trace_id"]]
        g["input"] = inp
        g["expected_output"] = out if g.pop("_correct") else _corrected(ctx)
    if golden:
        session.execute(insert(GoldenExample), golden)
