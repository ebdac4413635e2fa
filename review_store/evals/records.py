"""Check runs as records: the newest one of a release (the gate's tier-1 evidence) and a run's summary.

Imports only the tables, so releases.catalog can ask for the newest run without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from review_store.models import CheckResult, CheckRun


def latest_check_run(session: Session, *, release_id: int) -> CheckRun | None:
    """The release's newest check run (None: never checked)."""
    return session.exec(
        select(CheckRun)
        .where(CheckRun.release_id == release_id)
        .order_by(col(CheckRun.created_at).desc(), col(CheckRun.id).desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class CheckCount:
    name: str
    kind: str
    applied: int
    failed: int


@dataclass(frozen=True)
class Failure:
    case_key: str
    source: str
    check_name: str
    detail: str


@dataclass
class RunSummary:
    run: CheckRun
    per_check: list[CheckCount] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def summarize(session: Session, run: CheckRun, *, max_failures: int = 50) -> RunSummary:
    """Per check: how many cases it applied to and how many failed; the first failures (case order)."""
    failed = func.sum(case((col(CheckResult.passed).is_(False), 1), else_=0))
    rows = session.exec(
        select(CheckResult.check_name, CheckResult.kind, func.count(), failed)
        .where(CheckResult.run_id == run.id)
        .group_by(CheckResult.check_name, CheckResult.kind)
        .order_by(CheckResult.check_name)
    ).all()
    failures = session.exec(
        select(CheckResult)
        .where(CheckResult.run_id == run.id, col(CheckResult.passed).is_(False))
        .order_by(col(CheckResult.id))
        .limit(max_failures)
    ).all()
    return RunSummary(
        run=run,
        per_check=[CheckCount(n, k, int(a), int(f or 0)) for n, k, a, f in rows],
        failures=[Failure(r.case_key, r.source, r.check_name, r.detail) for r in failures],
    )
