"""OTLP-JSON documents -> spans: the file layer of the OTLP import (`review_store.ingest.otlp` maps the
spans to trace records; the README's "OTLP mapping" table says which attribute becomes which field).

Input: files as the OpenTelemetry Collector's file exporter writes them (one ExportTraceServiceRequest
JSON object per line) or one protobuf-JSON document (``MessageToJson``, possibly pretty-printed).
Both key spellings are read (``resourceSpans`` and ``resource_spans``), trace/span ids as hex (OTLP/JSON)
or base64 (plain protobuf JSON mapping), attribute values as ``stringValue``, ``intValue`` (a string),
``doubleValue``, ``boolValue``, ``arrayValue`` and ``kvlistValue`` (nested at most MAX_JSON_DEPTH levels).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import methodcaller
from typing import IO, Any

import orjson

from review_store.ingest.values import DEPTH_MESSAGE, MAX_JSON_DEPTH

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
NOT_OTLP = "it has no resourceSpans (a JSONL trace record? use --format jsonl)"
_EPOCH = datetime(1970, 1, 1)
_HEX = re.compile(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}")
_LLM_OPS = {"chat", "text_completion", "generate_content"}
_IS_DOCUMENT_KEY = methodcaller("startswith", "retrieval.documents.")


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: int | None
    end_ns: int | None
    attrs: dict[str, Any]
    events: list[tuple[str, int | None, dict[str, Any]]]
    status: dict[str, Any]
    resource: dict[str, Any]
    kind: str = field(default="other")


def _get(obj: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    return obj.get(camel, obj.get(snake, default))


def attr_value(value: Any, depth: int = 1) -> Any:
    """One OTLP AnyValue -> a Python value; ValueError when arrays/kvlists nest deeper than the limit."""
    if not isinstance(value, dict):
        return value
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"attribute value {DEPTH_MESSAGE}")
    for camel, snake, conv in (
        ("stringValue", "string_value", str),
        ("boolValue", "bool_value", bool),
        ("intValue", "int_value", int),
        ("doubleValue", "double_value", float),
        ("bytesValue", "bytes_value", str),
    ):
        if camel in value or snake in value:
            return conv(_get(value, camel, snake))
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        return [attr_value(v, depth + 1) for v in array.get("values", [])]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return attributes(kvlist.get("values", []), depth + 1)
    return None


def attributes(kvs: Any, depth: int = 1) -> dict[str, Any]:
    return {
        kv["key"]: attr_value(kv.get("value", {}), depth)
        for kv in kvs or []
        if isinstance(kv, dict) and "key" in kv
    }


def _hex_id(value: Any) -> str:
    if not value:
        return ""
    text = str(value)
    if _HEX.fullmatch(text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except ValueError:
        return text


def _nanos(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def when(nanos: int | None) -> datetime | int | None:
    """Nanoseconds since the epoch as a datetime; a value out of range stays a number, which the record
    checks then refuse with their message ("epoch time ... is out of range")."""
    if nanos is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        return nanos


def iter_documents(fh: IO[bytes]) -> Iterator[tuple[int, Any, str | None]]:
    """(line, parsed JSON, error): one per line, or the whole file when it is one multi-line document."""
    first, lineno = b"", 0
    while not first.strip():
        first = fh.readline()
        lineno += 1
        if not first:
            return
    try:
        yield lineno, orjson.loads(first), None
    except orjson.JSONDecodeError:
        rest = fh.read(MAX_DOCUMENT_BYTES)
        if fh.read(1):
            yield lineno, None, "a single OTLP document over 512 MB: write one request per line instead"
            return
        try:
            yield lineno, orjson.loads(first + rest), None
        except orjson.JSONDecodeError as exc:
            yield lineno, None, f"not valid JSON: {exc}"
        return
    for raw in fh:
        lineno += 1
        if not raw.strip():
            continue
        try:
            yield lineno, orjson.loads(raw), None
        except orjson.JSONDecodeError as exc:
            yield lineno, None, f"not valid JSON: {exc}"


def spans_of(document: Any) -> list[Span]:
    """Every span of an ExportTraceServiceRequest (or a list of them), with resource attributes."""
    requests = document if isinstance(document, list) else [document]
    out: list[Span] = []
    for request in requests:
        if not isinstance(request, dict):
            raise ValueError("expected an ExportTraceServiceRequest object with resourceSpans")
        if "resourceSpans" not in request and "resource_spans" not in request:
            raise ValueError(NOT_OTLP)
        for rs in _get(request, "resourceSpans", "resource_spans", []):
            resource = attributes((rs.get("resource") or {}).get("attributes"))
            scopes = _get(rs, "scopeSpans", "scope_spans") or rs.get("instrumentationLibrarySpans") or []
            for scope in scopes:
                for s in scope.get("spans", []):
                    events = [
                        (
                            e.get("name", ""),
                            _nanos(_get(e, "timeUnixNano", "time_unix_nano")),
                            attributes(e.get("attributes")),
                        )
                        for e in s.get("events", [])
                    ]
                    span = Span(
                        trace_id=_hex_id(_get(s, "traceId", "trace_id")),
                        span_id=_hex_id(_get(s, "spanId", "span_id")),
                        parent_id=_hex_id(_get(s, "parentSpanId", "parent_span_id")),
                        name=s.get("name", ""),
                        start_ns=_nanos(_get(s, "startTimeUnixNano", "start_time_unix_nano")),
                        end_ns=_nanos(_get(s, "endTimeUnixNano", "end_time_unix_nano")),
                        attrs=attributes(s.get("attributes")),
                        events=events,
                        status=s.get("status") or {},
                        resource=resource,
                    )
                    span.kind = classify(span)
                    out.append(span)
    return out


def is_guardrail(name: str, attrs: dict[str, Any]) -> bool:
    return "guardrail" in name.lower() or "guardrail.name" in attrs or "guardrail.action" in attrs


def classify(span: Span) -> str:
    """llm | retriever | guardrail | other."""
    a = span.attrs
    oi = str(a.get("openinference.span.kind", "")).upper()
    op = str(a.get("gen_ai.operation.name", "")).lower()
    if oi in ("LLM", "RETRIEVER", "GUARDRAIL"):
        return {"LLM": "llm", "RETRIEVER": "retriever", "GUARDRAIL": "guardrail"}[oi]
    if is_guardrail(span.name, a):
        return "guardrail"
    if op in ("retrieval", "retrieve") or "gen_ai.retrieval.documents" in a:
        return "retriever"
    if any(map(_IS_DOCUMENT_KEY, a)):  # map: the loop over the keys runs in C
        return "retriever"
    if op == "embeddings" or oi == "EMBEDDING":
        return "other"
    if op in _LLM_OPS or "gen_ai.request.model" in a or "gen_ai.response.model" in a:
        return "llm"
    return "other"
