"""Tier-1 eval runs: the release manifest's deterministic checks over the golden set and recent traffic."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from review_store.models.common import text_field, utcnow


class CheckRun(SQLModel, table=True):
    """One `review-desk eval run`: its counts and the tier-1 pass rate the gate reads (the newest run)."""

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    checks_hash: str = Field(max_length=64)  # content hash of the manifest's checks the run used
    golden_set_version: str = Field(default="", max_length=64)
    outputs_source: str = Field(default="", max_length=200)  # "store" or the outputs file's name
    recent: int = 0  # how many recent traces of the release were asked for
    n_cases: int = 0
    n_cases_passed: int = 0
    n_results: int = 0
    n_results_failed: int = 0
    n_skipped: int = 0  # golden examples with no output of the release
    pass_rate: float | None = None  # n_cases_passed / n_cases: a case passes when every check on it does
    created_by: str = Field(default="", max_length=80)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class CheckResult(SQLModel, table=True):
    """One check on one case. Trace ids are kept as text: a pruned trace leaves its result readable."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="checkrun.id", index=True, ondelete="CASCADE")
    case_key: str = Field(max_length=240)
    source: str = Field(max_length=10)  # golden | recent
    check_name: str = Field(max_length=120)
    kind: str = Field(max_length=30)
    passed: bool
    detail: str = text_field()
