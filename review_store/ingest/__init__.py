"""Production traces in: JSONL, CSV, Parquet and OTLP-JSON files -> Trace and GuardrailEvent rows.

Files are streamed (JSONL/OTLP line by line, CSV through csv.reader, Parquet through iter_batches) in
batches bounded by count and bytes, and written with executemany inserts, so memory stays flat for any
file size. Duplicate ids inside a file are tracked in a temporary on-disk SQLite table, not in RAM.

Every import is one pass and one transaction with its audit event: `on_error="abort"` writes batches
until a bad record appears, then only validates (to list every problem) and rolls back at the end, so
nothing is written when any record is bad; `on_error="skip"` writes the good records and sends the bad
ones (source text + problems) to a rejects JSONL file. Re-importing is idempotent on `trace_id`; changed
records are rewritten only with `update=True`. New rows go in through `review_store.ingest.writer`
(SQLite: the driver's executemany; PostgreSQL: Core). Field rules live in `review_store.ingest.records`,
`.checks` and `.values`, whole-file checks in `.files`, the OTLP mapping in `.otlp`.

Nothing crashes on hostile input: a directory, an empty file, a file not of the declared format, a
damaged Parquet or gzip file, JSON nested deeper than the limit, a NUL character, a timestamp beyond the
future tolerance (`clock.now()` plus `future_tolerance`, default one day) -- each is a problem
`file:line: field: message`, never a traceback.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from review_store import audit, clock
from review_store.db import session_scope
from review_store.errors import ValidationFailed
from review_store.ingest.files import FORMATS, FileProblem, Horizon, check_path, detect_format
from review_store.ingest.readers import Item, batches
from review_store.ingest.report import (
    MAX_KEPT_PROBLEMS,
    SHOWN_PROBLEMS,
    IngestAborted,
    IngestPreview,
    IngestProblem,
    IngestProgress,
    IngestReport,
)
from review_store.ingest.values import MAX_JSON_DEPTH
from review_store.ingest.writer import Writer, sqlite_values, write_batch
from review_store.permissions import SYSTEM, Actor, require

DEFAULT_FUTURE_TOLERANCE = timedelta(days=1)
__all__ = [
    "DEFAULT_FUTURE_TOLERANCE",
    "FORMATS",
    "MAX_JSON_DEPTH",
    "MAX_KEPT_PROBLEMS",
    "SHOWN_PROBLEMS",
    "IngestAborted",
    "IngestPreview",
    "IngestProblem",
    "IngestProgress",
    "IngestReport",
    "detect_format",
    "ingest_file",
    "ingest_into",
    "preview_file",
    "validate_file",
]

PathLike = str | os.PathLike[str]


def _problems(report: IngestReport, name: str, item: Item) -> None:
    for field_, message in item.problems:
        report.add_problem(IngestProblem(name, item.line, field_, message))


def _horizon(future_tolerance: timedelta) -> Horizon:
    if future_tolerance < timedelta(0):
        raise ValidationFailed(f"the future tolerance must not be negative, got {future_tolerance}")
    return Horizon(clock.now(), future_tolerance)


def validate_file(
    *,
    path: PathLike,
    format: str | None = None,
    name: str | None = None,
    batch_size: int = 2000,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport:
    """Check every record without touching a database (the Import page's validate step).

    `name` is how the file is called in messages (default: the path), e.g. an upload's own name."""
    name = name or str(path)
    check_path(path, name)
    fmt = detect_format(path, format, name)
    report = IngestReport(path=name, format=fmt)
    horizon = _horizon(future_tolerance)
    try:
        with _collector_paused():
            reporter = _reporter(progress, "validate", report)
            for batch in _collecting(batches(path, fmt, _clamp(batch_size), reporter, None, horizon)):
                for item in batch:
                    report.records += 1
                    if item.problems:
                        report.rejected += 1
                        _problems(report, name, item)
    except FileProblem as exc:
        report.add_problem(IngestProblem(name, exc.line, exc.field, exc.message))
        report.file_problem = str(report.errors[-1]) if report.errors else exc.message
    report.aborted = report.n_errors > 0
    return report


def preview_file(
    *,
    path: PathLike,
    format: str | None = None,
    name: str | None = None,
    limit: int = 20,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> IngestPreview:
    """The first `limit` records as they would be stored, with their problems (for the Import page)."""
    name = name or str(path)
    check_path(path, name)
    fmt = detect_format(path, format, name)
    horizon = _horizon(future_tolerance)
    rows: list[dict[str, Any]] = []
    problems: list[IngestProblem] = []
    seen = 0
    try:
        for batch in batches(path, fmt, max(1, limit), None, None, horizon):
            for item in batch[: limit - seen]:
                seen += 1
                for field_, message in item.problems:
                    problems.append(IngestProblem(name, item.line, field_, message))
                if item.row is not None:
                    rows.append({**item.row, "guardrails": item.guardrails, "line": item.line})
            if seen >= limit:
                break
    except FileProblem as exc:
        problems.append(IngestProblem(name, exc.line, exc.field, exc.message))
    return IngestPreview(format=fmt, rows=rows, problems=problems)


def ingest_file(engine: Engine, **options: Any) -> IngestReport:
    """`ingest_into` in a transaction of its own on `engine` (scripts, tests, benchmarks).

    An aborted import comes back as its report (`report.aborted`), with nothing written."""
    try:
        with session_scope(engine) as session:
            return ingest_into(session, **options)
    except IngestAborted as exc:
        return exc.report


def ingest_into(
    session: Session,
    *,
    path: PathLike,
    format: str | None = None,
    name: str | None = None,
    on_error: Literal["abort", "skip"] = "abort",
    update: bool = False,
    rejects_path: PathLike | None = None,
    batch_size: int = 2000,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    actor: Actor = SYSTEM,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport:
    """Import a trace file inside the caller's transaction, with one `data.ingest` audit event.

    One pass: batches are written as they are validated. abort: once a bad record is seen nothing more
    is written but every record is still checked; then IngestAborted (carrying the report) is raised so
    the caller's transaction rolls back and nothing is stored. skip: good records imported; bad ones
    counted and, with `rejects_path`, written there as JSONL {"line", "source", "errors": [{"field",
    "message"}]}. A file that cannot be read on (`report.file_problem`) keeps, in skip mode, the good
    records read before that point. Raises PermissionDenied without `import_data`, ValidationFailed for a
    path that is not a readable file, an unknown format, or a value the database refuses.
    """
    require(actor, "import_data")
    if on_error not in ("abort", "skip"):
        raise ValidationFailed(f"on_error must be abort or skip, not {on_error!r}")
    name = name or str(path)
    check_path(path, name)
    fmt = detect_format(path, format, name)
    report = IngestReport(path=name, format=fmt, on_error=on_error)
    report.rejects_path = str(rejects_path) if rejects_path and on_error == "skip" else None
    horizon = _horizon(future_tolerance)
    with ExitStack() as stack, _collector_paused():
        rejects = stack.enter_context(open(report.rejects_path, "wb")) if report.rejects_path else None
        _run(session, path, fmt, horizon, update, batch_size, progress, report, rejects)
    unreadable = report.file_problem is not None and report.records == report.rejected
    if report.n_errors and (on_error == "abort" or unreadable):
        # abort mode, or a file with no good record before it became unreadable: roll back, nothing
        # stored, nothing audited
        report.inserted = report.updated = report.unchanged = report.existing_changed = 0
        report.guardrail_events = 0
        report.aborted = True
        raise IngestAborted(report)
    payload = report.as_dict(limit=0)
    payload.pop("problems")
    payload["path"] = Path(name).name
    audit.record(
        session, actor=actor, action="data.ingest", entity="trace", entity_id=Path(name).name, payload=payload
    )
    return report


def _run(
    session: Session,
    path: PathLike,
    fmt: str,
    horizon: Horizon,
    update: bool,
    batch_size: int,
    progress: Callable[[IngestProgress], None] | None,
    report: IngestReport,
    rejects: IO[bytes] | None,
) -> None:
    name, skip = report.path, report.on_error == "skip"
    writer = Writer(session.connection(), accumulate=True)
    prepare = sqlite_values if writer.sqlite else None
    reporter = _reporter(progress, "write", report)
    try:
        for batch in _collecting(batches(path, fmt, _clamp(batch_size), reporter, prepare, horizon)):
            good = []
            for item in batch:
                report.records += 1
                if not item.problems:
                    good.append(item)
                    continue
                report.rejected += 1
                _problems(report, name, item)
                if rejects is not None:
                    _reject(rejects, item.line, item.source_text(), item.problems)
            if skip or not report.n_errors:
                _write(writer, good, update, report)
    except FileProblem as exc:
        problem = IngestProblem(name, exc.line, exc.field, exc.message)
        report.add_problem(problem)
        report.file_problem = str(problem)
        if rejects is not None:
            _reject(rejects, exc.line, None, [(exc.field, exc.message)])
    writer.flush()  # the rollups of every batch written, in the import's transaction


def _reject(rejects: IO[bytes], line: int, source: str | None, problems: Iterable[tuple[str, str]]) -> None:
    errors = [{"field": f, "message": m} for f, m in problems]
    rejects.write(orjson.dumps({"line": line, "source": source, "errors": errors}) + b"\n")


def _write(writer: Writer, items: list[Item], update: bool, report: IngestReport) -> None:
    """write_batch; a value the database still refuses becomes bad input naming the lines, not a crash."""
    try:
        write_batch(writer, items, update=update, report=report)
    except DataError as exc:
        lines = f"{items[0].line}-{items[-1].line}" if items else "?"
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        raise ValidationFailed(
            f"{report.path}:{items[0].line if items else 0}: batch: the database refused a value in lines "
            f"{lines} ({reason}); nothing was written"
        ) from exc


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
