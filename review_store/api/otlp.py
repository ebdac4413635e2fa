"""`POST /v1/traces`: an OTLP/HTTP trace receiver (what an OpenTelemetry SDK or Collector exports to).

- Body: `application/x-protobuf` or `application/json` (OTLP/JSON), optionally `Content-Encoding: gzip`
  (or deflate); decoded with opentelemetry-proto (`review_store.ingest.otlp_proto`), mapped and stored
  by the facade (`desk.ingest.import_spans`: the same GenAI / OpenInference mapping, checks and cost
  filling as an OTLP file).
- Acknowledged only once committed: a 200 means every span it does not list as rejected is stored.
  Idempotent on trace/span id, so an exporter's retry never stores a span twice.
- Partial success: `ExportTraceServiceResponse.partial_success` says how many spans were rejected and,
  in `error_message`, which (trace/span id, name) and why.
- Limits: a body over `max_body_bytes` (as sent, or once decompressed) -> 413. Backpressure: at most
  `queue` requests are admitted at once (being stored or waiting for the writer); one more gets 503
  with `Retry-After`, which the OpenTelemetry SDK exporters honour before retrying.
- Authentication: an API key of the desk (`Authorization: Bearer KEY`), acting as its user, who needs
  the import_data permission (lead or admin); 401 without a valid key, 403 without the permission.
  This route is not under the REST API's per-key rate limit: its backpressure is the queue.

Errors are `google.rpc.Status` messages in the request's encoding, as the OTLP specification asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Request, Response
from google.protobuf.json_format import MessageToJson
from google.rpc.status_pb2 import Status

from review_store.desk import Desk
from review_store.desk.ingest import SpanImportView
from review_store.errors import DatabaseBusy, DatabaseUnavailable, PermissionDenied, ValidationFailed
from review_store.ingest import otlp_proto
from review_store.ingest.otlp_batch import collector_paused
from review_store.ingest.otlp_proto import JSON, PROTOBUF, BadRequest
from review_store.permissions import Actor

SHOWN_REJECTIONS = 20  # spans named in error_message; the count covers them all
_GRPC_CODE = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 500: 13, 503: 14}  # google.rpc.Code


@dataclass(frozen=True)
class OtlpLimits:
    """Size and concurrency limits of the receiver (defaults: the settings, REVIEW_STORE_OTLP_*)."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_decoded_bytes: int = 64 * 1024 * 1024
    queue: int = 8  # requests admitted at once (being stored + waiting for the writer)
    workers: int = 1  # requests decoded and stored at once (SQLite has one writer)
    retry_after_s: int = 1

    @classmethod
    def from_settings(cls) -> OtlpLimits:
        from review_store.config import get_settings

        s = get_settings()
        return cls(
            max_body_bytes=s.otlp_max_body_mb * 1024 * 1024,
            max_decoded_bytes=s.otlp_max_decoded_mb * 1024 * 1024,
            queue=s.otlp_queue,
            workers=s.otlp_workers,
            retry_after_s=s.otlp_retry_after_s,
        )


class OtlpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _desk(request: Request) -> Desk:
    return request.app.state.desk


