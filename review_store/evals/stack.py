"""The eval stack of a release: unit checks -> judge -> human, each with counts, a pass rate and a cost.

- checks: the newest tier-1 check run (cases, cases passed, pass rate = the gate's tier1_pass_rate); cost 0.
- judge: the successful verdicts on the release's traces; a scored verdict passes when its score is above
  the rollback rule's fail line (`rule_counts.JUDGE_FAIL_SCORE`, score <= 2 fails); cost = the sum of every
  verdict's cost_usd (failed calls included: they were paid for).
- human: the labels on review items of the release's traces; a numeric (rating) answer passes on the same
  line as the judge; the cost is people's time: labels and the seconds spent on them (no dollars).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from review_store.evals.records import latest_check_run
from review_store.models import JudgeVerdict, Label, ReviewItem, Trace
from review_store.releases.catalog import get_release
from review_store.releases.rule_counts import JUDGE_FAIL_SCORE


@dataclass(frozen=True)
class Tier:
    tier: str  # checks | judge | human
    count: int  # check cases / judge verdicts / human labels
    scored: int  # how many of them carry a pass/fail (cases, scored verdicts, rating answers)
    passed: int
    cost_usd: float | None  # None for human review (its cost is time, below)
    seconds: float | None = None  # human review: the seconds spent labelling
    errors: int = 0  # judge calls that failed
    run_id: int | None = None  # checks: the check run shown
    run_at: datetime | None = None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.scored if self.scored else None


def _checks(session: Session, release_id: int) -> Tier:
    run = latest_check_run(session, release_id=release_id)
    if run is None:
        return Tier("checks", 0, 0, 0, 0.0)
    return Tier(
        "checks", run.n_cases, run.n_cases, run.n_cases_passed, 0.0, run_id=run.id, run_at=run.created_at
    )


def _judge(session: Session, release: str) -> Tier:
    ok = col(JudgeVerdict.error).is_(None)
    scored = ok & col(JudgeVerdict.score).is_not(None)
    count, n_scored, passed, errors, cost = session.exec(
        select(
            func.sum(case((ok, 1), else_=0)),
            func.sum(case((scored, 1), else_=0)),
            func.sum(case((scored & (col(JudgeVerdict.score) > JUDGE_FAIL_SCORE), 1), else_=0)),
            func.sum(case((ok, 0), else_=1)),
            func.sum(JudgeVerdict.cost_usd),
        ).where(JudgeVerdict.release == release)
    ).one()
    return Tier(
        "judge",
        int(count or 0),
        int(n_scored or 0),
        int(passed or 0),
        float(cost or 0.0),
        errors=int(errors or 0),
    )


def _human(session: Session, release: str) -> Tier:
    rows = session.exec(
        select(Label.answers, Label.seconds_spent)
        .join(ReviewItem, col(ReviewItem.id) == Label.item_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(Trace.release == release)
    ).all()
    ratings = [
        value
        for answers, _ in rows
        for value in (answers or {}).values()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    seconds = sum(s for _, s in rows if s is not None)
    passed = sum(v > JUDGE_FAIL_SCORE for v in ratings)
    return Tier("human", len(rows), len(ratings), passed, None, seconds=float(seconds))


def eval_stack(session: Session, *, release: str) -> list[Tier]:
    """The three tiers of `release`, in order: checks, judge, human."""
    row = get_release(session, name=release)
    return [_checks(session, row.id), _judge(session, release), _human(session, release)]
