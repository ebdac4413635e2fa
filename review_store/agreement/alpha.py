"""Krippendorff's alpha and its bootstrap CI for a raters x items table, exact for any number of values.

Why a custom engine beside the `krippendorff` package: the package builds a values x values coincidence
matrix (hopeless for continuous judge scores with a million distinct values) and a bootstrap needs alpha
a thousand times. Here (see `review_store.agreement.engine`) alpha is computed from per-unit sums and
value counts without any values x values matrix, exactly at every level and for any number of distinct
values; units with the same values are grouped, and a resample is a weight vector over the groups.
The tests hold the result equal to the package (and to a plain pair sum) to 1e-9. Import these from
`review_store.agreement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from review_store.agreement.engine import Groups, Statistic, groups_from_counts, groups_from_packed
from review_store.agreement.linear import linear_terms
from review_store.agreement.poisson import poisson_sums

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
_MULTINOMIAL_MAX_PATTERNS = 2000  # beyond this many distinct units, Poisson weights and first-order alpha
_DENSE_GROUPING = 100  # up to this many values, group units in the order of their dense count rows
_CHUNK_CELLS = 8_000_000  # resamples x values (or x units) evaluated at once, to bound memory


@dataclass(frozen=True)
class Coded:
    """A table encoded once: value codes per rater x item (-1 = missing) and the ordered value domain."""

    codes: np.ndarray
    domain: np.ndarray
    numeric: np.ndarray  # position of each domain value on a number line (values, or ranks for labels)
    _statistics: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def counts(self) -> np.ndarray:
        """items x values: how many raters gave each value to each item (dense: for small domains)."""
        n_items, n_values = self.codes.shape[1], len(self.domain)
        raters, items = np.nonzero(self.codes >= 0)
        flat = items * n_values + self.codes[raters, items]
        return np.bincount(flat, minlength=n_items * n_values).reshape(n_items, n_values)

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """(items x max ratings codes, ascending per row, -1 padded; ratings per item)."""
        per_item = self.codes.T
        top = np.iinfo(np.int64).max
        key = np.where(per_item < 0, top, per_item)
        key.sort(axis=1)
        m = (per_item >= 0).sum(axis=1)
        width = max(int(m.max()) if len(m) else 0, 1)
        key = key[:, :width]
        key[key == top] = -1
        return key, m

    def groups(self) -> Groups:
        """The pairable items grouped by their multiset of values (see `engine.Groups`; computed once)."""
        return self._groups

    @cached_property
    def _groups(self) -> Groups:
        if len(self.domain) <= _DENSE_GROUPING:
            return groups_from_counts(self.counts, self.numeric)
        packed, m = self.packed()
        return groups_from_packed(packed[m >= 2], self.numeric)

    def statistic(self, level: Level) -> Statistic:
        """The alpha engine at `level` over these groups, built once (the estimate and the bootstrap of
        one summary share its value counts, distances and, for ratio, the Laplace transform)."""
        if level not in self._statistics:
            self._statistics[level] = Statistic(self.groups(), level)
        return self._statistics[level]


def encode(
    table: pd.DataFrame | np.ndarray,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
) -> Coded:
    """Map a raters x items table to integer codes over an ordered value domain.

    NaN/None is a missing rating. `value_domain` fixes the scale (and its order, for ordinal labels such
    as "low" < "mid" < "high"); without it the domain is the sorted set of observed values, however many
    (continuous scores are fine at every level). Raises ValueError naming the rater and item of the first
    offending cell: an infinite value, a non-number where the level needs numbers, a value outside
    `value_domain`, a negative value at the ratio level.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    frame = pd.DataFrame(table)
    kinds = {dtype.kind for dtype in set(frame.dtypes)}
    if len(frame.columns) and kinds <= {"f", "i", "u"}:
        grid = frame.to_numpy(dtype=float)
        present = ~np.isnan(grid)
        _refuse(frame, present & np.isinf(grid), "is infinite; ratings must be finite numbers")
        vals, floats, is_numeric = grid[present], grid[present], True
    else:
        raw = frame.to_numpy(dtype=object)
        present = ~pd.isna(frame).to_numpy()
        vals = raw[present]
        numbers = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        _refuse(frame, present & np.isinf(numbers), "is infinite; ratings must be finite numbers")
        bad = present & ~np.isfinite(numbers)
        is_numeric = not bad.any()
        floats = numbers[present] if is_numeric else None
        if not is_numeric and (level != "nominal" and value_domain is None):
            _refuse(
                frame, bad, f"is not a number; the {level} level needs numbers (or an ordered value_domain)"
            )
    if value_domain is not None:
        domain = np.asarray(list(value_domain), dtype=float if is_numeric else object)
        index = pd.Index(domain if is_numeric else domain.astype(str))
        keys = index.get_indexer(floats if is_numeric else vals.astype(str))
        if len(vals) and (keys < 0).any():
            where = np.zeros(present.shape, dtype=bool)
            where[present] = keys < 0
            _refuse(frame, where, f"is not in the value domain {list(value_domain)}")
        numeric_positions = domain.astype(float) if is_numeric else np.arange(len(domain), dtype=float)
    elif is_numeric:
        order = np.argsort(floats, kind="stable")
        ordered = floats[order]
        new = np.ones(len(ordered), dtype=bool)
        new[1:] = ordered[1:] != ordered[:-1]
        domain = ordered[new]
        keys = np.empty(len(floats), dtype=np.int64)
        keys[order] = np.cumsum(new) - 1
        numeric_positions = domain
    else:
        labels = vals.astype(str)
        domain, keys = np.unique(labels, return_inverse=True)
        domain = domain.astype(object)
        numeric_positions = np.arange(len(domain), dtype=float)
    codes = np.full(present.shape, -1, dtype=np.int64)
    codes[present] = keys
    if level == "ratio" and is_numeric:
        negative = np.zeros(present.shape, dtype=bool)
        negative[present] = floats < 0
        _refuse(
            frame, negative, "is negative; the ratio level needs values >= 0 (use interval for signed scores)"
        )
    return Coded(codes=codes, domain=domain, numeric=np.asarray(numeric_positions, dtype=float))


