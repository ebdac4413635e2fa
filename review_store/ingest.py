"""Production traces in: JSONL, CSV, Parquet and OTLP-JSON files -> Trace and GuardrailEvent rows.

Files are streamed (JSONL/OTLP line by line, CSV through csv.reader, Parquet through iter_batches) in
batches bounded by count and bytes, and written with Core executemany inserts, so memory stays flat for
any file size. Duplicate ids inside a file are tracked in a temporary on-disk SQLite table, not in RAM.

Every import is one transaction with its audit event: `on_error="abort"` validates the whole file first
and writes nothing when any record is bad; `on_error="skip"` writes the good records and sends the bad
ones (source text + problems) to a rejects JSONL file. Re-importing is idempotent on `trace_id`;
changed records are rewritten only with `update=True`. Field rules live in `review_store.ingest_records`,
the OTLP mapping in `review_store.otlp`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine

from review_store import audit
from review_store.db import session_scope
from review_store.errors import ValidationFailed
from review_store.ingest_readers import FORMATS, FileProblem, Item, batches, detect_format
from review_store.ingest_records import GUARDRAIL_COLUMNS, TRACE_COLUMNS
from review_store.models import GuardrailEvent, Trace
from review_store.permissions import SYSTEM, Actor, require

MAX_KEPT_PROBLEMS = 1000
SHOWN_PROBLEMS = 50
__all__ = [
    "FORMATS",
    "IngestPreview",
    "IngestProblem",
    "IngestProgress",
    "IngestReport",
    "detect_format",
    "ingest_file",
    "preview_file",
    "validate_file",
]

_TRACE = Trace.__table__
_GUARD = GuardrailEvent.__table__


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
    """What an import (or a validation) did. `errors` keeps the first 1,000 problems; `n_errors` counts all."""

    path: str
    format: str
    on_error: str = "abort"
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    existing_changed: int = 0  # already stored, differs from the file, left alone (no --update)
    rejected: int = 0
    guardrail_events: int = 0
    n_errors: int = 0
    aborted: bool = False
    rejects_path: str | None = None
    errors: list[IngestProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every record was fine (a skip-mode import with rejects is not ok, yet imported)."""
        return not self.aborted and self.n_errors == 0

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


def _problems(report: IngestReport, name: str, item: Item) -> None:
    for field_, message in item.problems:
        report.add_problem(IngestProblem(name, item.line, field_, message))


