"""desk.ingest: trace files in (JSONL, CSV, Parquet, OTLP-JSON) -- preview, validate, import.

The file is read from a path (the UI saves an upload to a temp file first); `name` is how the file is
called in every message, so a user sees the name of the file they chose, never the server's temp path.
Timestamps are checked against the desk's clock plus `future_tolerance` (a timedelta or text like "1d",
"36h", "0").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError

from review_store import clock, ingest
from review_store.desk.base import Part, ReadModel
from review_store.ingest.files import Horizon, parse_tolerance
from review_store.ingest.otlp_batch import SpanBatchReport, collector_paused, items_of, store_items
from review_store.ingest.otlp_spans import Span
from review_store.ingest.values import json_text_of
from review_store.permissions import Actor, refresh_actor, require

FORMATS: tuple[str, ...] = ingest.FORMATS
DEFAULT_FUTURE_TOLERANCE = ingest.DEFAULT_FUTURE_TOLERANCE
MAX_JSON_DEPTH = ingest.MAX_JSON_DEPTH


class ProblemView(ReadModel):
    """One refused record (or the file): `file:line: field: message`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ProgressView(ReadModel):
    phase: str  # validate | write
    records: int
    fraction: float


class IngestReportView(ReadModel):
    """What an import or a validation did; `problems` holds the first 1,000, `n_errors` counts all."""

    name: str
    format: str
    on_error: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    existing_changed: int
    pruned: int  # deleted by a prune before; skipped, their numbers are in the rollups
    rejected: int
    guardrail_events: int
    n_errors: int
    aborted: bool
    file_problem: str | None
    rejects_path: str | None
    problems: tuple[ProblemView, ...]

    @property
    def ok(self) -> bool:
        """Every record fine and the whole file read."""
        return not self.aborted and self.n_errors == 0

    @property
    def complete(self) -> bool:
        """The whole file was read and its (good) records are stored: exit 0 on the CLI."""
        return not self.aborted and self.file_problem is None

    def problem_lines(self, limit: int = ingest.SHOWN_PROBLEMS) -> tuple[str, ...]:
        """The first `limit` problems as `file:line: field: message`, then "... and N more"."""
        lines = [str(p) for p in self.problems[:limit]]
        if self.n_errors > limit:
            lines.append(f"... and {self.n_errors - limit} more")
        return tuple(lines)


class PreviewRow(ReadModel):
    """One record as it would be stored."""

    line: int
    external_id: str
    ts: datetime
    app: str
    segment: str
    release: str
    model: str
    prompt_version: str
    input: str
    output: str
    latency_ms: float | None
    ttft_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None
    cache_hit: bool | None
    user_feedback: str | None
    task_success: bool | None
    context_chunks: int
    guardrails: tuple[str, ...]  # "name stage action"
    meta: str  # the extra fields as JSON text


class PreviewView(ReadModel):
    format: str
    rows: tuple[PreviewRow, ...]
    problems: tuple[ProblemView, ...]


class RejectedSpanView(ReadModel):
    """One span of an OTLP export that was not stored, and why."""

    trace_id: str
    span_id: str
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"span {self.span_id or '?'} ({self.name!r}) of trace {self.trace_id or '?'}: {self.field}: {self.message}"


class SpanImportView(ReadModel):
    """What one OTLP export request did, once committed. Every span is stored (`inserted`), was stored
    before (`unchanged`: a retry), is not an LLM/retriever/guardrail span (`other_spans`), or is in
    `rejected` with its reason."""

    spans: int
    llm_spans: int
    inserted: int
    unchanged: int
    existing_changed: int
    guardrail_events: int
    other_spans: int
    rejected: tuple[RejectedSpanView, ...]


def _span_view(r: SpanBatchReport) -> SpanImportView:
    return SpanImportView(
        spans=r.spans, llm_spans=r.llm_spans, inserted=r.inserted, unchanged=r.unchanged,
        existing_changed=r.existing_changed, guardrail_events=r.guardrail_events, other_spans=r.other_spans,
        rejected=tuple(
            RejectedSpanView(trace_id=x.trace_id, span_id=x.span_id, name=x.name, field=x.field, message=x.message)
            for x in r.rejected
        ),
    )  # fmt: skip


def _problem(p: ingest.IngestProblem) -> ProblemView:
    return ProblemView(file=p.file, line=p.line, field=p.field, message=p.message)


def _report(r: ingest.IngestReport) -> IngestReportView:
    return IngestReportView(
        name=r.path, format=r.format, on_error=r.on_error, records=r.records, inserted=r.inserted,
        updated=r.updated, unchanged=r.unchanged, existing_changed=r.existing_changed, pruned=r.pruned,
        rejected=r.rejected, guardrail_events=r.guardrail_events, n_errors=r.n_errors, aborted=r.aborted,
        file_problem=r.file_problem, rejects_path=r.rejects_path,
        problems=tuple(_problem(p) for p in r.errors),
    )  # fmt: skip


