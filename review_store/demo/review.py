"""Demo world review work: judge verdicts (acme-judge v1 on every trace, v2 on the labelled ones), human
labels with overlap 2-3, adjudications, open and escalated items, and the golden set."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, func, select

from review_store import audit
from review_store.demo.traffic import DAYS, DemoSummary, _Truth
from review_store.models import (
    Adjudication,
    GoldenExample,
    JudgeRun,
    JudgeVerdict,
    Label,
    ReviewItem,
    Trace,
)


def _judge_value(rng: random.Random, truth_value: int, noise: float) -> int:
    if rng.random() < noise:
        return max(1, min(5, truth_value + rng.choice((-2, -1, 1, 2))))
    return truth_value


def _verdicts(
    session: Session, rng: random.Random, summary: DemoSummary, truths: list[_Truth], ids: dict
) -> None:
    rows: list[dict[str, Any]] = []
    releases = dict(session.exec(select(Trace.id, Trace.release)).all())
    segments = dict(session.exec(select(Trace.id, Trace.segment)).all())
    stamps = dict(session.exec(select(Trace.id, Trace.ts)).all())
    for trace_id, truth in enumerate(truths, start=1):
        missed = releases[trace_id] == "r2" and segments[trace_id] == "refunds" and not truth.correct
        values = {
            "correctness": _judge_value(rng, truth.correctness, 0.06),
            "groundedness": rng.choice((3, 4))
            if missed and rng.random() < 0.35
            else _judge_value(rng, truth.groundedness, 0.05),
            "tone": rng.randint(1, 5) if rng.random() < 0.7 else truth.tone,
        }
        for key, value in values.items():
            confidence = round(rng.betavariate(8, 2), 3)
            rows.append(
                {
                    "trace_id": trace_id,
                    "judge_config_id": ids["judge1"],
                    "question_key": key,
                    "value": value,
                    "score": float(value),
                    "confidence": confidence,
                    "rationale": f"{key} {value}/5: "
                    + (
                        "matches the cited policy."
                        if value >= 4
                        else "conflicts with or is missing from the context."
                    ),
                    "cost_usd": 0.00012,
                    "latency_ms": round(rng.uniform(400, 1400), 1),
                    "error": None,
                    "created_at": summary.start + timedelta(days=DAYS - 1),
                    "trace_ts": stamps[trace_id],
                    "segment": segments[trace_id],
                    "release": releases[trace_id],
                }
            )
        if len(rows) >= 6000:
            session.execute(insert(JudgeVerdict), rows)
            summary.verdicts += len(rows)
            rows.clear()
    if rows:
        session.execute(insert(JudgeVerdict), rows)
        summary.verdicts += len(rows)
    run = JudgeRun(
        judge_config_id=ids["judge1"],
        started_at=summary.start + timedelta(days=DAYS - 1),
        finished_at=summary.start + timedelta(days=DAYS - 1, hours=1),
        n_ok=summary.verdicts,
        cost_usd=round(0.00012 * summary.verdicts, 4),
        triggered_by="lena",
        scheduled=True,
    )
    session.add(run)
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id="acme-judge@1",
        payload={"verdicts": summary.verdicts},
    )


def _human(rng: random.Random, truth: _Truth, careful: float) -> dict[str, Any]:
    def near(value: int, p: float) -> int:
        return max(1, min(5, value + rng.choice((-1, 1)))) if rng.random() < p else value

    return {
        "correctness": near(truth.correctness, 0.12 / careful),
        "groundedness": near(truth.groundedness, 0.10 / careful),
        "tone": near(truth.tone, 0.30 / careful),
        "issue_type": truth.issue if rng.random() < 0.9 else "other",
        "notes": "" if truth.correct else "Policy says 30 days / see cited chunk.",
    }


def _judge_v2(session, rng, summary, truths, ids, trace_ids) -> None:
    """acme-judge@2 (better tone guidelines, pricier) judged only the labelled traces: a trend to show."""
    rows = []
    copies = {
        t: (ts, seg, rel)
        for t, ts, seg, rel in session.exec(
            select(Trace.id, Trace.ts, Trace.segment, Trace.release).where(Trace.id.in_(trace_ids))
        ).all()
    }
    for trace_id in trace_ids:
        truth = truths[trace_id - 1]
        ts, segment, release = copies[trace_id]
        values = {
            "correctness": _judge_value(rng, truth.correctness, 0.06),
            "groundedness": _judge_value(rng, truth.groundedness, 0.05),
            "tone": rng.randint(1, 5) if rng.random() < 0.25 else _judge_value(rng, truth.tone, 0.1),
        }
        for key, value in values.items():
            rows.append(
                {
                    "trace_id": trace_id,
                    "judge_config_id": ids["judge2"],
                    "question_key": key,
                    "value": value,
                    "score": float(value),
                    "confidence": round(rng.betavariate(8, 2), 3),
                    "rationale": f"{key} {value}/5 (v2 guidelines).",
                    "cost_usd": 0.00018,
                    "latency_ms": round(rng.uniform(500, 1600), 1),
                    "error": None,
                    "created_at": summary.start + timedelta(days=DAYS - 2),
                    "trace_ts": ts,
                    "segment": segment,
                    "release": release,
                }
            )
    session.execute(insert(JudgeVerdict), rows)
    summary.verdicts += len(rows)
    session.add(
        JudgeRun(
            judge_config_id=ids["judge2"],
            started_at=summary.start + timedelta(days=DAYS - 2),
            finished_at=summary.start + timedelta(days=DAYS - 2, minutes=20),
            n_ok=len(rows),
            cost_usd=round(0.00018 * len(rows), 4),
            triggered_by="lena",
        )
    )
    audit.record(
        session,
        actor="lena",
        action="judge.run",
        entity="judge_config",
        entity_id="acme-judge@2",
        payload={"verdicts": len(rows)},
    )


def _review(session, rng, summary, truths, ids, start, end) -> None:  # noqa: C901 (one linear story)
    n = len(truths)
    reviewers = [ids["rita"], ids["raj"]]
    candidates = list(range(1, n))
    rng.shuffle(candidates)
    labelled, open_items = candidates[:300], candidates[300:450]
    _judge_v2(session, rng, summary, truths, ids, sorted(labelled))
    reasons = ["random"] * 5 + ["low_score", "guardrail", "thumbs_down", "stratified", "low_confidence"]
    done_day0 = DAYS - 14
    for idx, trace_id in enumerate(sorted(labelled)):
        k = 3 if idx % 4 == 0 else 2
        created = start + timedelta(days=done_day0 + rng.uniform(0, 12))
        item = ReviewItem(
            trace_id=trace_id,
            queue="sampled",
            reason=rng.choice(reasons),
            priority=0,
            overlap_k=k,
            status="done",
            labels_done=k,
            sampling_policy_id=ids["policy"],
            created_at=created,
        )
        session.add(item)
        session.flush()
        answers = []
        for r, reviewer in enumerate(reviewers + ([ids["lena"]] if k == 3 else [])):
            ans = _human(rng, truths[trace_id - 1], 1.3 if r == 2 else 1.0)
            answers.append(ans)
            session.add(
                Label(
                    item_id=item.id,
                    reviewer_id=reviewer,
                    rubric_id=ids["rubric"],
                    answers=ans,
                    seconds_spent=round(rng.uniform(12, 75), 1),
                    source="demo",
                    created_at=created + timedelta(minutes=5 + r * 7),
                )
            )
        spread = max(abs(a["correctness"] - b["correctness"]) for a in answers for b in answers)
        if spread >= 2 or len({a["issue_type"] for a in answers}) > 1 and rng.random() < 0.3:
            item.status = "adjudication"
            if rng.random() < 0.5:
                final = dict(answers[0], correctness=truths[trace_id - 1].correctness)
                session.add(
                    Adjudication(
                        item_id=item.id,
                        adjudicator_id=ids["lena"],
                        rubric_id=ids["rubric"],
                        answers=final,
                        note="Checked against the cited policy.",
                        created_at=created + timedelta(hours=6),
                    )
                )
                item.status = "done"
        session.add(item)
        summary.labels += k
    for trace_id in sorted(open_items):
        session.add(
            ReviewItem(
                trace_id=trace_id,
                queue="sampled",
                reason=rng.choice(reasons),
                overlap_k=2,
                status="open",
                sampling_policy_id=ids["policy"],
                created_at=end - timedelta(hours=rng.uniform(1, 72)),
            )
        )
    session.add(
        ReviewItem(
            trace_id=n,
            queue="sampled",
            reason="thumbs_down",
            overlap_k=2,
            status="open",
            priority=5,
            sampling_policy_id=ids["policy"],
            created_at=end - timedelta(hours=2),
        )
    )
    escalation_reasons = [
        "guardrail: prompt_injection blocked",
        "judge confidence below 0.5",
        "reviewer flag",
    ]
    for j, trace_id in enumerate(candidates[450:462]):
        age = [2, 5, 20, 30, 50, 70][j % 6]
        session.add(
            ReviewItem(
                trace_id=trace_id,
                queue="escalation",
                reason="guardrail" if j % 3 == 0 else ("low_confidence" if j % 3 == 1 else "flag"),
                overlap_k=1,
                status="escalated",
                priority=10,
                escalated_at=end - timedelta(hours=age),
                escalation_reason=escalation_reasons[j % 3],
                created_at=end - timedelta(hours=age),
            )
        )
    session.flush()
    summary.items = session.exec(select(func.count()).select_from(ReviewItem)).one()
    golden_items = session.exec(
        select(ReviewItem).where(ReviewItem.status == "done").order_by(ReviewItem.id)
    ).all()
    for item in golden_items[:40]:
        trace = session.get(Trace, item.trace_id)
        truth = truths[item.trace_id - 1]
        session.add(
            GoldenExample(
                trace_id=trace.id,
                item_id=item.id,
                input=trace.input,
                expected_output=trace.output
                if truth.correct
                else "(corrected) Answer strictly from the cited policy.",
                expected_labels={"correctness": truth.correctness, "groundedness": truth.groundedness},
                tags=[trace.segment],
                added_by="rita",
                created_at=item.created_at + timedelta(hours=1),
            )
        )
    audit.record(
        session,
        actor="demo",
        action="review.seed",
        entity="review_item",
        entity_id="demo",
        payload={"labelled": len(labelled), "open": len(open_items) + 1, "escalated": 12},
    )
