"""Paired statistics of pairwise outcomes, checked against scipy's exact binomial test and an independent
paired bootstrap (resampling item indices) written here, plus Hypothesis properties."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from review_store.pairwise.stats import bootstrap_delta_ci, count_outcomes, paired_stats, sign_test_p

outcome_lists = st.lists(st.sampled_from(["a", "b", "tie"]), max_size=120)


@pytest.mark.parametrize("m", [1, 2, 5, 10, 17, 40, 101])
def test_sign_test_equals_scipy_binomtest_for_every_split(m):
    for wins in range(m + 1):
        expected = binomtest(wins, m, 0.5, alternative="two-sided").pvalue
        assert sign_test_p(wins, m - wins) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@settings(max_examples=300, deadline=None)
@given(wins=st.integers(0, 600), losses=st.integers(0, 600))
def test_sign_test_equals_scipy_binomtest(wins, losses):
    expected = 1.0 if wins + losses == 0 else binomtest(wins, wins + losses, 0.5).pvalue
    assert sign_test_p(wins, losses) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_ties_are_dropped_from_the_sign_test_and_half_a_win_in_the_win_rate():
    s = paired_stats(["a"] * 12 + ["b"] * 3 + ["tie"] * 5)
    assert (s.n, s.wins, s.losses, s.ties) == (20, 12, 3, 5)
    assert s.win_rate == pytest.approx((12 + 2.5) / 20)
    assert s.delta == pytest.approx(9 / 20)
    assert s.sign_p == pytest.approx(binomtest(12, 15, 0.5).pvalue)
    assert s.sign_p < 0.05 and s.ci_low > 0  # a clear improvement
    all_ties = paired_stats(["tie"] * 8)
    assert (all_ties.win_rate, all_ties.delta, all_ties.sign_p) == (0.5, 0.0, 1.0)
    assert (all_ties.ci_low, all_ties.ci_high) == (0.0, 0.0)
    empty = paired_stats([])
    assert (empty.n, empty.win_rate, empty.delta, empty.ci_low, empty.sign_p) == (0, None, None, None, 1.0)


def independent_bootstrap(outcomes: list[str], resamples: int, seed: int, confidence: float = 0.95):
    """The textbook paired bootstrap: resample item indices, recompute (wins - losses) / n."""
    rng = random.Random(seed)
    value = {"a": 1, "b": -1, "tie": 0}
    scores = [value[o] for o in outcomes]
    n = len(scores)
    deltas = sorted(sum(scores[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    alpha = 1 - confidence
    return float(np.quantile(deltas, alpha / 2)), float(np.quantile(deltas, 1 - alpha / 2))


@pytest.mark.parametrize(
    ("wins", "losses", "ties"), [(60, 40, 20), (30, 45, 75), (10, 10, 0), (95, 2, 3), (5, 1, 0)]
)
def test_bootstrap_ci_agrees_with_an_independent_index_bootstrap(wins, losses, ties):
    outcomes = ["a"] * wins + ["b"] * losses + ["tie"] * ties
    random.Random(1).shuffle(outcomes)
    n = len(outcomes)
    ours = bootstrap_delta_ci(wins, losses, ties, resamples=20_000, seed=7)
    theirs = independent_bootstrap(outcomes, resamples=20_000, seed=99)
    # two Monte Carlo estimates of the same percentiles: within a few resampling steps (1/n each)
    assert ours[0] == pytest.approx(theirs[0], abs=max(0.02, 2.5 / n))
    assert ours[1] == pytest.approx(theirs[1], abs=max(0.02, 2.5 / n))
    # and the normal approximation's interval for the mean of the +1/0/-1 scores, for large n
    if n >= 100:
        scores = np.array([{"a": 1, "b": -1, "tie": 0}[o] for o in outcomes], dtype=float)
        half = 1.96 * scores.std() / np.sqrt(n)
        assert ours[0] == pytest.approx(scores.mean() - half, abs=0.02)
        assert ours[1] == pytest.approx(scores.mean() + half, abs=0.02)


def test_bootstrap_is_deterministic_for_a_seed():
    first = paired_stats(["a", "b", "tie", "a", "a"] * 9, seed=3)
    again = paired_stats(["a", "b", "tie", "a", "a"] * 9, seed=3)
    assert first == again and first.seed == 3
    assert (first.ci_low, first.ci_high) == bootstrap_delta_ci(27, 9, 9, seed=3)


@settings(max_examples=200, deadline=None)
@given(outcomes=outcome_lists, seed=st.integers(0, 2**32 - 1))
def test_properties(outcomes, seed):
    s = paired_stats(outcomes, resamples=500, seed=seed)
    assert s.wins + s.losses + s.ties == s.n == len(outcomes)
    # order does not matter (the statistics are of counts)
    assert paired_stats(list(reversed(outcomes)), resamples=500, seed=seed) == s
    swapped = paired_stats([{"a": "b", "b": "a"}.get(o, o) for o in outcomes], resamples=500, seed=seed)
    assert swapped.sign_p == s.sign_p
    assert 0.0 < s.sign_p <= 1.0
    if not s.n:
        return
    assert s.win_rate == pytest.approx(0.5 + s.delta / 2)
    assert swapped.win_rate == pytest.approx(1 - s.win_rate)
    assert swapped.delta == pytest.approx(-s.delta)
    assert -1.0 <= s.ci_low <= s.ci_high <= 1.0
    assert s.ci_low - 1e-12 <= s.delta <= s.ci_high + 1e-12  # the estimate is the resamples' mean


def test_bad_outcomes_and_arguments_are_refused():
    with pytest.raises(ValueError, match="one of a, b, tie"):
        count_outcomes(["a", "A"])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_delta_ci(1, 1, 1, confidence=1.0)
    with pytest.raises(ValueError, match="negative"):
        sign_test_p(-1, 2)
