"""The one mapping from errors to HTTP statuses, next to the CLI's exit codes (errors.exit_code_for).

| error                         | HTTP | exit code |
|-------------------------------|------|-----------|
| request body/query invalid    | 400  | 2         |
| ValidationFailed              | 400  | 2         |
| no, unknown or revoked key    | 401  | 2         |
| PermissionDenied (role)       | 403  | 2         |
| NotFound                      | 404  | 2         |
| ConflictError                 | 409  | 1         |
| DatabaseNotEmpty              | 409  | 2         |
| over the key's rate limit     | 429  | -         |
| DatabaseBusy/Unavailable      | 503  | 1         |

Every error body is `{"error": {"status", "type", "message", "field"?}}`; `field` is a dotted path
("body.answers.tone", "query.limit") when one part of the request is to blame.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from review_store.errors import (
    ConflictError,
    DatabaseBusy,
    DatabaseNotEmpty,
    DatabaseUnavailable,
    NotFound,
    PermissionDenied,
    ReviewStoreError,
    ValidationFailed,
)

BUSY_RETRY_AFTER_S = 1


class Unauthenticated(ReviewStoreError):
    """No API key, or one that is unknown, revoked, expired or belongs to a deactivated user (401)."""


class RateLimited(ReviewStoreError):
    """The key spent its request budget; retry after `retry_after` seconds (429)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Most specific first: SignInLocked is a PermissionDenied, Unauthenticated is checked before it.
_STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (Unauthenticated, 401),
    (RateLimited, 429),
    (ValidationFailed, 400),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ConflictError, 409),
    (DatabaseNotEmpty, 409),
    (DatabaseBusy, 503),
    (DatabaseUnavailable, 503),
)


def http_status_for(exc: BaseException) -> int:
    """The HTTP status of a domain error (500 for anything the store did not refuse on purpose)."""
    for cls, status in _STATUSES:
        if isinstance(exc, cls):
            return status
    return 500


def field_of(message: str) -> str | None:
    """The field a ValidationFailed message names ("answers.tone: must be 1..5" -> "answers.tone")."""
    head, sep, _ = message.partition(": ")
    if sep and head and " " not in head.strip() and len(head) <= 120:
        return head.strip()
    return None


def error_body(status: int, kind: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "type": kind, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def _domain(request: Request, exc: ReviewStoreError) -> JSONResponse:
    status = http_status_for(exc)
    message = str(exc)
    field = field_of(message) if isinstance(exc, ValidationFailed) else None
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    elif isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="review-desk"'
    elif status == 503:
        headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    body = error_body(status, type(exc).__name__, message, field)
    extra = getattr(exc, "detail", None)
    if isinstance(extra, dict):
        body["error"]["detail"] = extra
    return JSONResponse(body, status_code=status, headers=headers)


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [{"field": _path(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
    first = problems[0] if problems else {"field": "", "message": "invalid request"}
    body = error_body(400, "ValidationFailed", f"{first['field']}: {first['message']}", first["field"])
    body["error"]["problems"] = problems
    return JSONResponse(body, status_code=400)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "error"
    kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return JSONResponse(
        error_body(exc.status_code, kind, message), status_code=exc.status_code, headers=exc.headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers: domain errors, request validation (400 with the field path), HTTP errors."""
    app.add_exception_handler(ReviewStoreError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
