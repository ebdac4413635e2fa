"""OTLP/HTTP request bodies -> spans: decoded with opentelemetry-proto, never by hand.

A body is `application/x-protobuf` (what the OpenTelemetry SDKs send) or `application/json` (OTLP/JSON:
trace and span ids as hex, 64-bit integers as strings, enums as numbers or names), optionally gzip.
Both become an `ExportTraceServiceRequest`, whose spans become the same `Span` values the OTLP file
reader makes (`review_store.ingest.otlp_spans`), so one mapping (`review_store.ingest.otlp.records_of`)
turns both into trace records. Anything that is not such a request is a `BadRequest` naming why.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import orjson
from google.protobuf.json_format import ParseDict
from google.protobuf.json_format import ParseError as JsonParseError
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from review_store.ingest.otlp_spans import Span, classify
from review_store.ingest.values import DEPTH_MESSAGE, MAX_JSON_DEPTH

PROTOBUF, JSON = "application/x-protobuf", "application/json"
_HEX_TRACE, _HEX_SPAN = re.compile(r"[0-9a-fA-F]{32}"), re.compile(r"[0-9a-fA-F]{16}")
_ID_KEYS = {"traceId": _HEX_TRACE, "spanId": _HEX_SPAN, "parentSpanId": _HEX_SPAN}
_ID_KEYS |= {"trace_id": _HEX_TRACE, "span_id": _HEX_SPAN, "parent_span_id": _HEX_SPAN}


class BadRequest(ValueError):
    """The body is not an OTLP trace export this receiver can read; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class TooLarge(BadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(message, 413)


def media_type(content_type: str | None) -> str:
    """PROTOBUF or JSON from a Content-Type header; BadRequest (415) for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise BadRequest(
        f"Content-Type {content_type or '(none)'!r} is not supported: send {PROTOBUF} or {JSON}", 415
    )


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip, deflate or none), refused past `limit` bytes."""
    kind = (encoding or "identity").strip().lower()
    if kind in ("identity", ""):
        return body
    if kind not in ("gzip", "deflate"):
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none", 415)
    inflater = zlib.decompressobj(wbits=31 if kind == "gzip" else 15)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid {kind} data: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the body is over {limit:,} bytes once decompressed; send smaller batches")
    if not inflater.eof:
        raise BadRequest(f"the {kind} body is cut off")
    return out


def _hex_ids_to_base64(node: Any, depth: int = 0) -> None:
    """OTLP/JSON writes ids as hex; the protobuf JSON mapping reads bytes as base64: convert in place."""
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body is {DEPTH_MESSAGE}")
    if isinstance(node, dict):
        for key, value in node.items():
            pattern = _ID_KEYS.get(key)
            if pattern is not None and isinstance(value, str) and pattern.fullmatch(value):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)


def decode(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """An ExportTraceServiceRequest from a (decompressed) body of `kind` (PROTOBUF or JSON)."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise BadRequest(f"the body is not a protobuf ExportTraceServiceRequest: {exc}") from None
        return request
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest(
            f"the JSON body must be an ExportTraceServiceRequest object, got {type(document).__name__}"
        )
    _hex_ids_to_base64(document)
    try:
        ParseDict(document, request, ignore_unknown_fields=True)
    except (JsonParseError, RecursionError, ValueError, TypeError) as exc:
        raise BadRequest(f"the JSON body is not an ExportTraceServiceRequest: {exc}") from None
    return request


def encode_response(rejected: int, message: str, kind: str) -> bytes:
    """ExportTraceServiceResponse (partial_success only when something was rejected or said) as `kind`."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    from google.protobuf.json_format import MessageToJson

    return MessageToJson(response, indent=None).encode()


def any_value(value: Any, depth: int = 1) -> Any:
    """One protobuf AnyValue -> a Python value, like `otlp_spans.attr_value` does for OTLP/JSON."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, which)
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(f"an attribute value is {DEPTH_MESSAGE}")
    if which == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    return base64.b64encode(value.bytes_value).decode()  # bytes: as the JSON mapping writes them


def _attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        value = kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = any_value(value)
    return out


def spans_of_request(request: ExportTraceServiceRequest) -> list[Span]:
    """Every span of the request with its resource attributes, classified like the file reader's."""
    out: list[Span] = []
    for rs in request.resource_spans:
        resource = _attributes(rs.resource.attributes)
        for scope in rs.scope_spans:
            for s in scope.spans:
                status: dict[str, Any] = {}
                if s.status.code:
                    status["code"] = s.status.code
                if s.status.message:
                    status["message"] = s.status.message
                span = Span(
                    trace_id=s.trace_id.hex(),
                    span_id=s.span_id.hex(),
                    parent_id=s.parent_span_id.hex(),
                    name=s.name,
                    start_ns=s.start_time_unix_nano or None,
                    end_ns=s.end_time_unix_nano or None,
                    attrs=_attributes(s.attributes),
                    events=[(e.name, e.time_unix_nano or None, _attributes(e.attributes)) for e in s.events],
                    status=status,
                    resource=resource,
                )
                span.kind = classify(span)
                out.append(span)
    return out