def _row(row: dict) -> PreviewRow:
    guards = tuple(f"{g['name']} {g['stage']} {g['action']}" for g in row["guardrails"])
    return PreviewRow(
        line=row["line"], external_id=row["external_id"], ts=row["ts"], app=row["app"],
        segment=row["segment"], release=row["release"], model=row["model"],
        prompt_version=row["prompt_version"], input=row["input"], output=row["output"],
        latency_ms=row["latency_ms"], ttft_ms=row["ttft_ms"], tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"], cost_usd=row["cost_usd"], cache_hit=row["cache_hit"],
        user_feedback=row["user_feedback"], task_success=row["task_success"],
        context_chunks=len(row["context"]), guardrails=guards,
        meta=json_text_of(row["meta"]) if row["meta"] else "",
    )  # fmt: skip


def _progress(
    callback: Callable[[ProgressView], None] | None,
) -> Callable[[ingest.IngestProgress], None] | None:
    if callback is None:
        return None
    return lambda p: callback(ProgressView(phase=p.phase, records=p.records, fraction=p.fraction))


def _tolerance(value: timedelta | str) -> timedelta:
    return value if isinstance(value, timedelta) else parse_tolerance(value)


class IngestPart(Part):
    def _allowed(self, actor: Actor) -> None:
        """The actor, re-read from the database, may import data (PermissionDenied otherwise)."""
        with self._read() as session:
            require(refresh_actor(session, actor), "import_data")

    def preview(
        self,
        *,
        actor: Actor,
        path: str | os.PathLike[str],
        name: str | None = None,
        format: str | None = None,
        limit: int = 20,
        future_tolerance: timedelta | str = DEFAULT_FUTURE_TOLERANCE,
    ) -> PreviewView:
        """The first `limit` records as they would be stored, and their problems (needs import_data).

        Raises ValidationFailed when the path is not a readable file or the format cannot be told."""
        self._allowed(actor)
        with self._clock():
            preview = ingest.preview_file(
                path=path,
                format=format,
                name=name,
                limit=limit,
                future_tolerance=_tolerance(future_tolerance),
            )
            return PreviewView(
                format=preview.format,
                rows=tuple(_row(r) for r in preview.rows),
                problems=tuple(_problem(p) for p in preview.problems),
            )

    def validate(
        self,
        *,
        actor: Actor,
        path: str | os.PathLike[str],
        name: str | None = None,
        format: str | None = None,
        future_tolerance: timedelta | str = DEFAULT_FUTURE_TOLERANCE,
        progress: Callable[[ProgressView], None] | None = None,
    ) -> IngestReportView:
        """Check every record without writing anything (needs import_data)."""
        self._allowed(actor)
        with self._clock():
            report = ingest.validate_file(
                path=path, format=format, name=name, future_tolerance=_tolerance(future_tolerance),
                progress=_progress(progress),
            )  # fmt: skip
            return _report(report)

    def import_file(
        self,
        *,
        actor: Actor,
        path: str | os.PathLike[str],
        name: str | None = None,
        format: str | None = None,
        on_error: Literal["abort", "skip"] = "abort",
        update: bool = False,
        rejects_path: str | os.PathLike[str] | None = None,
        batch_size: int = 2000,
        future_tolerance: timedelta | str = DEFAULT_FUTURE_TOLERANCE,
        progress: Callable[[ProgressView], None] | None = None,
    ) -> IngestReportView:
        """Import a trace file in one transaction with one `data.ingest` audit event (needs import_data).

        abort: any bad record -> nothing stored (`aborted`, every problem listed). skip: the good records
        are stored and the bad ones written to `rejects_path` with their reasons. A file that cannot be
        read on sets `file_problem` (skip mode keeps the good records read before it). Raises
        PermissionDenied, ValidationFailed (not a readable file, unknown format, bad option).
        """
        try:
            with self._write(actor) as (session, who):
                assert who is not None
                report = ingest.ingest_into(
                    session, path=path, format=format, name=name, on_error=on_error, update=update,
                    rejects_path=rejects_path, batch_size=batch_size,
                    future_tolerance=_tolerance(future_tolerance),
                    actor=who, progress=_progress(progress),
                )  # fmt: skip
                return _report(report)
        except ingest.IngestAborted as aborted:  # rolled back: nothing of the import was kept
            return _report(aborted.report)

    def import_spans(
        self,
        *,
        actor: Actor,
        spans: Sequence[Span],
        source: str = "otlp-http",
        future_tolerance: timedelta | str = DEFAULT_FUTURE_TOLERANCE,
    ) -> SpanImportView:
        """Store decoded OTLP spans (one export request) in one transaction (needs import_data).

        The same mapping and checks as an OTLP file; idempotent on trace/span id, so a retried export
        stores nothing twice. Returns once committed: what it reports stored is stored. Two requests
        racing to store the same new span (PostgreSQL, several receivers) cannot both insert it: the
        loser's transaction fails on the unique id, and it is run once more, finding the span stored.
        Raises PermissionDenied.
        """
        tolerance = _tolerance(future_tolerance)
        with self._clock():  # mapped and checked before the transaction: the write lock is held briefly
            horizon = Horizon(clock.now(), tolerance)
        for attempt in (1, 2):
            report = SpanBatchReport()
            try:
                with collector_paused():
                    items = items_of(list(spans), horizon, report)
                with collector_paused(), self._write(actor) as (session, who):
                    assert who is not None
                    require(who, "import_data")
                    store_items(session, items=items, report=report, actor=who, source=source)
                    return _span_view(report)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
