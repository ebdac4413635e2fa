"""A scripted OpenAI-compatible chat server on loopback, so judge tests exercise real HTTP and litellm parsing.

Behaviour is chosen per request by a marker found in the prompt text (tests put the marker in a trace's
output): `server.script("[[slow]]", Reply(hang=True))`. Replies for a marker are consumed in order and
the last one repeats, so `script(m, Reply(status=429), Reply(content=...))` means "429 once, then OK".
Requests without a marker get `server.default`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = '{"value": 4, "confidence": 0.9, "rationale": "fine"}'
    status: int = 200
    hang: bool = False  # never answer (until the server stops)
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 100
    completion_tokens: int = 20


class JudgeServer:
    """Start with `with JudgeServer() as server:`; `server.api_base` is what a judge config points at."""

    def __init__(self) -> None:
        self.default = Reply()
        self.requests: list[dict[str, Any]] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, marker: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[marker] = list(replies)

    def calls_with(self, marker: str) -> int:
        """How many requests carried the marker (retries included)."""
        with self._lock:
            return sum(marker in _prompt_text(body) for body in self.requests)

    def __enter__(self) -> JudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _pick(self, body: dict[str, Any]) -> Reply:
        text = _prompt_text(body)
        with self._lock:
            self.requests.append(body)
            for marker, replies in self._scripts.items():
                if marker in text:
                    return replies.pop(0) if len(replies) > 1 else replies[0]
            return self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                reply = server._pick(body)
                if reply.hang:
                    server._stop.wait(30)
                    return
                if reply.status != 200:
                    error = {
                        "message": f"scripted status {reply.status}",
                        "type": "scripted",
                        "code": reply.status,
                    }
                    self._send(reply.status, {"error": error}, reply.headers)
                    return
                self._send(200, _completion(body, reply), reply.headers)

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test-judge"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
