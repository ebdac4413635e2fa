"""A per-key token bucket, in memory: `rate` requests a second on average, bursts of up to `burst`.

Each API process keeps its own buckets (several replicas each allow the rate). Time here is a duration
(time.monotonic), not domain time, so it does not come from the store's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class RateLimit(BaseModel):
    """The budget of one API key. REVIEW_STORE_API_RATE_PER_S / REVIEW_STORE_API_BURST, or --rate/--burst."""

    model_config = ConfigDict(frozen=True)

    rate_per_s: float = Field(default=20.0, gt=0, le=1_000_000)
    burst: int = Field(default=60, ge=1, le=1_000_000)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """take(key) -> 0.0 when the request may go ahead, else the seconds until one token is back."""

    MAX_KEYS = 100_000  # forget the idlest buckets beyond this (a full bucket is the same as none)

    def __init__(self, limit: RateLimit, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        with self._lock:
            now = self._now()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(tokens=burst, stamp=now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def _forget_full(self, now: float) -> None:
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * rate >= burst]
        for k in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]
