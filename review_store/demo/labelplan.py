"""Who labelled what, and how far the judge is from them: planned by exact counts, so the agreement the
story needs (the judge trusted for correctness and groundedness, not for tone) holds for every seed.

Per segment (so a per-segment trust verdict has enough items too): PER_SEGMENT labelled traces, of which a
fixed number are wrong answers (the low-score and thumbs-down samples), spread evenly over the 30 days so
the team reviewed every week. A quarter have three labels, the rest two. The humans' reference answer for
correctness and groundedness is the latent truth: where one of two reviewers slips by a point the item is
adjudicated back to it, and with three reviewers a single slip leaves the median on it. The judge differs
from that reference on exactly JUDGE_SLIPS items per question and segment, by one point.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from review_store.demo.quota import spread
from review_store.demo.text import SEGMENTS
from review_store.demo.traffic import TraceFacts
from review_store.demo.words import Truth

__all__ = ["LabelPlan", "judge_v1", "off_by_one", "plan_labels"]

PER_SEGMENT = 75
WRONG_PER_SEGMENT = {"refunds": 21}  # others: DEFAULT_WRONG
DEFAULT_WRONG = 15
THREE_RATERS_EVERY = 4
HUMAN_SLIPS_TWO = {"correctness": 4, "groundedness": 3}  # one of two reviewers off by one -> adjudicated
HUMAN_SLIPS_THREE = {"correctness": 5, "groundedness": 4}  # one of three off by one -> median unchanged
PENDING_ADJUDICATION = 3  # items whose reviewers disagree on tone and issue, waiting for the lead
JUDGE_SLIPS = {1: {"correctness": 6, "groundedness": 4}, 2: {"correctness": 5, "groundedness": 3}}
R2_REFUNDS_MISSES = 2  # labelled r2 refunds answers the judge rated one point more grounded than humans
TONE_AGREEMENT = {1: 0.30, 2: 0.60}  # share of items where the judge's tone equals the truth


@dataclass
class LabelPlan:
    trace: TraceFacts
    created: datetime
    answers: list[dict[str, Any]]  # one per reviewer: rita, raj (, lena)
    adjudicate: bool = False
    pending: bool = False
    judge: dict[int, dict[str, int]] = field(default_factory=dict)  # judge version -> question -> value


def off_by_one(rng: random.Random, value: int) -> int:
    """A one-point slip on a 1-5 scale."""
    if value <= 1:
        return 2
    if value >= 5:
        return 4
    return value + rng.choice((-1, 1))


def _answers(rng: random.Random, truth: Truth, raters: int) -> list[dict[str, Any]]:
    def tone() -> int:
        return off_by_one(rng, truth.tone) if rng.random() < 0.3 else truth.tone

    return [
        {
            "correctness": truth.correctness,
            "groundedness": truth.groundedness,
            "tone": tone(),
            "issue_type": truth.issue,
            "notes": "" if truth.correct else "Policy says 30 days / see cited chunk.",
        }
        for _ in range(raters)
    ]


def _choose(rng: random.Random, facts: list[TraceFacts], segment: str, end: datetime) -> list[TraceFacts]:
    last = end - timedelta(hours=2)
    pool = [f for f in facts if f.segment == segment and not f.blocked and f.ts < last]
    wrong = [f for f in pool if not f.truth.correct]
    right = [f for f in pool if f.truth.correct]
    n_wrong = min(len(wrong), WRONG_PER_SEGMENT.get(segment, DEFAULT_WRONG))
    n_right = min(len(right), PER_SEGMENT - n_wrong)
    picks = [wrong[i] for i in spread(len(wrong), n_wrong, [rng.random() for _ in range(n_wrong)])]
    picks += [right[i] for i in spread(len(right), n_right, [rng.random() for _ in range(n_right)])]
    return sorted({f.id: f for f in picks}.values(), key=lambda f: f.id)


def _slip(rng: random.Random, plans: list[LabelPlan], counts: dict[str, int], raters: int) -> None:
    """One reviewer slips by a point on `counts[q]` of these items (each item slips at most once)."""
    order = rng.sample(plans, len(plans))
    for question, k in counts.items():
        for plan in order[:k]:
            who = rng.randrange(raters)
            plan.answers[who][question] = off_by_one(rng, plan.answers[who][question])
            plan.adjudicate = plan.adjudicate or raters == 2
        order = order[k:]


def _judge(rng: random.Random, plans: list[LabelPlan], version: int, segment: str) -> None:
    for plan in plans:
        truth = plan.trace.truth
        plan.judge[version] = {"correctness": truth.correctness, "groundedness": truth.groundedness}
    order = rng.sample(plans, len(plans))
    if version == 1 and segment == "refunds":
        missed = [p for p in order if p.trace.release == "r2" and not p.trace.truth.correct]
        for plan in missed[:R2_REFUNDS_MISSES]:
            plan.judge[1]["groundedness"] = plan.trace.truth.groundedness + 1
            order.remove(plan)
    for question, k in JUDGE_SLIPS[version].items():
        for plan in order[:k]:
            plan.judge[version][question] = off_by_one(rng, plan.judge[version][question])
        order = order[k:]
    agree = round(TONE_AGREEMENT[version] * len(plans))
    for j, plan in enumerate(rng.sample(plans, len(plans))):
        tone = plan.trace.truth.tone
        if j < agree:
            plan.judge[version]["tone"] = tone
        elif version == 1:
            plan.judge[version]["tone"] = rng.choice([v for v in range(1, 6) if v != tone])
        else:
            plan.judge[version]["tone"] = off_by_one(rng, tone)


def plan_labels(rng: random.Random, facts: list[TraceFacts], end: datetime) -> list[LabelPlan]:
    """The labelled items, in trace order, with every reviewer's answers and both judges' values."""
    out: list[LabelPlan] = []
    for segment in SEGMENTS:
        chosen = _choose(rng, facts, segment, end)
        plans = []
        for idx, trace in enumerate(rng.sample(chosen, len(chosen))):
            raters = 3 if idx % THREE_RATERS_EVERY == 0 else 2
            created = min(trace.ts + timedelta(hours=rng.uniform(1, 20)), end - timedelta(hours=1))
            plans.append(LabelPlan(trace, created, _answers(rng, trace.truth, raters)))
        two = [p for p in plans if len(p.answers) == 2]
        three = [p for p in plans if len(p.answers) == 3]
        _slip(rng, two, HUMAN_SLIPS_TWO, 2)
        _slip(rng, three, HUMAN_SLIPS_THREE, 3)
        for plan in [p for p in two if not p.adjudicate][:PENDING_ADJUDICATION]:
            plan.pending = True
            plan.answers[1]["tone"] = plan.answers[0]["tone"] + (2 if plan.answers[0]["tone"] <= 3 else -2)
            plan.answers[1]["issue_type"] = "other"
        _judge(rng, plans, 1, segment)
        _judge(rng, plans, 2, segment)
        out += plans
    return sorted(out, key=lambda p: p.trace.id)


def judge_v1(rng: random.Random, trace: TraceFacts) -> dict[str, int]:
    """acme-judge@1 on an unlabelled trace: close on correctness and groundedness, except that it misses
    some of r2's ungrounded refunds answers; close to random on tone."""
    truth = trace.truth

    def noisy(value: int, p: float) -> int:
        return max(1, min(5, value + rng.choice((-2, -1, 1, 2)))) if rng.random() < p else value

    missed = trace.release == "r2" and trace.segment == "refunds" and not truth.correct
    return {
        "correctness": noisy(truth.correctness, 0.06),
        "groundedness": rng.choice((3, 4))
        if missed and rng.random() < 0.35
        else noisy(truth.groundedness, 0.05),
        "tone": rng.randint(1, 5) if rng.random() < 0.7 else truth.tone,
    }
