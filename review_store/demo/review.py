"""Demo world review work: judge verdicts (acme-judge v1 on every trace, v2 on the labelled ones), human
labels with overlap 2-3 and adjudications (planned in labelplan.py), open and escalated items, and the
golden set.

What goes through the store's services, queued on the story clock (each call audited as in real use):
the lead's adjudications (`escalations.adjudicate`) and the golden examples (`golden.promote`). What is
written in bulk, with its times computed from the end date: the review items, the labels (their items
enter adjudication as labelplan.py planned it), and the judge verdicts, inserted with
`rollups.maintain.add_verdicts` keeping the rollups in the same transaction; the judge runs and the
review seeding are recorded as queued audit events.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from review_store import audit, clock, golden
from review_store.demo.labelplan import LabelPlan, judge_v1
from review_store.demo.story import Story
from review_store.demo.traffic import DAYS, BuildCounts, TraceFacts
from review_store.escalations import adjudicate
from review_store.judge.config import get_judge_config
from review_store.models import JudgeRun, JudgeVerdict, Label, ReviewItem, Trace
from review_store.permissions import Actor
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
    """acme-judge@1 on every trace (a scheduled run on day 29); @2 on the labelled traces only (day 28).
    The verdicts are drawn now and stored by each run at its moment (`_store_run`, queued on the story)."""
    planned = {p.trace.id: p for p in plans}
    for version, day, traces in ((1, DAYS - 1, facts), (2, DAYS - 2, [p.trace for p in plans])):
        at, rows = story.day(day), []
        for trace in traces:
            plan = planned.get(trace.id)
            values = plan.judge[version] if plan else judge_v1(rng, trace)
            rows += _verdict_rows(rng, trace, 0, version, values, at)  # config id: set when stored
        counts.verdicts += len(rows)
        story.later(at, _store_run, version=version, rows=rows)


def _store_run(session: Session, *, version: int, rows: list[dict[str, Any]]) -> None:
    """One judge run of acme-judge@version: its verdicts in bulk with the rollups kept in the same
    transaction (`rollups.maintain.add_verdicts`), the run row and its audit event, at the story's now."""
    config = get_judge_config(session, "acme-judge", version)
    at = clock.now()
    for start in range(0, len(rows), 6000):
        chunk = rows[start : start + 6000]
        for row in chunk:
            row["judge_config_id"] = config.id
        session.connection().execute(insert(JudgeVerdict.__table__), chunk)
        add_verdicts(session.connection(), chunk)
    session.add(
        JudgeRun(
            judge_config_id=config.id,
            started_at=at,
            finished_at=at + (timedelta(hours=1) if version == 1 else timedelta(minutes=20)),
            n_ok=len(rows),
            cost_usd=round(COST[version] * len(rows), 4),
            triggered_by="lena",
            scheduled=version == 1,
        )
    )
    session.flush()
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id=f"acme-judge@{version}",
        payload={"verdicts": len(rows)},
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
    labels = []
    lena = Actor(username="lena", role="lead", id=ids["lena"])
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
            story.later(
                min(plan.created + timedelta(hours=6), story.end - timedelta(minutes=10)),
                adjudicate,
                actor=lena,
                item_id=item.id,
                answers=dict(plan.answers[0], correctness=truth.correctness, groundedness=truth.groundedness),
                note="Checked against the cited policy.",
                rubric_id=ids["rubric"],
            )
    session.add_all(labels)
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
    _promote_golden(session, story, [(i, p) for i, p in zip(items, plans, strict=True) if not p.pending], ids)
    story.audit(
        end - timedelta(minutes=1),
        actor="demo",
        action="review.seed",
        entity="review_item",
        entity_id="demo",
        payload={"labelled": len(items), "open": OPEN_ITEMS + 1, "escalated": ESCALATIONS},
    )


def corrected_answer(context: list[dict[str, Any]]) -> str:
    """What the answer should have said: the policy chunk the question is about (retrieved first), cited."""
    cited = next((c for c in context or [] if isinstance(c, dict) and c.get("text")), None)
    if cited is None:
        return (
            "I can only answer from Acme's policies; let me connect you with a colleague who can check this."
        )
    return f"{cited['text']} [{cited.get('id', 'policy')}]"


def _promote_golden(
    session: Session, story: Story, done: list[tuple[ReviewItem, LabelPlan]], ids: dict[str, int]
) -> None:
    """Rita promotes the first GOLDEN settled items to the golden set (`golden.promote`), an hour after
    the lead's adjudication where there was one; a wrong answer's expected output is the corrected one."""
    chosen = done[:GOLDEN]
    wrong = [item.trace_id for item, plan in chosen if not plan.trace.truth.correct]
    query = select(Trace.id, Trace.context).where(col(Trace.id).in_(wrong))
    contexts = dict(session.exec(query).all())
    rita = Actor(username="rita", role="reviewer", id=ids["rita"])
    for item, plan in chosen:
        story.later(
            min(plan.created + timedelta(hours=7), story.end - timedelta(minutes=5)),
            golden.promote,
            actor=rita,
            item_id=item.id,
            expected_output=None if plan.trace.truth.correct else corrected_answer(contexts[item.trace_id]),
            tags=[plan.trace.segment],
        )
