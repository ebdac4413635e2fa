"""What an import, a validation or a preview found: counts and problems as `file:line: field: message`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from review_store.errors import ValidationFailed

MAX_KEPT_PROBLEMS = 1000
SHOWN_PROBLEMS = 50


@dataclass(frozen=True)
class IngestProblem:
    """One reason a record (or the file) was refused; str() is `file:line: field: message`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


@dataclass
class IngestProgress:
    phase: str  # validate | write
    records: int
    fraction: float


@dataclass
class IngestReport:
    """What an import (or a validation) did. `errors` keeps the first 1,000 problems; `n_errors` counts all.

    `file_problem`: the file could not be read (on) -- not of the declared format, empty, damaged. In skip
    mode the good records read before it are kept, yet the import is not complete (exit 2)."""

    path: str
    format: str
    on_error: str = "abort"
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    existing_changed: int = 0  # already stored, differs from the file, left alone (no --update)
    pruned: int = 0  # deleted by a prune before: already counted in the rollups, skipped
    rejected: int = 0
    guardrail_events: int = 0
    n_errors: int = 0
    aborted: bool = False
    file_problem: str | None = None
    rejects_path: str | None = None
    errors: list[IngestProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every record was fine (a skip-mode import with rejects is not ok, yet imported)."""
        return not self.aborted and self.n_errors == 0

    @property
    def complete(self) -> bool:
        """The whole file was read and what it held is stored (skip mode: its good records)."""
        return not self.aborted and self.file_problem is None

    def add_problem(self, problem: IngestProblem) -> None:
        self.n_errors += 1
        if len(self.errors) < MAX_KEPT_PROBLEMS:
            self.errors.append(problem)

    def problem_lines(self, limit: int = SHOWN_PROBLEMS) -> list[str]:
        """The first `limit` problems as `file:line: field: message`, then "... and N more"."""
        lines = [str(p) for p in self.errors[:limit]]
        if self.n_errors > limit:
            lines.append(f"... and {self.n_errors - limit} more")
        return lines

    def as_dict(self, limit: int = SHOWN_PROBLEMS) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "errors"}
        out["ok"] = self.ok
        out["problems"] = self.problem_lines(limit)
        return out


@dataclass
class IngestPreview:
    format: str
    rows: list[dict[str, Any]]
    problems: list[IngestProblem]


class IngestAborted(ValidationFailed):
    """Raised inside the import's transaction to roll it back; carries the report of what was found."""

    def __init__(self, report: IngestReport) -> None:
        first = report.problem_lines(1)
        super().__init__(first[0] if first else f"{report.path}: nothing imported")
        self.report = report