def validate_file(
    *,
    path: str | os.PathLike[str],
    format: str | None = None,
    batch_size: int = 2000,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport:
    """Check every record without touching a database (the abort mode's first pass)."""
    fmt = detect_format(path, format)
    report = IngestReport(path=str(path), format=fmt)
    name = str(path)
    try:
        for batch in batches(path, fmt, _clamp(batch_size), _reporter(progress, "validate", report)):
            for item in batch:
                report.records += 1
                if item.problems:
                    report.rejected += 1
                    _problems(report, name, item)
    except FileProblem as exc:
        report.add_problem(IngestProblem(name, exc.line, exc.field, exc.message))
        report.aborted = True
    report.aborted = report.aborted or report.n_errors > 0
    return report


def preview_file(
    *, path: str | os.PathLike[str], format: str | None = None, limit: int = 20
) -> IngestPreview:
    """The first `limit` records as they would be stored, with their problems (for the Import page)."""
    fmt = detect_format(path, format)
    rows: list[dict[str, Any]] = []
    problems: list[IngestProblem] = []
    seen = 0
    try:
        for batch in batches(path, fmt, max(1, limit), None):
            for item in batch[: limit - seen]:
                seen += 1
                for field_, message in item.problems:
                    problems.append(IngestProblem(str(path), item.line, field_, message))
                if item.row is not None:
                    rows.append({**item.row, "guardrails": item.guardrails, "line": item.line})
            if seen >= limit:
                break
    except FileProblem as exc:
        problems.append(IngestProblem(str(path), exc.line, exc.field, exc.message))
    return IngestPreview(format=fmt, rows=rows, problems=problems)


def ingest_file(
    engine: Engine,
    *,
    path: str | os.PathLike[str],
    format: str | None = None,
    on_error: Literal["abort", "skip"] = "abort",
    update: bool = False,
    rejects_path: str | os.PathLike[str] | None = None,
    batch_size: int = 2000,
    actor: Actor = SYSTEM,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport:
    """Import a trace file in one transaction with one `data.ingest` audit event.

    abort: validate everything first; any bad record -> nothing written, `report.aborted`, problems listed.
    skip: good records imported; bad ones counted and, with `rejects_path`, written there as JSONL
    {"line", "source", "errors": [{"field", "message"}]}. Raises PermissionDenied without `import_data`.
    """
    require(actor, "import_data")
    if on_error not in ("abort", "skip"):
        raise ValidationFailed(f"on_error must be abort or skip, not {on_error!r}")
    if not Path(path).is_file():
        raise ValidationFailed(f"{path}: no such file")
    fmt = detect_format(path, format)
    if on_error == "abort":
        checked = validate_file(path=path, format=fmt, batch_size=batch_size, progress=progress)
        if not checked.ok:
            checked.on_error = on_error
            return checked
    report = IngestReport(path=str(path), format=fmt, on_error=on_error)
    report.rejects_path = str(rejects_path) if rejects_path and on_error == "skip" else None
    name = str(path)
    with ExitStack() as stack:
        rejects = stack.enter_context(open(rejects_path, "wb")) if report.rejects_path else None
        session = stack.enter_context(session_scope(engine))
        conn = session.connection()
        try:
            for batch in batches(path, fmt, _clamp(batch_size), _reporter(progress, "write", report)):
                good = []
                for item in batch:
                    report.records += 1
                    if not item.problems:
                        good.append(item)
                        continue
                    if on_error == "abort":
                        raise ValidationFailed(
                            f"{name}:{item.line}: the file changed while it was imported; nothing written"
                        )
                    report.rejected += 1
                    _problems(report, name, item)
                    if rejects is not None:
                        errors = [{"field": f, "message": m} for f, m in item.problems]
                        rejects.write(
                            orjson.dumps({"line": item.line, "source": item.source_text(), "errors": errors})
                            + b"\n"
                        )
                _write_batch(conn, good, update=update, report=report)
        except FileProblem as exc:
            raise ValidationFailed(f"{name}:{exc.line}: {exc.field}: {exc.message}") from exc
        payload = report.as_dict(limit=0)
        payload.pop("problems")
        audit.record(
            session,
            actor=actor,
            action="data.ingest",
            entity="trace",
            entity_id=Path(path).name,
            payload=payload,
        )
    return report


def _clamp(batch_size: int) -> int:
    return max(1, min(int(batch_size), 10_000))


def _reporter(
    progress: Callable[[IngestProgress], None] | None, phase: str, report: IngestReport
) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda fraction: progress(IngestProgress(phase=phase, records=report.records, fraction=fraction))


def _guard_key(event: dict[str, Any]) -> tuple[str, ...]:
    return (event["ts"].isoformat(), event["name"], event["stage"], event["action"], repr(event["score"]))


def _write_batch(conn: Any, items: list[Item], *, update: bool, report: IngestReport) -> None:
    if not items:
        return
    by_id = {item.row["external_id"]: item for item in items if item.row is not None}
    existing = {
        r["external_id"]: r
        for r in conn.execute(select(_TRACE).where(_TRACE.c.external_id.in_(list(by_id)))).mappings()
    }
    stored_guards: dict[int, list[tuple[str, ...]]] = {}
    if existing:
        ids = [r["id"] for r in existing.values()]
        for g in conn.execute(select(_GUARD).where(_GUARD.c.trace_id.in_(ids))).mappings():
            stored_guards.setdefault(g["trace_id"], []).append(_guard_key(dict(g)))
    new, changed = [], []
    for ext, item in by_id.items():
        old = existing.get(ext)
        if old is None:
            new.append(item)
            continue
        same = all(old[c] == item.row[c] for c in TRACE_COLUMNS) and sorted(
            stored_guards.get(old["id"], [])
        ) == sorted(_guard_key(g) for g in item.guardrails)
        if same:
            report.unchanged += 1
        elif update:
            changed.append((old["id"], item))
        else:
            report.existing_changed += 1
            report.unchanged += 1
    if new:
        conn.execute(insert(_TRACE), [item.row for item in new])
        ids = dict(
            conn.execute(
                select(_TRACE.c.external_id, _TRACE.c.id).where(
                    _TRACE.c.external_id.in_([i.row["external_id"] for i in new])
                )
            )
            .tuples()
            .all()
        )
        _insert_guards(conn, [(ids[item.row["external_id"]], item) for item in new], report)
        report.inserted += len(new)
    if changed:
        values = {c: bindparam(f"v_{c}") for c in TRACE_COLUMNS}
        stmt = sa_update(_TRACE).where(_TRACE.c.id == bindparam("v_id")).values(values)
        conn.execute(
            stmt, [{"v_id": tid, **{f"v_{c}": item.row[c] for c in TRACE_COLUMNS}} for tid, item in changed]
        )
        conn.execute(delete(_GUARD).where(_GUARD.c.trace_id.in_([tid for tid, _ in changed])))
        _insert_guards(conn, changed, report)
        report.updated += len(changed)


def _insert_guards(conn: Any, pairs: list[tuple[int, Item]], report: IngestReport) -> None:
    rows = [
        {
            **{c: g[c] for c in GUARDRAIL_COLUMNS},
            "trace_id": tid,
            "segment": item.row["segment"],
            "release": item.row["release"],
        }
        for tid, item in pairs
        for g in item.guardrails
    ]
    if rows:
        conn.execute(insert(_GUARD), rows)
        report.guardrail_events += len(rows)
