"""A local webhook receiver for alert tests: an http.server thread on 127.0.0.1:0 that records every
request and answers from a script (e.g. 500 then 200), or hangs to test timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int | str] = []  # next answers: a status code, or "hang"; then `default`
        self.default: int | str = 200
        self.hang_seconds = 2.0
        self._lock = threading.Lock()
        self.url = ""

    def answer(self) -> int | str:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    @property
    def payloads(self) -> list[Any]:
        return [r["json"] for r in self.requests]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"null")}
            )
            answer = receiver.answer()
            if answer == "hang":
                time.sleep(receiver.hang_seconds)
                answer = 200
            self.send_response(int(answer))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if int(answer) < 300 else b"receiver says no")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
