"""The one error mapping: every domain error class has its HTTP status, consistent with the CLI's exit
codes (what exits 2 -- the caller must change something -- is a 4xx), and 503 carries Retry-After."""

from __future__ import annotations

import httpx
import pytest
import uvicorn

from review_store.api import create_app
from review_store.api.errors import RateLimited, Unauthenticated, field_of, http_status_for
from review_store.desk import Desk
from review_store.errors import (
    ConflictError,
    DatabaseBusy,
    DatabaseNotEmpty,
    DatabaseUnavailable,
    NotFound,
    PermissionDenied,
    SignInLocked,
    ValidationFailed,
    exit_code_for,
)
from tests.api_server import free_port

CASES = [
    (ValidationFailed("answers.tone: must be 1..5"), 400),
    (Unauthenticated("no key"), 401),
    (PermissionDenied("no"), 403),
    (SignInLocked("locked", until=None), 403),
    (NotFound("none"), 404),
    (ConflictError("twice"), 409),
    (DatabaseNotEmpty("data"), 409),
    (RateLimited("slow down", retry_after=1.5), 429),
    (DatabaseBusy("busy"), 503),
    (DatabaseUnavailable("gone"), 503),
    (RuntimeError("bug"), 500),
]


@pytest.mark.parametrize("exc,status", CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_status_for_each_error(exc, status) -> None:
    assert http_status_for(exc) == status
    if exit_code_for(exc) == 2:
        assert 400 <= status < 500


def test_field_of_a_validation_message() -> None:
    assert field_of("answers.tone: must be 1..5") == "answers.tone"
    assert field_of("scores[1].value: correctness: 9 is outside 1..5") == "scores[1].value"
    assert field_of("no rubric yet: a lead creates one") is None


def test_busy_database_is_503_with_retry_after(tmp_path) -> None:
    app = create_app(Desk.open(f"sqlite:///{tmp_path / 'x.db'}"))

    @app.get("/api/v1/_busy_probe")
    def busy() -> None:
        raise DatabaseBusy("another writer held the database; nothing was written, try again")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    import threading
    import time

    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/_busy_probe")
    finally:
        server.should_exit = True
        thread.join(10)
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["error"] == {"status": 503, "type": "DatabaseBusy", "message": str(DatabaseBusy(
        "another writer held the database; nothing was written, try again"))}  # fmt: skip