def _secret(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, secret = auth.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise OtlpError(
            401,
            "an API key is required: send 'Authorization: Bearer KEY' (OTEL_EXPORTER_OTLP_HEADERS="
            "'Authorization=Bearer KEY'); an admin creates keys in Settings > API keys",
            {"WWW-Authenticate": 'Bearer realm="review-desk"'},
        )
    return secret.strip()


def key_actor(request: Request) -> Actor:
    """The API key's user (401 for no key or a key that is unknown, revoked, expired or deactivated).

    The REST API's scheme (`desk.apikeys`: keys of kind "api", stamped with their last use), without its
    per-key rate limit: an exporter's flow is held back by the queue instead."""
    secret = _secret(request)
    host = request.client.host if request.client else "unknown"
    try:
        return _desk(request).apikeys.authenticate(secret=secret, origin=f"otlp from {host}").actor()
    except PermissionDenied as exc:
        raise OtlpError(401, str(exc), {"WWW-Authenticate": 'Bearer realm="review-desk"'}) from None


class Admission:
    """At most `capacity` requests admitted at once; touched only from the event loop, so no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = max(1, capacity), 0

    def enter(self) -> bool:
        if self.used >= self.capacity:
            return False
        self.used += 1
        return True

    def leave(self) -> None:
        self.used -= 1


def _status_body(status: int, message: str, kind: str) -> bytes:
    body = Status(code=_GRPC_CODE.get(status, 2), message=message)
    return body.SerializeToString() if kind == PROTOBUF else MessageToJson(body, indent=None).encode()


def rejection_message(view: SpanImportView) -> str:
    """partial_success.error_message: how many spans were rejected, then the first ones and why."""
    if not view.rejected:
        return ""
    shown = "; ".join(str(r) for r in view.rejected[:SHOWN_REJECTIONS])
    more = len(view.rejected) - SHOWN_REJECTIONS
    tail = f"; ... and {more} more" if more > 0 else ""
    return f"{len(view.rejected)} of {view.spans} spans rejected: {shown}{tail}"


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise OtlpError(
            413, f"the body is {int(declared):,} bytes, over the limit of {limit:,}; send smaller batches"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise OtlpError(413, f"the body is over the limit of {limit:,} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(limits: OtlpLimits | None = None, *, warm_costs: bool = True) -> APIRouter:
    """The receiver's router (mount it at the root: the path is the standard /v1/traces).

    The app must hold the desk in `app.state.desk`. `warm_costs`: the server's start (its lifespan)
    imports litellm (seconds) before it accepts a connection, so no export waits for it: an exporter
    gives up on a request after 10 s by default."""
    limits = limits or OtlpLimits.from_settings()
    admission = Admission(limits.queue)
    writers = anyio.CapacityLimiter(max(1, limits.workers))

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        if warm_costs:  # before the server accepts a connection (uvicorn runs this first)
            from review_store.ingest import costs

            await anyio.to_thread.run_sync(costs.warm)
        yield

    router = APIRouter(tags=["otlp"], lifespan=lifespan)

    def store(desk: Desk, who: Actor, body: bytes, kind: str, encoding: str | None) -> SpanImportView:
        with collector_paused():
            raw = otlp_proto.inflate(body, encoding, limits.max_decoded_bytes)
            spans = otlp_proto.spans_of_request(otlp_proto.decode(raw, kind))
            return desk.ingest.import_spans(actor=who, spans=spans, source="otlp-http")

    @router.post(
        "/v1/traces",
        summary="OTLP/HTTP trace export (protobuf or JSON, gzip)",
        response_class=Response,
        responses={
            200: {"description": "ExportTraceServiceResponse; partial_success names rejected spans"},
            401: {"description": "no valid API key"},
            403: {"description": "the key's user may not import data"},
            413: {"description": "body over the size limit"},
            415: {"description": "unsupported Content-Type or Content-Encoding"},
            503: {"description": "queue full or database busy; retry after Retry-After seconds"},
        },
    )
    async def export_traces(request: Request) -> Response:
        kind = JSON if "json" in (request.headers.get("content-type") or "").lower() else PROTOBUF
        try:
            kind = otlp_proto.media_type(request.headers.get("content-type"))
            if not admission.enter():  # first: a full queue costs nothing, not even the key's lookup
                raise OtlpError(
                    503,
                    f"the receiver's queue is full ({limits.queue} requests in progress); retry after "
                    f"{limits.retry_after_s} s",
                    {"Retry-After": str(limits.retry_after_s)},
                )
            try:
                who = await anyio.to_thread.run_sync(key_actor, request)
                body = await _body(request, limits.max_body_bytes)
                encoding = request.headers.get("content-encoding")
                view = await anyio.to_thread.run_sync(
                    store, _desk(request), who, body, kind, encoding, limiter=writers
                )
            finally:
                admission.leave()
        except OtlpError as exc:
            return _error(exc.status, exc.message, kind, exc.headers)
        except BadRequest as exc:
            return _error(exc.status, str(exc), kind)
        except ValidationFailed as exc:
            return _error(400, str(exc), kind)
        except PermissionDenied as exc:
            return _error(403, str(exc), kind)
        except (DatabaseBusy, DatabaseUnavailable) as exc:
            return _error(503, str(exc), kind, {"Retry-After": str(limits.retry_after_s)})
        body = otlp_proto.encode_response(len(view.rejected), rejection_message(view), kind)
        return Response(body, media_type=kind)

    return router


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    return Response(_status_body(status, message, kind), status_code=status, media_type=kind, headers=headers)
