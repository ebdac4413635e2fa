"""One OTLP export request's spans -> stored traces, in the caller's transaction (OTLP over HTTP).

The same steps as a file import, on spans already decoded: `otlp.records_of` maps them (the one
GenAI / OpenInference mapping), `readers.parse_item` checks each record (the same rules, the same
future-timestamp horizon, the same cost filling), `writer.write_batch` stores the new ones. A span id
already stored is left as it is and counted `unchanged`: an exporter that retries a batch (after a
timeout, a 503 or a dropped connection) never duplicates a trace.

Every span the request carried is accounted for: stored (or already stored), not an LLM span (chains,
tools, embeddings: nothing of them is kept, as in a file import), or rejected with the reason -- a
missing or malformed id, a record the checks refuse, or a retriever / guardrail span whose trace has no
LLM span in the same request (its documents or verdict would have nowhere to go).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlmodel import Session

from review_store import audit
from review_store.ingest.files import Horizon
from review_store.ingest.otlp import records_of, unowned
from review_store.ingest.otlp_spans import Span
from review_store.ingest.readers import Item, parse_item
from review_store.ingest.report import IngestReport
from review_store.ingest.writer import Writer, write_batch
from review_store.permissions import Actor

_TRACE_ID, _SPAN_ID = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


@dataclass(frozen=True)
class SpanRejection:
    """One span not stored, and why (`field: message` as in a file import's problems)."""

    trace_id: str
    span_id: str
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"span {self.span_id or '?'} ({self.name!r}) of trace {self.trace_id or '?'}: {self.field}: {self.message}"


@dataclass
class SpanBatchReport:
    spans: int = 0  # spans in the request
    llm_spans: int = 0  # spans that map to a trace record
    inserted: int = 0
    unchanged: int = 0  # already stored: a retried export
    existing_changed: int = 0  # already stored with other values: left as stored
    guardrail_events: int = 0
    other_spans: int = 0  # not LLM, retriever or guardrail spans: nothing of them is kept
    rejected: list[SpanRejection] = field(default_factory=list)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one request's spans are mapped and stored: they are ~30
    acyclic objects a span, freed by reference counting, yet their allocation kept triggering full
    collections that rescanned every live object (measured: three quarters of the mapping's CPU time).
    Process-wide, so with requests on several threads the last one to finish may find it already back
    on: it only ever errs towards collecting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bad_id(span: Span) -> SpanRejection | None:
    if not _TRACE_ID.fullmatch(span.trace_id) or span.trace_id == _ZERO_TRACE:
        return SpanRejection(
            span.trace_id, span.span_id, span.name, "traceId", "must be 16 bytes, not all zero"
        )
    if not _SPAN_ID.fullmatch(span.span_id) or span.span_id == _ZERO_SPAN:
        return SpanRejection(
            span.trace_id, span.span_id, span.name, "spanId", "must be 8 bytes, not all zero"
        )
    return None


def items_of(spans: list[Span], horizon: Horizon, report: SpanBatchReport) -> list[Item]:
    """The request's LLM spans as parsed, checked items (good ones only); rejections go to `report`."""
    report.spans = len(spans)
    valid = []
    for span in spans:
        bad = _bad_id(span)
        if bad is not None:
            report.rejected.append(bad)
        else:
            valid.append(span)
    for span in unowned(valid):
        report.rejected.append(
            SpanRejection(
                span.trace_id, span.span_id, span.name, "trace",
                f"a {span.kind} span is stored with its trace's LLM span, and no LLM span of this trace came "
                "in the same request; export the trace's spans together (e.g. a larger batch size)",
            )
        )  # fmt: skip
    report.other_spans = sum(1 for s in valid if s.kind == "other")
    good: dict[str, Item] = {}
    for n, (record, problems) in enumerate(records_of(valid), start=1):
        report.llm_spans += 1
        item = Item(n, record, None, problems)
        parse_item(item, horizon)
        otel = record["meta"]["otel"]
        if item.problems or item.row is None:
            for field_, message in item.problems:
                report.rejected.append(
                    SpanRejection(otel["trace_id"], otel["span_id"], otel["name"], field_, message)
                )
        elif item.row["external_id"] in good:
            report.unchanged += 1  # the same span twice in one request: stored once
        else:
            good[item.row["external_id"]] = item
    return list(good.values())


def store_items(
    session: Session, *, items: list[Item], report: SpanBatchReport, actor: Actor, source: str
) -> None:
    """Store the new ones of `items_of`'s items as traces (with their context and guardrail events) in the
    caller's transaction, with one `data.ingest` audit event when anything new was stored."""
    if items:
        counts = IngestReport(path=source, format="otlp-http")
        write_batch(Writer(session.connection()), items, update=False, report=counts)
        report.inserted, report.guardrail_events = counts.inserted, counts.guardrail_events
        report.unchanged += counts.unchanged + counts.pruned  # a pruned span's numbers are in the rollups
        report.existing_changed = counts.existing_changed
    if report.inserted:
        payload = {
            "source": source, "format": "otlp-http", "spans": report.spans, "inserted": report.inserted,
            "unchanged": report.unchanged, "rejected": len(report.rejected),
            "guardrail_events": report.guardrail_events,
        }  # fmt: skip
        audit.record(
            session, actor=actor, action="data.ingest", entity="trace", entity_id=source, payload=payload
        )
