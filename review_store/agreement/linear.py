"""First-order alpha of a resample, for the bootstrap of tables with many distinct units.

Alpha is 1 - (n - 1) O / E (see `engine`). Under a resample with group weights c (the data itself is
c = freq), n = c . m exactly, and O and E are polynomials in c: O is linear at the nominal, interval and
ratio levels; E is quadratic there (a sum over value pairs); at the ordinal level the mid-ranks move
with the counts, so O is cubic and E = n (n^3 - sum_v n_v^3) / 6 quartic. `Linear` holds their
expansion to first order at c = freq:

    O(c) ~ c . observed - shift        E(c) ~ expected + (c - freq) . slope

(observed is each group's own within-unit term, exact for every level but ordinal, whose term for the
mid-rank shift is folded into it). The remainder is second order in c - freq: relative to E it is
O(1 / units) (for E it is the V-statistic's own small-sample term), so the first-order bootstrap
distribution agrees with the exact one to O(1 / units) while each resample costs O(groups) for every
level, with no pass over the values. `bootstrap_alpha_ci` uses it above `_MULTINOMIAL_MAX_PATTERNS`
distinct units, where that remainder is below 1/2,000 of E, with Poisson resample weights
(`agreement.poisson`; `Linear.alpha` scales them to the data's total first); the tests hold it to an
independent finite-difference implementation and to the exact resamples.

Derivatives (with n_v the value counts of the data and N = n):
- nominal, interval, ratio: E = sum_{v,w} n_v n_w delta(v, w), so dE/dn_v = 2 sum_w n_w delta(v, w),
  the row sums of the distance: N - n_v (nominal); N y_v^2 + sum_w n_w y_w^2 for centred y (interval);
  for ratio N - z [v = 0] - 4 x_v J(x_v) with J(a) = sum_w n_w x_w / (a + x_w)^2 (by the pair sum up to
  `RATIO_DENSE_MAX` values, else through the Laplace integral, J(a) = int s e^{-s a} L(s) ds, on a fine
  grid of log a: x J(x) is a smooth function of log x, interpolated to a relative error below 1e-7).
- ordinal: dE/dn_v = (N^3 - sum n^3) / 6 + N (N^2 - n_v^2) / 2; O = sum over within-unit pairs (a < b)
  of w (t_b - t_a)^2 with t_b - t_a = n_a / 2 + n_(a+1) + ... + n_(b-1) + n_b / 2, so dO/dn_v =
  2 w (t_b - t_a) for a < v < b and half that at v = a or v = b (a difference array over the values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from review_store.agreement.engine import Statistic

_GRID = 5e-4  # spacing in log x of the grid x J(x) is evaluated on (ratio above RATIO_DENSE_MAX values)


@dataclass(frozen=True)
class Linear:
    """Per group: m (pairable values), observed and slope (see the module docstring); totals at the data."""

    m: np.ndarray
    observed: np.ndarray
    slope: np.ndarray
    freq: np.ndarray
    shift: float
    expected: float

    def columns(self) -> np.ndarray:
        """groups x 3: m, observed, slope, so one product with a resamples x groups matrix gives all sums."""
        return np.column_stack([self.m, self.observed, self.slope])

    def alpha(self, sums: np.ndarray) -> np.ndarray:
        """First-order alpha of each resample from its sums (resamples x 3: c.m, c.observed, c.slope).

        The weights are first scaled to the data's number of pairable values (c -> c N / c.m): alpha
        does not depend on a common scale of the weights up to (n - 1)/n, while O and E are homogeneous
        of degree 1 and 2 (3 and 4 at the ordinal level), so without it a resample's total, which
        varies under the Poisson bootstrap, would move both far more than it moves alpha (at 57 items
        a resample with half the data's total had a negative first-order E)."""
        total = float(self.freq @ self.m)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = total / sums[:, 0]
        n = np.full(len(sums), total)
        observed = scale * sums[:, 1] - self.shift
        expected = self.expected + scale * sums[:, 2] - float(self.freq @ self.slope)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1.0 - (n - 1) * observed / expected
        alpha[~np.isfinite(alpha) | ~(expected > 0)] = np.nan
        return alpha


def linear_terms(statistic: Statistic) -> Linear:
    """The first-order terms of alpha at the data for the statistic's groups and level."""
    g, level, base = statistic.g, statistic.level, statistic.base
    freq = g.freq.astype(float)
    n = float(base.sum())
    shift = 0.0
    if level == "nominal":
        expected, gradient = n * n - float(base @ base), 2.0 * (n - base)
        observed = statistic.observed
    elif level == "interval":
        y = statistic.y
        q = float(base @ (y * y))
        expected, gradient = 2.0 * n * q, 2.0 * (n * y * y + q)
        observed = statistic.observed
    elif level == "ordinal":
        cubes = float(base @ (base * base))
        expected = n * (n**3 - cubes) / 6.0
        gradient = (n**3 - cubes) / 6.0 + n * (n * n - base * base) / 2.0
        own, rank_slope = _ordinal_observed(statistic)
        observed = own + rank_slope
        shift = float(freq @ rank_slope)
    else:
        observed = statistic.observed
        expected, gradient = _ratio_expected(statistic), 2.0 * _ratio_row_sums(statistic)
    slope = np.asarray(g.counts @ gradient).reshape(-1)
    return Linear(g.m, np.asarray(observed, dtype=float), slope, freq, shift, float(expected))


def _ordinal_observed(statistic: Statistic) -> tuple[np.ndarray, np.ndarray]:
    """Per group: its observed term at the data's mid-ranks, and the first-order term of the mid-ranks'
    move, sum over the group's values of dO/dn_v (O summed over the data's groups)."""
    g, base = statistic.g, statistic.base
    twice_t = 2.0 * np.cumsum(base) - base  # 2 x mid-rank of each value at the data
    own = g.pair_sum(lambda a, b: ((twice_t[a] - twice_t[b]) / 2.0) ** 2) / (g.m - 1)
    weight = g.freq * 2.0 / (g.m - 1)  # ordered pairs of the data's units, per unordered pair
    size = g.n_values + 1
    interior, ends = np.zeros(size), np.zeros(size)
    for rows, a, b in g.column_pairs:  # a <= b (codes ascend within a group)
        push = weight[rows] * (twice_t[b] - twice_t[a])  # d(w D^2)/dD = 2 w D, with D = (2t_b - 2t_a)/2
        interior += np.bincount(a + 1, push, size) - np.bincount(b, push, size)
        ends += np.bincount(a, push / 2, size) + np.bincount(b, push / 2, size)
    gradient = np.cumsum(interior)[:-1] + ends[:-1]
    return own, np.asarray(g.counts @ gradient).reshape(-1)


def _ratio_expected(statistic: Statistic) -> float:
    """E at the data, as the estimate computes it (pair sum, or n^2 - z^2 - 4 I by the Laplace integral)."""
    kernel, base = statistic.ratio, statistic.base
    if kernel.dense:
        return float(kernel.dense_pairs(base[:, None])[0])
    n, zeros = float(base.sum()), float(base[statistic.g.coord == 0].sum())
    return n * n - zeros * zeros - 4.0 * float(kernel.integral(statistic.laplace[None, :])[0])


def _ratio_row_sums(statistic: Statistic) -> np.ndarray:
    """sum_w n_w delta(v, w) for every value v at the ratio level (n_w: the data's value counts)."""
    kernel, base = statistic.ratio, statistic.base
    x = statistic.g.coord.astype(float)
    n, zeros = float(base.sum()), float(base[x == 0].sum())
    if kernel.dense:
        return kernel.row_sums(base)
    positive = x > 0
    laplace = statistic.laplace  # L(s) at the nodes, values scaled to max 1
    logs = np.log(x[positive] / kernel.scale)
    grid = np.arange(logs.min(), logs.max() + 2 * _GRID, _GRID)
    a = np.exp(grid)
    # x J(x) = x int s e^{-s x} L(s) ds, trapezoid in log s (ds = s dt)
    weighted = kernel.step * kernel.s * kernel.s * laplace
    xj = a * (np.exp(-np.outer(a, kernel.s)) @ weighted)
    rows = np.full(len(x), n - zeros)  # a zero differs from every non-zero value by 1
    rows[positive] = n - 4.0 * np.interp(logs, grid, xj)
    return rows