def _refuse(frame: pd.DataFrame, bad: np.ndarray, reason: str) -> None:
    """Raise ValueError naming the first bad cell (raters in order, then items) when `bad` has one."""
    if not bad.any():
        return
    rater, item = np.argwhere(bad)[0]
    value = frame.iat[rater, item]
    value = value.item() if isinstance(value, np.generic) else value
    raise ValueError(f"value {value!r} (rater {frame.index[rater]!r}, item {frame.columns[item]!r}) {reason}")


def krippendorff_alpha(
    table: pd.DataFrame | np.ndarray | Coded,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
) -> float | None:
    """Krippendorff's alpha, exact at every level for any number of distinct values; None if undefined.

    Undefined means no item has two ratings, or every pairable rating is the same value (no variation to
    agree on). Missing values are fine. Cost: O(n log n) for n ratings at the nominal, ordinal and
    interval levels; at the ratio level O(V^2) for V <= 4,096 distinct values, else O(V Q) with
    Q ~ 150-250 quadrature nodes (see `review_store.agreement.engine`).
    """
    coded = table if isinstance(table, Coded) else encode(table, level=level, value_domain=value_domain)
    groups = coded.groups()
    if len(groups.freq) == 0:
        return None
    value = coded.statistic(level).estimate()
    return None if np.isnan(value) else float(value)


