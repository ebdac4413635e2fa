"""Production traces in: JSONL, CSV, Parquet and OTLP-JSON files -> Trace and GuardrailEvent rows.

Files are streamed (JSONL/OTLP line by line, CSV through csv.reader, Parquet through iter_batches) in
batches bounded by count and bytes, and written with executemany inserts, so memory stays flat for any
file size. Duplicate ids inside a file are tracked in a temporary on-disk SQLite table, not in RAM.

Every import is one pass and one transaction with its audit event: `on_error="abort"` writes batches
until a bad record appears, then only validates (to list every problem) and rolls back at the end, so
nothing is written when any record is bad; `on_error="skip"` writes the good records and sends the bad
ones (source text + problems) to a rejects JSONL file. Re-importing is idempotent on `trace_id`; changed
records are rewritten only with `update=True`. New rows go in through `review_store.ingest_writer`
(SQLite: the driver's executemany; PostgreSQL: Core). Field rules live in `review_store.ingest_records`
and `review_store.ingest_checks`, the OTLP mapping in `review_store.otlp`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, delete, select
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine

from review_store import audit
from review_store.db import session_scope
from review_store.errors import ValidationFailed
from review_store.ingest.readers import FORMATS, FileProblem, Item, batches, detect_format
from review_store.ingest.records import TRACE_COLUMNS
from review_store.ingest.writer import Writer, insert_guards, sqlite_values
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
    """Check every record without touching a database (the Import page's validate step)."""
    fmt = detect_format(path, format)
    report = IngestReport(path=str(path), format=fmt)
    name = str(path)
    try:
        with _collector_paused():
            for batch in _collecting(
                batches(path, fmt, _clamp(batch_size), _reporter(progress, "validate", report))
            ):
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


class _Abort(Exception):
    """Raised inside the transaction to roll it back when abort mode found a problem."""


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

    One pass: batches are written as they are validated. abort: once a bad record is seen nothing more
    is written but every record is still checked; at the end any problem rolls the transaction back
    (nothing written, `report.aborted`, problems listed). skip: good records imported; bad ones counted
    and, with `rejects_path`, written there as JSONL {"line", "source", "errors": [{"field", "message"}]}.
    Raises PermissionDenied without `import_data`.
    """
    require(actor, "import_data")
    if on_error not in ("abort", "skip"):
        raise ValidationFailed(f"on_error must be abort or skip, not {on_error!r}")
    if not Path(path).is_file():
        raise ValidationFailed(f"{path}: no such file")
    fmt = detect_format(path, format)
    report = IngestReport(path=str(path), format=fmt, on_error=on_error)
    report.rejects_path = str(rejects_path) if rejects_path and on_error == "skip" else None
    try:
        with _collector_paused():
            _ingest(engine, path, fmt, on_error, update, batch_size, actor, progress, report)
    except _Abort:
        # rolled back: nothing was written, so nothing was inserted, updated or kept
        report.inserted = report.updated = report.unchanged = report.existing_changed = 0
        report.guardrail_events = 0
        report.aborted = True
    return report


def _ingest(
    engine: Engine,
    path: str | os.PathLike[str],
    fmt: str,
    on_error: str,
    update: bool,
    batch_size: int,
    actor: Actor,
    progress: Callable[[IngestProgress], None] | None,
    report: IngestReport,
) -> None:
    name = str(path)
    with ExitStack() as stack:
        rejects = stack.enter_context(open(report.rejects_path, "wb")) if report.rejects_path else None
        session = stack.enter_context(session_scope(engine))
        writer = Writer(session.connection())
        try:
            reporter = _reporter(progress, "write", report)
            prepare = sqlite_values if writer.sqlite else None
            for batch in _collecting(batches(path, fmt, _clamp(batch_size), reporter, prepare)):
                good = []
                for item in batch:
                    report.records += 1
                    if not item.problems:
                        good.append(item)
                        continue
                    report.rejected += 1
                    _problems(report, name, item)
                    if rejects is not None:
                        errors = [{"field": f, "message": m} for f, m in item.problems]
                        rejects.write(
                            orjson.dumps({"line": item.line, "source": item.source_text(), "errors": errors})
                            + b"\n"
                        )
                if on_error == "skip" or not report.n_errors:
                    _write_batch(writer, good, update=update, report=report)
        except FileProblem as exc:
            if on_error == "skip":
                raise ValidationFailed(f"{name}:{exc.line}: {exc.field}: {exc.message}") from exc
            report.add_problem(IngestProblem(name, exc.line, exc.field, exc.message))
        if on_error == "abort" and report.n_errors:
            raise _Abort
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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a file's records: they are acyclic dicts and lists freed by
    reference counting, yet each batch keeps ~30,000 of them alive, which made the collector rescan them
    over a thousand times per 50,000 records (half the import's CPU time). `_collecting` still runs a
    young-generation collection every few batches, so cycles made meanwhile cannot pile up."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collecting(batches: Iterable[list[Item]], every: int = 16) -> Iterator[list[Item]]:
    for n, batch in enumerate(batches, start=1):
        yield batch
        if n % every == 0:
            gc.collect(1)


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


def _write_batch(writer: Writer, items: list[Item], *, update: bool, report: IngestReport) -> None:
    if not items:
        return
    by_id = {item.row["external_id"]: item for item in items if item.row is not None}
    present = writer.present(list(by_id))
    existing = writer.stored(present) if present else {}
    stored_guards: dict[int, list[tuple[str, ...]]] = {}
    if existing:
        ids = [r["id"] for r in existing.values()]
        for g in writer.conn.execute(select(_GUARD).where(_GUARD.c.trace_id.in_(ids))).mappings():
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
        report.guardrail_events += writer.insert(new)
        report.inserted += len(new)
    if changed:
        conn = writer.conn
        values = {c: bindparam(f"v_{c}") for c in TRACE_COLUMNS}
        values["input_chars"] = bindparam("v_input_chars")
        stmt = sa_update(_TRACE).where(_TRACE.c.id == bindparam("v_id")).values(values)
        conn.execute(
            stmt,
            [
                {
                    "v_id": tid,
                    "v_input_chars": len(item.row["input"]),
                    **{f"v_{c}": item.row[c] for c in TRACE_COLUMNS},
                }
                for tid, item in changed
            ],
        )
        conn.execute(delete(_GUARD).where(_GUARD.c.trace_id.in_([tid for tid, _ in changed])))
        report.guardrail_events += insert_guards(conn, changed)
        report.updated += len(changed)
