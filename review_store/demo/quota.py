"""Exact counts instead of coin flips: how the demo world makes its story hold for every seed and end date.

A coin flip per trace ("wrong with probability 6%") lets a series drift by chance: on one seed a quiet
fortnight of a rare guardrail followed by a cluster of three events looks like an anomaly, on another the
judge's agreement sample lands just under the trust bar. Here every quantity the story depends on is a
count fixed in advance: `Quota.take(key, n, p)` hands out round(p x everything seen so far in the series)
minus what it already gave, so any window of a series holds p x its size give or take one. The seed only
decides WHICH traces get the counted property (and the words, hours, latencies), never how many.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

__all__ = ["Quota", "split", "spread"]


class Quota:
    """Running exact allocation per series key: the cumulative count is round(sum of n x p) at every step."""

    def __init__(self) -> None:
        self._expected: dict[Hashable, float] = defaultdict(float)
        self._given: dict[Hashable, int] = defaultdict(int)

    def take(self, key: Hashable, n: int, p: float) -> int:
        """How many of the next `n` members of series `key` get the property (0..n)."""
        self._expected[key] += n * p
        k = max(0, min(n, math.floor(self._expected[key] + 0.5) - self._given[key]))
        self._given[key] += k
        return k

    def split(self, key: Hashable, n: int, weights: Sequence[float]) -> list[int]:
        """Share `n` between categories by weight, each category's running total within one of its share."""
        total = float(sum(weights))
        cats = [(key, i) for i in range(len(weights))]
        for cat, w in zip(cats, weights, strict=True):
            self._expected[cat] += n * w / total
        behind = [self._expected[c] - self._given[c] for c in cats]  # sums to n
        counts = [max(0, math.floor(b + 0.5)) for b in behind]
        while sum(counts) < n:
            counts[max(range(len(cats)), key=lambda i: behind[i] - counts[i])] += 1
        while sum(counts) > n:
            counts[min((i for i in range(len(cats)) if counts[i]), key=lambda i: behind[i] - counts[i])] -= 1
        for cat, k in zip(cats, counts, strict=True):
            self._given[cat] += k
        return counts


def split(n: int, weights: Sequence[float]) -> list[int]:
    """`n` shared by weight with largest remainders: the counts sum to n, each within one of its share."""
    total = float(sum(weights))
    exact = [n * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def spread(pool_size: int, k: int, jitter: Sequence[float]) -> list[int]:
    """k indices into a time-ordered pool, one from each of k equal slices (so picks cover the whole span).

    `jitter` (k numbers in [0, 1), from the seed) chooses the position inside each slice.
    """
    k = min(k, pool_size)
    out = []
    for j in range(k):
        lo, hi = j * pool_size // k, (j + 1) * pool_size // k  # integer slices: distinct, non-empty
        out.append(lo + min(hi - lo - 1, math.floor(jitter[j] * (hi - lo))))
    return out
