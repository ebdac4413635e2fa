"""A real HTTP API server for tests: uvicorn on a free loopback port, in a thread of this process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from review_store.api import create_app
from review_store.api.ratelimit import RateLimit
from review_store.desk import SYSTEM, Desk


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_api(desk: Desk, *, rate_limit: RateLimit | None = None) -> Iterator[str]:
    """The API on `desk`, served on 127.0.0.1:<free port> until the block ends; yields its base URL."""
    app = create_app(desk, rate_limit=rate_limit or RateLimit(rate_per_s=10_000, burst=10_000))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # the first start imports litellm: ~14 s of CPU, a minute at load 14
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def api_key(desk: Desk, username: str, label: str = "test") -> str:
    """A fresh API key for `username`, issued as an admin would (the built-in system identity)."""
    return desk.apikeys.create(actor=SYSTEM, username=username, label=label).secret


def client(base: str, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30)
