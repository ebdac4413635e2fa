"""The exact alpha engine: Krippendorff's alpha of a weighted set of units, for the estimate and the bootstrap.

Alpha is 1 - (n - 1) * O / E, where O sums each pairable unit's within-unit disagreement over its ordered
pairs divided by (m_u - 1), and E sums the disagreement of every ordered pair of the n pairable values.
Units with the same multiset of values are one *group* (the estimate weights each group by how many units
it has; a bootstrap resample by how many times its units were drawn), so one function serves both (up
to 2,000 distinct units; above that the bootstrap uses the first-order expansion of this statistic in
`agreement.linear`, O(groups) per resample at every level). No values x values matrix is built except
for ratio with at most `RATIO_DENSE_MAX` distinct values:

- nominal: E = n^2 - sum_v n_v^2 (value counts); values held by one group only enter through that
  group's own sum of squared counts, shared values through a sparse product.
- interval: E = 2 (n sum y^2 - (sum y)^2), per-group sums and sums of squares (y centred once).
- ordinal: Krippendorff's ordinal distance between values c < k is (sum_{g=c..k} n_g - (n_c + n_k)/2)^2,
  which is (t_k - t_c)^2 for the mid-ranks t_v = (n_1 + ... + n_{v-1}) + n_v/2 of the pairable values:
  ordinal alpha is interval alpha on mid-ranks, and E = n (n^3 - sum_v n_v^3) / 6 (the tie-corrected
  rank variance). The mid-ranks depend on the counts, so a resample recomputes them by an integer
  prefix sum over the sorted values: O(V) per resample.
- ratio: ((a-b)/(a+b))^2 = 1 - 4ab/(a+b)^2, so E = n^2 - z^2 - 4 I with z the zeros and
  I = sum_{i,j} x_i x_j / (x_i + x_j)^2 over the non-zero values. Up to `RATIO_DENSE_MAX` distinct values
  I is summed over all value pairs in blocks (O(V^2)); above it, through the exact identity
  1/(a+b)^2 = int_0^inf s e^{-s(a+b)} ds, I = int_0^inf s L(s)^2 ds with L(s) = sum_i x_i e^{-s x_i},
  integrated by the trapezoidal rule in log s (the integrand is smooth and decays at both ends, so
  the rule converges geometrically; step 0.25 gives a relative error below 1e-13, checked against the
  package and a closed-form pair sum in the tests) over Q ~ 150-250 nodes (more for values spread over
  many decades); L at the nodes comes from per-bin power series over 1/64-wide bins of log x (O(20 V)
  for the bins' moments, O(20 bins Q) for the nodes; `_RatioKernel.laplace_of_counts`). L is linear
  in the group weights, so a resample costs O(G Q), with step 0.4 (relative error below 1e-10,
  Q ~ 80-130) and G x Q features held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

RATIO_DENSE_MAX = 4096  # distinct values up to which ratio's expected disagreement is a plain pair sum
_STEP = 0.25  # trapezoid step in log s for the ratio integral of the estimate (relative error < 1e-13)
_RESAMPLE_STEP = 0.4  # ... and of each bootstrap resample (relative error < 1e-10, fewer nodes)
_SERIES_TERMS = 20  # terms of each bin's power series of L(s) (see `_RatioKernel.laplace_of_counts`)
_BIN_REACH = 0.5  # ... used where s x (half-width of the bin) is at most this
_BIN_WIDTH = 1.0 / 64  # bins' width in log x: the reach holds for the bins within s x < 64
_TAIL = 1e-17  # bins dropped at a node add at most this share of L(s)


@dataclass(frozen=True)
class Groups:
    """Pairable units grouped by their multiset of values.

    `packed` is groups x max-ratings of value codes, ascending within a row and padded with -1;
    `freq` counts the units of each group and `inverse` maps each pairable unit to its group.
    `coord` places each value code on a number line (values, or ranks for ordered labels).
    """

    packed: np.ndarray
    freq: np.ndarray
    inverse: np.ndarray
    coord: np.ndarray

    @property
    def n_values(self) -> int:
        return len(self.coord)

    @cached_property
    def m(self) -> np.ndarray:
        return (self.packed >= 0).sum(axis=1).astype(float)

    @cached_property
    def counts(self) -> sparse.csr_matrix:
        """groups x values: how many times each value occurs in each group (sparse)."""
        rows, cols = np.nonzero(self.packed >= 0)
        data = np.ones(len(rows))
        shape = (len(self.packed), self.n_values)
        return sparse.csr_matrix((data, (rows, self.packed[rows, cols])), shape=shape)

    @cached_property
    def column_pairs(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(rows, code a, code b) for every pair of ratings within a group (unordered)."""
        out = []
        for i in range(self.packed.shape[1]):
            for j in range(i + 1, self.packed.shape[1]):
                rows = np.nonzero(self.packed[:, j] >= 0)[0]  # rows are left-packed: j present => i present
                out.append((rows, self.packed[rows, i], self.packed[rows, j]))
        return out

    def pair_sum(self, delta) -> np.ndarray:
        """Per group: sum over ordered within-group pairs of delta(code a, code b)."""
        total = np.zeros(len(self.packed))
        for rows, a, b in self.column_pairs:
            total += np.bincount(rows, weights=delta(a, b), minlength=len(self.packed))
        return 2.0 * total


