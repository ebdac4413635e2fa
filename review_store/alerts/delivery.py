"""Sending one notification to a webhook with httpx: bounded attempts, exponential backoff, a timeout
per attempt. A 2xx answer is delivered; anything else (another status, a timeout, a refused connection)
is retried until the attempts run out. Every attempt comes back for the caller to record.

Only the send timing reads a monotonic timer (durations); the attempt times are the check's time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from review_store.alerts.webhooks import resolved_refusal


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # at most this many tries per notification
    backoff_seconds: float = 1.0  # wait before try n+1: backoff x 2^(n-1)
    timeout_seconds: float = 10.0  # per try (connect, read and write)


@dataclass(frozen=True)
class Attempt:
    attempt: int
    ok: bool
    status_code: int | None
    error: str
    duration_ms: float


def send(
    url: str,
    payload: dict[str, Any],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    allow_loopback: bool = True,
    allow_private: bool = True,
) -> list[Attempt]:
    """POST the payload as JSON until a 2xx answer or `policy.attempts` tries; every try, in order.
    A host refused now (alerts.webhooks: by name or by what it resolves to) is one failed attempt, not
    retried and never connected to."""
    why = resolved_refusal(url, allow_loopback=allow_loopback, allow_private=allow_private)
    if why:
        return [Attempt(1, False, None, f"refused: {why}", 0.0)]
    attempts: list[Attempt] = []
    with httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False) as client:
        for n in range(1, policy.attempts + 1):
            if n > 1:
                sleep(policy.backoff_seconds * 2 ** (n - 2))
            started = time.perf_counter()
            status, error = None, ""
            try:
                response = client.post(url, json=payload, headers={"User-Agent": "review-desk-alerts"})
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}: {response.text[:200]}"
            except httpx.TimeoutException as exc:
                error = f"timeout after {policy.timeout_seconds:g} s ({type(exc).__name__})"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            ms = (time.perf_counter() - started) * 1000
            attempts.append(Attempt(n, not error, status, error, round(ms, 1)))
            if not error:
                break
    return attempts