def bootstrap_alpha_ci(
    table: pd.DataFrame | np.ndarray | Coded,
    *,
    level: Level,
    seed: int = 0,
    resamples: int = 1000,
    confidence: float = 0.95,
    value_domain: Sequence[Any] | None = None,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI for alpha, resampling pairable items (seeded by `seed`).

    Why items: ratings of one item are correlated, so the item is the unit of independent evidence
    (Efron's nonparametric bootstrap over units; the expected disagreement is recomputed for every
    resample, not held at the data's value as in Krippendorff's KALPHA algorithm (Hayes & Krippendorff
    2007), which draws pairs of values with De fixed: holding De fixed drops its own sampling variation
    and, measured on continuous scores with items resampled, narrows the interval by up to half at the
    ordinal level and widens it at the ratio level).
    Unpairable items contribute nothing to alpha and are left out of the resampling. Resamples where
    alpha is undefined (all one value) are dropped. Returns (None, None) when no interval exists.

    Up to `_MULTINOMIAL_MAX_PATTERNS` distinct units (rating scales: any number of items), group counts
    are drawn as one multinomial per resample with `numpy.random.default_rng(seed)` and each resample's
    alpha is exact (the estimate's engine). Above it (continuous scores), each item's weight is
    Poisson(1) (the Poisson bootstrap, `agreement.poisson`: equivalent to the multinomial one to 1/n
    of the interval's spread) and each resample's alpha is its first-order expansion at the data
    (`agreement.linear`: O and E to first order in the resample's weights, n exact; the remainder is
    O(1/units) of E, under 1/2,000 here), so all resamples' sums are one product of the weights with a
    few per-item columns. The interval at one level equals that level's in `bootstrap_alpha_cis`.
    """
    return bootstrap_alpha_cis(
        table,
        levels=(level,),
        seed=seed,
        resamples=resamples,
        confidence=confidence,
        value_domain=value_domain,
    )[level]


def bootstrap_alpha_cis(
    table: pd.DataFrame | np.ndarray | Coded,
    *,
    levels: Sequence[Level] = LEVELS,
    seed: int = 0,
    resamples: int = 1000,
    confidence: float = 0.95,
    value_domain: Sequence[Any] | None = None,
) -> dict[Level, tuple[float | None, float | None]]:
    """`bootstrap_alpha_ci` at several levels at once: {level: (low, high)}, each equal to the interval
    `bootstrap_alpha_ci` gives at that level with the same seed. Above `_MULTINOMIAL_MAX_PATTERNS`
    distinct units every level shares one set of Poisson weights (one product for all levels' columns),
    so four levels cost little more than one."""
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    coded = (
        table
        if isinstance(table, Coded)
        else encode(table, level=strictest(levels), value_domain=value_domain)
    )
    groups = coded.groups()
    freq = groups.freq
    n = int(freq.sum())
    if resamples <= 0 or n < 2 or not levels:
        return {level: (None, None) for level in levels}
    if len(freq) <= _MULTINOMIAL_MAX_PATTERNS:
        return {level: _exact_ci(groups, level, seed, resamples, confidence) for level in levels}
    terms = [linear_terms(coded.statistic(level)) for level in levels]
    columns = np.hstack([t.columns() for t in terms])
    per_item = columns if (freq == 1).all() else columns[groups.inverse]
    sums = poisson_sums(per_item, resamples, seed)
    width = columns.shape[1] // len(levels)
    return {
        level: _percentile(t.alpha(sums[:, i * width : (i + 1) * width]), confidence)
        for i, (level, t) in enumerate(zip(levels, terms, strict=True))
    }


def strictest(levels: Sequence[Level]) -> Level:
    """The level whose input checks cover the others' (ratio > interval, ordinal > nominal): a table
    encoded at it is valid at every level in `levels` (the codes do not depend on the level)."""
    for level in ("ratio", "interval", "ordinal"):
        if level in levels:
            return level
    return "nominal"


def _exact_ci(
    groups: Groups, level: Level, seed: int, resamples: int, confidence: float
) -> tuple[float | None, float | None]:
    """Items resampled per group ~ Multinomial(n, freq/n): the same law as drawing items, far faster."""
    freq = groups.freq
    n = int(freq.sum())
    rng = np.random.default_rng(seed)
    statistic = Statistic(groups, level, resampling=True)
    width = max(groups.n_values if level in ("ordinal", "ratio") else 0, len(freq), 1)
    step = max(1, _CHUNK_CELLS // width)
    weights = rng.multinomial(n, freq / n, size=resamples).astype(float)
    alphas = np.concatenate([statistic(weights[i : i + step]) for i in range(0, resamples, step)])
    return _percentile(alphas, confidence)


def _percentile(alphas: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    alphas = alphas[~np.isnan(alphas)]
    if len(alphas) == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(alphas, [tail, 100 - tail])
    return float(lo), float(hi)