def groups_from_packed(packed: np.ndarray, coord: np.ndarray) -> Groups:
    """Group left-packed, row-sorted unit codes (units x max ratings, -1 padded) by identical rows
    (lexicographic order of the rows, as `np.unique(axis=0)` would give, by one lexsort)."""
    if len(packed) == 0:
        empty = np.zeros((0, packed.shape[1]), dtype=np.int64)
        return Groups(empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), coord)
    order = np.lexsort(packed.T[::-1])
    ordered = packed[order]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(len(packed), dtype=np.int64)
    inverse[order] = group
    return Groups(ordered[new], np.bincount(group), inverse, coord)


def groups_from_counts(counts: np.ndarray, coord: np.ndarray) -> Groups:
    """Group pairable units given as a dense units x values count matrix, in the lexicographic order of
    the count rows (the order earlier releases drew bootstrap resamples in, so seeded CIs stay put)."""
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0:
        return groups_from_packed(np.zeros((0, 2), dtype=np.int64), coord)
    patterns, inverse, freq = np.unique(pairable, axis=0, return_inverse=True, return_counts=True)
    m = patterns.sum(axis=1)
    rows, vals = np.nonzero(patterns)
    reps = patterns[rows, vals]
    flat_rows, flat_codes = np.repeat(rows, reps), np.repeat(vals, reps)
    starts = np.concatenate([[0], np.cumsum(m)[:-1]])
    packed = np.full((len(patterns), int(m.max())), -1, dtype=np.int64)
    packed[flat_rows, np.arange(len(flat_rows)) - starts[flat_rows]] = flat_codes
    return Groups(packed, freq, inverse.reshape(-1), coord)


