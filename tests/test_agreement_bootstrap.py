"""The first-order Poisson bootstrap (tables with more than `_MULTINOMIAL_MAX_PATTERNS` distinct units).

Checks, none of which uses the engine's own expansion or weight mapping: a straightforward implementation
of the same bootstrap (Poisson weights drawn by the documented recipe and mapped through scipy's Poisson
CDF, alpha's O and E written from Krippendorff's definitions as functions of per-item weights, their
gradients by central differences, a loop over the resamples) must give the same interval; the weights
follow Poisson(1) and do not depend on the thread count; the interval agrees with the exact multinomial
bootstrap; the first-order alpha of a resample tracks the exact alpha of the resampled table; the 95 %
interval covers the population alpha about 95 % of the time on simulated judge scores; several levels
at once give each level's own interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from review_store import agreement as ag
from review_store.agreement import alpha as alpha_module
from review_store.agreement import engine, poisson
from review_store.agreement.linear import linear_terms


def judge_scores(items: int, seed: int, *, noise: float = 0.1, missing: float = 0.1) -> pd.DataFrame:
    """3 raters: a true score per item plus noise, positive; some cells missing, some exact repeats."""
    rng = np.random.default_rng(seed)
    table = np.abs(rng.random(items) + rng.normal(0, noise, (3, items))) + 1e-3
    table[1, ::4] = table[0, ::4]  # a cached judge answer: nominal agreement is not zero
    table[rng.random((3, items)) < missing] = np.nan
    return pd.DataFrame(table)


def _delta(level: str, domain: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """values x values distance at the value counts `counts` (Krippendorff 2011, section on metrics)."""
    a, b = domain[:, None], domain[None, :]
    if level == "nominal":
        return (a != b).astype(float)
    if level == "interval":
        return (a - b) ** 2
    if level == "ratio":
        return ((a - b) / (a + b)) ** 2
    # ordinal: (sum of n_g for g from c to k, minus (n_c + n_k) / 2)^2
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    index = np.arange(len(domain))
    low, high = np.minimum(index[:, None], index[None, :]), np.maximum(index[:, None], index[None, :])
    between = cumulative[high + 1] - cumulative[low]
    return (between - (counts[:, None] + counts[None, :]) / 2) ** 2


def _poisson_weights(seed: int, resamples: int, items: int) -> np.ndarray:
    """resamples x items Poisson(1) weights by the recipe in `agreement.poisson`'s docstring: chunks of
    CHUNK resamples, each its own SFC64 from SeedSequence(seed).spawn, item blocks of BLOCK, 16-bit
    uniforms u mapped to the smallest k with u < round(65536 P(Poisson(1) <= k))."""
    cuts = np.rint(65536 * stats.poisson.cdf(np.arange(30), 1.0))
    chunks = -(-resamples // poisson.CHUNK)
    out = np.zeros((resamples, items))
    for c, child in enumerate(np.random.SeedSequence(seed).spawn(chunks)):
        bits = np.random.SFC64(child)
        rows = min(poisson.CHUNK, resamples - c * poisson.CHUNK)
        for start in range(0, items, poisson.BLOCK):
            size = min(poisson.BLOCK, items - start)
            words = bits.random_raw((rows * size + 3) // 4)
            u = words.view(np.uint16)[: rows * size].reshape(rows, size)
            out[c * poisson.CHUNK : c * poisson.CHUNK + rows, start : start + size] = np.searchsorted(
                cuts, u, side="right"
            )
    return out


def _reference_ci(table: pd.DataFrame, level: str, seed: int, resamples: int) -> tuple[float, float]:
    data = table.to_numpy()
    pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    domain = np.unique(pairable[~np.isnan(pairable)])
    # h[i, v]: how many times item i holds value v
    h = np.stack(
        [
            np.bincount(np.searchsorted(domain, col[~np.isnan(col)]), minlength=len(domain))
            for col in pairable.T
        ]
    )
    m = h.sum(axis=1).astype(float)

    def observed(c: np.ndarray) -> float:
        d = _delta(level, domain, c @ h)
        return float(sum(c[i] * (h[i] @ d @ h[i] - h[i] @ np.diag(d)) / (m[i] - 1) for i in range(len(h))))

    def expected(c: np.ndarray) -> float:
        counts = c @ h
        return float(counts @ _delta(level, domain, counts) @ counts)

    ones, step = np.ones(len(h)), 1e-3
    o0, e0 = observed(ones), expected(ones)
    grad_o, grad_e = np.zeros(len(h)), np.zeros(len(h))
    for i in range(len(h)):
        up, down = ones.copy(), ones.copy()
        up[i], down[i] = 1 + step, 1 - step
        grad_o[i] = (observed(up) - observed(down)) / (2 * step)
        grad_e[i] = (expected(up) - expected(down)) / (2 * step)
    alphas = []
    for drawn in _poisson_weights(seed, resamples, len(h)):
        c = drawn * (m.sum() / (drawn @ m))  # scaled to the data's number of pairable values
        o = o0 + grad_o @ (c - 1)
        e = e0 + grad_e @ (c - 1)
        alphas.append(1 - (c @ m - 1) * o / e)
    lo, hi = np.percentile(alphas, [2.5, 97.5])
    return float(lo), float(hi)


@pytest.mark.parametrize("level", ag.LEVELS)
def test_first_order_bootstrap_equals_a_straightforward_implementation(level, monkeypatch):
    table = judge_scores(60, seed=1)
    table = pd.concat([table, table.iloc[:, :6]], axis=1, ignore_index=True)  # repeated units: groups of 2
    monkeypatch.setattr(alpha_module, "_MULTINOMIAL_MAX_PATTERNS", 0)  # the Poisson path on a small table
    monkeypatch.setattr(poisson, "BLOCK", 16)  # several item blocks and chunks (the last ones partial)
    ours = ag.bootstrap_alpha_ci(table, level=level, seed=5, resamples=130)
    assert ours == pytest.approx(_reference_ci(table, level, seed=5, resamples=130), abs=1e-9)


def test_poisson_weights_follow_poisson_one_whatever_the_thread_count():
    cuts = poisson.CUTS.astype(int)
    mass = np.diff(np.concatenate([[0], cuts, [65536]])) / 65536  # P(weight = 0..8)
    assert np.abs(mass - stats.poisson.pmf(np.arange(len(mass)), 1.0)).max() <= 1 / 65536
    items = np.random.default_rng(0).random((5000, 3))
    items[:, 0] = 1.0
    one = poisson.poisson_sums(items, 400, seed=9, workers=1)
    assert np.array_equal(one, poisson.poisson_sums(items, 400, seed=9, workers=2))
    assert not np.array_equal(one, poisson.poisson_sums(items, 400, seed=10, workers=2))
    totals = one[:, 0]  # each resample's total weight ~ Poisson(5000)
    assert abs(totals.mean() - 5000) < 5 * np.sqrt(5000 / 400)
    assert 0.8 < totals.var() / 5000 < 1.2


def test_poisson_interval_agrees_with_the_exact_bootstrap():
    """3,000 items (over 2,000 distinct units): our interval against the percentile interval of 1,000
    exact multinomial resamples (each resample's alpha by the exact engine, other draws), within a
    fifth of the interval's width at every level."""
    table = judge_scores(3000, seed=6)
    cis = ag.bootstrap_alpha_cis(table, seed=1, resamples=1000)
    for level in ag.LEVELS:
        groups = ag.encode(table, level=level).groups()
        assert len(groups.freq) > alpha_module._MULTINOMIAL_MAX_PATTERNS
        n = int(groups.freq.sum())
        weights = np.random.default_rng(2).multinomial(n, groups.freq / n, size=1000).astype(float)
        lo, hi = np.percentile(engine.Statistic(groups, level, resampling=True)(weights), [2.5, 97.5])
        assert cis[level] == pytest.approx((lo, hi), abs=0.2 * (hi - lo)), level


@pytest.mark.parametrize("items", [3000, 400])  # Poisson path (one set of weights) and exact path
def test_several_levels_at_once_give_each_level_its_own_interval(items):
    table = judge_scores(items, seed=8) if items > 2000 else judge_scores(items, seed=8).round(1)
    together = ag.bootstrap_alpha_cis(table, seed=3, resamples=200)
    summaries = ag.summarize_levels(table, seed=3, resamples=200)
    for level in ag.LEVELS:
        alone = ag.bootstrap_alpha_ci(table, level=level, seed=3, resamples=200)
        assert together[level] == pytest.approx(alone, abs=1e-12)
        assert summaries[level] == ag.summarize(table, level=level, seed=3, resamples=200)


@pytest.mark.parametrize("level", ag.LEVELS)
def test_first_order_resamples_track_the_exact_resamples(level):
    """Same resample weights: the first-order alpha against the exact alpha of the resampled table
    (`engine.Statistic`, held to the krippendorff package per resample in test_agreement_exact)."""
    groups = ag.encode(judge_scores(3000, seed=2), level=level).groups()
    weights = (
        np.random.default_rng(3)
        .multinomial(int(groups.freq.sum()), groups.freq / groups.freq.sum(), size=300)
        .astype(float)
    )
    exact = engine.Statistic(groups, level, resampling=True)(weights)
    terms = linear_terms(engine.Statistic(groups, level))
    first = terms.alpha(weights @ terms.columns())
    at_data = terms.alpha(groups.freq[None, :].astype(float) @ terms.columns())[0]
    assert at_data == pytest.approx(ag.krippendorff_alpha(judge_scores(3000, seed=2), level=level), abs=1e-12)
    spread = exact.std()
    assert np.abs(first - exact).max() < 0.6 * spread
    assert abs(np.mean(first - exact)) < 0.15 * spread
    lo, hi = np.percentile(exact, [2.5, 97.5])
    assert np.percentile(first, [2.5, 97.5]) == pytest.approx([lo, hi], abs=0.15 * (hi - lo))


def test_ratio_slopes_by_the_laplace_integral_match_the_pair_sum(monkeypatch):
    groups = ag.encode(judge_scores(400, seed=4), level="ratio").groups()
    dense = linear_terms(engine.Statistic(groups, "ratio"))
    monkeypatch.setattr(engine, "RATIO_DENSE_MAX", 100)
    laplace = linear_terms(engine.Statistic(groups, "ratio"))
    assert not engine.Statistic(groups, "ratio").ratio.dense
    assert laplace.expected == pytest.approx(dense.expected, rel=1e-12)
    assert laplace.slope == pytest.approx(dense.slope, rel=1e-7)
    assert np.array_equal(laplace.observed, dense.observed)


@pytest.mark.parametrize("level", ag.LEVELS)
def test_first_order_interval_covers_the_population_alpha(level, monkeypatch):
    """120 simulated tables of 300 items: the 95 % interval holds the population alpha (alpha of 40,000
    items from the same model) in 86-100 % of them (binomial spread of 95 % over 120 tables: +-2 %)."""
    monkeypatch.setattr(alpha_module, "_MULTINOMIAL_MAX_PATTERNS", 0)
    population = ag.krippendorff_alpha(judge_scores(40_000, seed=0, noise=0.15), level=level)
    covered = 0
    for seed in range(1, 121):
        lo, hi = ag.bootstrap_alpha_ci(
            judge_scores(300, seed=seed, noise=0.15), level=level, seed=seed, resamples=300
        )
        covered += lo <= population <= hi
    assert 0.86 <= covered / 120 <= 1.0
