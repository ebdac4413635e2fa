"""Frozen read models of desk.evals: a tier-1 check run and the eval stack of a release."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from review_store.desk.base import ReadModel


class CheckCountView(ReadModel):
    name: str
    kind: str
    applied: int  # cases the check applied to
    failed: int


class CheckFailureView(ReadModel):
    case: str  # golden:<trace id> or trace:<trace id>
    source: str  # golden | recent
    check: str
    detail: str


class CheckRunView(ReadModel):
    """One `review-desk eval run`: cases (outputs checked), how many passed every check, the pass rate
    the gate reads as `tier1_pass_rate`, per-check counts and the first failures."""

    id: int
    release: str
    created_at: datetime
    created_by: str
    checks_hash: str
    golden_set_version: str
    outputs_source: str
    recent: int
    cases: int
    cases_passed: int
    results: int
    results_failed: int
    skipped: int
    pass_rate: float | None
    passed: bool
    per_check: tuple[CheckCountView, ...]
    failures: tuple[CheckFailureView, ...]


class EvalTierView(ReadModel):
    tier: Literal["checks", "judge", "human"]
    count: int  # check cases / judge verdicts / human labels
    scored: int  # of them with a pass/fail: cases, scored verdicts, rating answers
    passed: int
    pass_rate: float | None
    cost_usd: float | None  # 0 for checks, the verdicts' cost for the judge, None for people
    seconds: float | None  # human: seconds spent labelling
    errors: int  # judge: failed calls
    run_id: int | None  # checks: the check run shown
    run_at: datetime | None


class EvalStackView(ReadModel):
    """A release's eval stack, in order: unit checks -> judge -> human."""

    release: str
    tiers: tuple[EvalTierView, ...]

    def tier(self, name: str) -> EvalTierView:
        return next(t for t in self.tiers if t.tier == name)