class Statistic:
    """Alpha at one level for any weights over the groups (rows of a resamples x groups matrix)."""

    def __init__(self, groups: Groups, level: str, *, resampling: bool = False):
        self.g, self.level = groups, level
        x = groups.coord.astype(float)
        self.base = base = groups.counts.T @ groups.freq.astype(float)  # value counts of the data itself
        if level in ("interval", "ordinal"):
            total = base.sum()
            self.y = x - (base @ x) / total if total else x
        if level == "interval":
            y = self.y
            self.observed = groups.pair_sum(lambda a, b: (y[a] - y[b]) ** 2) / (groups.m - 1)
            self.sums = np.column_stack([groups.counts @ y, groups.counts @ y**2])
        if level in ("nominal", "ordinal"):
            csc = groups.counts.tocsc()
            holders, first = np.diff(csc.indptr), csc.indptr[:-1]
            shared, single = holders > 1, holders == 1  # values held by several groups / by one group
            self.private_sq = groups.counts[:, ~shared].power(2).sum(axis=1).A1
            self.private_cube = groups.counts[:, ~shared].power(3).sum(axis=1).A1
            self.shared = groups.counts[:, shared].T.tocsr()
            self.shared_codes = np.nonzero(shared)[0]
            self.holder = np.zeros(groups.n_values, dtype=np.int64)  # the group holding a private value
            self.held = np.zeros(groups.n_values)  # ... and how many times
            self.holder[single], self.held[single] = csc.indices[first[single]], csc.data[first[single]]
        if level == "nominal":
            self.observed = groups.pair_sum(lambda a, b: (a != b).astype(float)) / (groups.m - 1)
        elif level == "ratio":
            self.observed = groups.pair_sum(lambda a, b: _ratio_delta(x[a], x[b])) / (groups.m - 1)
            self.zeros = groups.counts[:, x == 0].sum(axis=1).A1
            dense_max, step = (1024, _RESAMPLE_STEP) if resampling else (RATIO_DENSE_MAX, _STEP)
            self.ratio = _RatioKernel(x, base, dense_max=dense_max, step=step)
            self.features = (
                self.ratio.features(groups.packed) if resampling and not self.ratio.dense else None
            )

    def estimate(self) -> float:
        """Alpha of the data itself (every group at its frequency); NaN where undefined."""
        freq = self.g.freq[None, :].astype(float)
        if self.level != "ratio" or self.ratio.dense or self.features is not None:
            return float(self(freq)[0])
        n, z = float(self.base.sum()), float(self.base[self.g.coord == 0].sum())
        laplace = self.laplace[None, :]
        expected = n * n - z * z - 4.0 * float(self.ratio.integral(laplace)[0])
        observed = float(freq[0] @ self.observed)
        alpha = 1.0 - (n - 1) * observed / expected if expected > 0 else np.nan
        return float(alpha) if np.isfinite(alpha) else np.nan

    @cached_property
    def laplace(self) -> np.ndarray:
        """Ratio above the dense limit: L(s) of the data's value counts at the nodes (computed once)."""
        return self.ratio.laplace_of_counts(self.base)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        """Alpha for each row of `weights` (NaN where undefined)."""
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        n = w @ self.g.m
        if self.level == "ordinal":
            observed, expected = self._ordinal(w, n)
        else:
            observed = w @ self.observed
            expected = self._expected(w, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1.0 - (n - 1) * observed / expected
        alpha[~np.isfinite(alpha) | ~(expected > 0)] = np.nan
        return alpha

    def _value_counts(self, w: np.ndarray) -> np.ndarray:
        return np.asarray(self.g.counts.T @ w.T)  # values x resamples

    def _expected(self, w: np.ndarray, n: np.ndarray) -> np.ndarray:
        if self.level == "interval":
            s, q = (w @ self.sums).T
            return 2.0 * (n * q - s * s)
        if self.level == "nominal":
            shared = np.asarray(self.shared @ w.T)
            return n * n - (w * w) @ self.private_sq - (shared * shared).sum(axis=0)
        z = w @ self.zeros
        if self.ratio.dense:
            return self.ratio.dense_pairs(self._value_counts(w))
        return n * n - z * z - 4.0 * self.ratio.integral(w @ self.features)

    def _ordinal(self, w: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mid-ranks of this resample by an integer prefix sum over the values (exact; O(values) per row).

        Expected: sum over ordered pairs of (t_i - t_j)^2 = n (n^3 - sum_v n_v^3) / 6 (mid-ranks have the
        tie-corrected rank variance), so only the cubes of the value counts are needed.
        """
        shared = np.asarray(self.shared @ w.T).T  # resamples x shared values
        cubes = (w * w * w) @ self.private_cube + (shared**3).sum(axis=1)
        expected = n * (n**3 - cubes) / 6.0
        counts = (w[:, self.holder] * self.held).astype(np.int64)  # resamples x values (private values)
        counts[:, self.shared_codes] = np.rint(shared).astype(np.int64)
        twice_t = 2 * np.cumsum(counts, axis=1) - counts  # 2 x mid-rank, exact integers
        observed = np.zeros(len(w))
        scale = w * (0.5 / (self.g.m - 1))  # ordered pairs (x2) of (2t difference / 2)^2 (/4)
        for rows, a, b in self.g.column_pairs:
            d = (twice_t[:, a] - twice_t[:, b]).astype(float)
            observed += (scale[:, rows] * d * d).sum(axis=1)
        return observed, expected


def _ratio_delta(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(total > 0, (a - b) / total, 0.0)
    return d * d


class _RatioKernel:
    """sum over ordered value pairs of the ratio distance, exactly (dense) or by the Laplace integral."""

    def __init__(self, x: np.ndarray, counts: np.ndarray, *, dense_max: int, step: float):
        self.x, self.step = x, step
        self.dense = len(x) <= dense_max
        self.matrix = _ratio_delta(x[:, None], x[None, :]) if len(x) <= 1024 else None
        positive = x[(x > 0) & (counts > 0)]
        if self.dense or len(positive) == 0:
            self.dense = True
            return
        self.scale = positive.max()
        xs = positive / self.scale
        mass, n_pos = float(counts[x > 0] @ (x[x > 0] / self.scale)), float(counts[x > 0].sum())
        # Left of t_min the integrand is below e^{2t} mass^2, negligible against I >= n_pos/4.
        t_min = 0.5 * np.log(1e-17 * n_pos / (mass * mass)) - 1.0
        t_max = np.log(45.0 / xs.min())  # right of it every term has decayed below e^{-45}
        self.s = np.exp(np.arange(t_min, t_max + step, step))

    def features(self, packed: np.ndarray, block: int = 16384) -> np.ndarray:
        """groups x nodes: L_g(s) = sum over the group's values of x e^{-s x} (x scaled to max 1)."""
        out = np.empty((len(packed), len(self.s)))
        xs = np.append(np.where(self.x > 0, self.x / self.scale, 0.0), 0.0)  # code -1 (padding) -> 0
        for start in range(0, len(packed), block):
            rows = xs[packed[start : start + block]]  # block x max ratings
            part = np.zeros((len(rows), len(self.s)))
            for col in rows.T:
                part += col[:, None] * np.exp(-col[:, None] * self.s[None, :])
            out[start : start + block] = part
        return out

    def laplace_of_counts(self, counts: np.ndarray) -> np.ndarray:
        """L(s) at the nodes for values with the given counts: sum_v n_v x_v e^{-s x_v}, with no
        values x nodes exponentials.

        The positive values, in ascending order, are cut into bins of `_BIN_WIDTH` in log x; in a bin with
        centre c and half-width w, e^{-s x} = e^{-s c} sum_k (-s)^k (x - c)^k / k!, so each bin needs only
        its moments m_k = sum n x (x - c)^k (one pass over the values per k) and each node O(bins x k).
        Where s w <= `_BIN_REACH` the truncation is below 0.5^20 / 20! and the rounding a few ulp of the
        bin's term (its terms' absolute sum is at most e^{2 s w} times it). Bins too far right for that
        are dropped where their terms are provably negligible: a bin adds at most e^{-s lo} m_0 and L(s)
        is at least sum_bins e^{-s hi} m_0, so the largest-x bins whose bounds sum below `_TAIL` of that
        go; a node that would still need a wider bin is summed by exponentials (does not happen with
        values spread over fewer than e^60 of their sum's share).
        """
        keep_values = (self.x > 0) & (counts > 0)
        xs, weight = self.x[keep_values] / self.scale, counts[keep_values] * 1.0
        if np.any(xs[1:] < xs[:-1]):  # codes follow a value domain given out of order
            order = np.argsort(xs, kind="stable")
            xs, weight = xs[order], weight[order]
        weight = weight * xs
        label = np.floor((np.log(xs) - np.log(xs[0])) / _BIN_WIDTH).astype(np.int64)
        starts = np.flatnonzero(np.diff(label, prepend=-1))
        lo, hi = xs[starts], xs[np.append(starts[1:], len(xs)) - 1]
        centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0
        offset = xs - np.repeat(centre, np.diff(np.append(starts, len(xs))))
        moments, power = np.empty((len(starts), _SERIES_TERMS)), weight
        for k in range(_SERIES_TERMS):
            moments[:, k] = np.add.reduceat(power, starts)
            power = power * offset
        s = self.s[:, None]
        floor = np.exp(-s * hi) @ moments[:, 0]  # L(s) >= this
        bound = np.exp(-s * lo) * moments[:, 0]  # what each bin can add at most
        kept = np.cumsum(bound[:, ::-1], axis=1)[:, ::-1] > _TAIL * floor[:, None]  # a prefix of bins
        steps = np.concatenate([np.ones((len(self.s), 1)), -s / np.arange(1, _SERIES_TERMS)], axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            series = np.cumprod(steps, axis=1) @ moments.T  # nodes x bins
            terms = np.where(kept, np.exp(-s * centre) * series, 0.0)
        out = terms.sum(axis=1)
        for node in np.flatnonzero((kept & (s * half > _BIN_REACH)).any(axis=1)):
            last = np.flatnonzero(kept[node])[-1] + 1
            end = starts[last] if last < len(starts) else len(xs)
            out[node] = weight[:end] @ np.exp(-self.s[node] * xs[:end])
        return out

    def integral(self, laplace: np.ndarray) -> np.ndarray:
        """I for each row of L(s) at the nodes (trapezoid in log s: ds = s dt, integrand s L^2)."""
        return self.step * (laplace * laplace) @ (self.s * self.s)

    def row_sums(self, counts: np.ndarray, block: int = 1024) -> np.ndarray:
        """sum_w n_w delta(v, w) for every value v (the pair sum's rows; values x values in blocks)."""
        if self.matrix is not None:
            return self.matrix @ counts
        return np.concatenate(
            [
                _ratio_delta(self.x[i : i + block, None], self.x[None, :]) @ counts
                for i in range(0, len(self.x), block)
            ]
        )

    def dense_pairs(self, nv: np.ndarray, block: int = 1024) -> np.ndarray:
        if self.matrix is not None:
            return ((self.matrix @ nv) * nv).sum(axis=0)
        total = np.zeros(nv.shape[1])
        for start in range(0, len(self.x), block):
            d = _ratio_delta(self.x[start : start + block, None], self.x[None, :])
            total += ((d @ nv) * nv[start : start + block]).sum(axis=0)
        return total
