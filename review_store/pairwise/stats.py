"""Paired statistics for pairwise outcomes: per item, A (the candidate) better, B (the baseline) better,
or a tie. Pure Python/numpy, no database.

- win rate = (wins + ties / 2) / n: a tie is half a win for each side, so 0.5 means "no difference"
  whatever the tie share, and all ties gives exactly 0.5.
- delta = (wins - losses) / n, in [-1, 1]: the net share of items the candidate improves (ties count in n,
  so a tie-heavy comparison has a small delta). win rate = 0.5 + delta / 2.
- sign test: exact two-sided binomial test of wins against losses with p = 1/2, ties dropped (the
  classic sign test); p = 1 when there are no wins and no losses. The same value as
  `scipy.stats.binomtest(wins, wins + losses, 0.5).pvalue` (checked in tests/test_pairwise_stats.py).
- paired bootstrap CI of delta: resample the n items with replacement `resamples` times (seeded numpy
  PCG64, so deterministic) and take the percentile interval. Delta depends on a resample only through its
  counts of wins, losses and ties, so each resample is drawn as one multinomial(n; the observed shares)
  draw: the same distribution as resampling item indices, in O(resamples) whatever n is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import comb
from typing import Literal

import numpy as np

Outcome = Literal["a", "b", "tie"]
OUTCOMES: tuple[str, ...] = ("a", "b", "tie")
DEFAULT_RESAMPLES = 4000
DEFAULT_SEED = 20260301


@dataclass(frozen=True)
class PairedStats:
    """Counts and statistics of one question's pairwise outcomes (A = candidate, B = baseline)."""

    n: int
    wins: int  # A better
    losses: int  # B better
    ties: int
    win_rate: float | None  # (wins + ties/2) / n; None without items
    delta: float | None  # (wins - losses) / n
    sign_p: float  # exact two-sided sign test, ties dropped
    ci_low: float | None  # paired bootstrap percentile CI of delta
    ci_high: float | None
    confidence: float
    resamples: int
    seed: int


def count_outcomes(outcomes: Iterable[str]) -> tuple[int, int, int]:
    """(wins, losses, ties) of outcomes in {"a", "b", "tie"}; anything else is a ValueError."""
    counts = {"a": 0, "b": 0, "tie": 0}
    for o in outcomes:
        if o not in counts:
            raise ValueError(f"a pairwise outcome is one of a, b, tie; got {o!r}")
        counts[o] += 1
    return counts["a"], counts["b"], counts["tie"]


def sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided sign test p-value: P(as extreme a split) under Binomial(wins + losses, 1/2)."""
    if wins < 0 or losses < 0:
        raise ValueError("counts must not be negative")
    m = wins + losses
    if m == 0:
        return 1.0
    k = min(wins, losses)
    if 2 * k == m:
        return 1.0
    tail = sum(comb(m, i) for i in range(k + 1))  # exact integers, then one division
    return min(1.0, 2 * tail / 2**m)


def bootstrap_delta_ci(
    wins: int,
    losses: int,
    ties: int,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Percentile CI of (wins - losses) / n from a paired bootstrap over the items; None without items."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    n = wins + losses + ties
    if n == 0:
        return None
    rng = np.random.Generator(np.random.PCG64(seed))
    draws = rng.multinomial(n, [wins / n, losses / n, ties / n], size=resamples)
    deltas = (draws[:, 0] - draws[:, 1]) / n
    alpha = 1 - confidence
    low, high = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_stats(
    outcomes: Iterable[str],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedStats:
    """Win rate, delta, sign test and bootstrap CI of one question's outcomes (see the module doc)."""
    wins, losses, ties = count_outcomes(outcomes)
    n = wins + losses + ties
    ci = bootstrap_delta_ci(wins, losses, ties, confidence=confidence, resamples=resamples, seed=seed)
    return PairedStats(
        n=n,
        wins=wins,
        losses=losses,
        ties=ties,
        win_rate=(wins + ties / 2) / n if n else None,
        delta=(wins - losses) / n if n else None,
        sign_p=sign_test_p(wins, losses),
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
