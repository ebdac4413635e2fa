"""Krippendorff's alpha and its bootstrap CI for a raters x items table, through a coincidence engine.

Why a custom engine beside the `krippendorff` package: the package gives the point estimate, but a
bootstrap needs alpha a thousand times. Alpha depends on the items only through per-item coincidence
counts, and items with the same value counts are interchangeable, so each resample is a count vector
over the distinct count patterns and alpha becomes a few matrix products (100,000 items x 3 raters x
1,000 resamples in well under a second). Import these from `review_store.agreement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import krippendorff
import numpy as np
import pandas as pd

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
# More distinct values than this is not a rating scale: interval/ratio values are binned (bin centres),
# nominal/ordinal are refused. Memory of the coincidence engine grows with the domain size squared.
MAX_DOMAIN = 100
_MULTINOMIAL_MAX_PATTERNS = 2000  # beyond this many distinct count patterns, resample item indices
_PACKAGE_CELLS = 20_000_000  # above items x V^2 cells the package's dense array is too big: use the engine


@dataclass(frozen=True)
class Coded:
    """A table encoded once: value codes per rater x item (-1 = missing) and the ordered value domain."""

    codes: np.ndarray
    domain: np.ndarray
    numeric: np.ndarray  # position of each domain value on a number line (values, or ranks for labels)
    binned: bool

    @property
    def counts(self) -> np.ndarray:
        """items x values: how many raters gave each value to each item (Krippendorff's value counts)."""
        n_items, n_values = self.codes.shape[1], len(self.domain)
        raters, items = np.nonzero(self.codes >= 0)
        flat = items * n_values + self.codes[raters, items]
        return np.bincount(flat, minlength=n_items * n_values).reshape(n_items, n_values)


def encode(
    table: pd.DataFrame | np.ndarray,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
    max_domain: int = MAX_DOMAIN,
) -> Coded:
    """Map a raters x items table to integer codes over an ordered value domain.

    `value_domain` fixes the scale (and its order, for ordinal labels such as "low" < "mid" < "high");
    without it the domain is the sorted set of observed values. Raises ValueError naming the first
    offending cell when a level needs numbers and a value is not one.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    frame = pd.DataFrame(table)
    raw = frame.to_numpy(dtype=object)
    present = ~pd.isna(frame).to_numpy()
    vals = raw[present]
    try:
        floats = vals.astype(float)
        is_numeric = bool(np.isfinite(floats).all())
    except (TypeError, ValueError):
        floats, is_numeric = None, False
    if value_domain is not None:
        domain = np.asarray(list(value_domain), dtype=float if is_numeric else object)
        keys = floats if is_numeric else vals.astype(str)
        index = pd.Index(domain if is_numeric else domain.astype(str))
        if len(vals) and (index.get_indexer(keys) < 0).any():
            bad = vals[index.get_indexer(keys) < 0][0]
            raise ValueError(f"value {bad!r} is not in the value domain {list(value_domain)}")
    elif is_numeric:
        domain = np.unique(floats)
    else:
        if level != "nominal":
            bad = _first_non_number(frame)
            raise ValueError(f"level {level} needs numbers (or an ordered value_domain); got {bad}")
        domain = np.unique(vals.astype(str)).astype(object)
    binned = False
    if len(domain) > max_domain:
        if level in ("nominal", "ordinal") or not is_numeric:
            raise ValueError(
                f"{len(domain)} distinct values at {level} level is not a rating scale "
                f"(at most {max_domain}); use the interval or ratio level for continuous scores"
            )
        edges = np.linspace(domain.min(), domain.max(), max_domain + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        floats = centres[np.clip(np.searchsorted(edges, floats, side="right") - 1, 0, max_domain - 1)]
        domain, binned = np.unique(floats), True
    if is_numeric:
        numeric_positions = domain.astype(float)
        keys_final = pd.Index(domain).get_indexer(floats)
    else:
        numeric_positions = np.arange(len(domain), dtype=float)
        keys_final = pd.Index(domain.astype(str)).get_indexer(vals.astype(str))
    codes = np.full(raw.shape, -1, dtype=np.int64)
    codes[present] = keys_final
    if level == "ratio" and is_numeric and (domain < 0).any():
        raise ValueError("the ratio level needs values >= 0 (a true zero); use interval for signed scores")
    return Coded(codes=codes, domain=domain, numeric=numeric_positions, binned=binned)


def _first_non_number(frame: pd.DataFrame) -> str:
    for rater, row in frame.iterrows():
        for item, value in row.items():
            if pd.isna(value):
                continue
            try:
                if np.isfinite(float(value)):
                    continue
            except (TypeError, ValueError):
                pass
            return f"{value!r} (rater {rater!r}, item {item!r})"
    return "a non-numeric value"


def _distance(level: Level, x: np.ndarray) -> np.ndarray:
    """Fixed distance matrix for nominal/interval/ratio (ordinal's depends on the marginals)."""
    if level == "nominal":
        return 1.0 - np.eye(len(x))
    diff = x[:, None] - x[None, :]
    if level == "interval":
        return diff**2
    total = x[:, None] + x[None, :]
    return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2


def _alphas(weights: np.ndarray, patterns: np.ndarray, level: Level, x: np.ndarray) -> np.ndarray:
    """Alpha for each row of `weights` (resamples x patterns): how often each count pattern is drawn.

    Per pattern c with m ratings the coincidence contribution is (c c^T - diag c)/(m-1); alpha is
    1 - sum(o*d)/sum(e*d) with e = (n n^T - diag n)/(n.. - 1) and n = row sums of o = sum of c.
    """
    c = patterns.astype(float)
    m = c.sum(axis=1)
    inv = 1.0 / (m - 1)
    n = weights @ c  # resamples x V: pairable values per category
    total = n.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if level == "ordinal":
            o_flat = (c[:, :, None] * c[:, None, :] - c[:, :, None] * np.eye(len(x))) * inv[:, None, None]
            o = (weights @ o_flat.reshape(len(c), -1)).reshape(len(weights), len(x), len(x))
            t = np.cumsum(n, axis=1) - n / 2  # mid-ranks: ordinal distance = (t_k - t_c)^2
            d = (t[:, :, None] - t[:, None, :]) ** 2
            observed = (o * d).sum(axis=(1, 2))
            expected = np.einsum("rv,rvk,rk->r", n, d, n) / (total - 1)
        else:
            d = _distance(level, x)
            per_pattern = np.einsum("pv,vk,pk->p", c, d, c) * inv
            observed = weights @ per_pattern
            expected = np.einsum("rv,vk,rk->r", n, d, n) / (total - 1)
        alpha = 1.0 - observed / expected
    alpha[~np.isfinite(alpha) | (expected <= 0)] = np.nan
    return alpha


def _patterns(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0:
        return np.zeros((0, counts.shape[1]), dtype=counts.dtype), np.zeros(0, int), np.zeros(0, int)
    patterns, inverse, freq = np.unique(pairable, axis=0, return_inverse=True, return_counts=True)
    return patterns, inverse.reshape(-1), freq


def krippendorff_alpha(
    table: pd.DataFrame | np.ndarray | Coded,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
) -> float | None:
    """Krippendorff's alpha (the `krippendorff` package), or None when it is undefined.

    Undefined means no item has two ratings, or every rating is the same value (no variation to agree
    on). Missing values are fine. For very large tables (items x values^2 beyond the package's dense
    array) the same formula runs on the pattern engine, which the tests hold equal to the package.
    """
    coded = table if isinstance(table, Coded) else encode(table, level=level, value_domain=value_domain)
    counts = coded.counts
    if counts.shape[0] * len(coded.domain) ** 2 > _PACKAGE_CELLS:
        patterns, _, freq = _patterns(counts)
        if len(patterns) == 0:
            return None
        value = _alphas(freq[None, :].astype(float), patterns, level, coded.numeric)[0]
        return None if np.isnan(value) else float(value)
    domain = coded.numeric if level != "ordinal" else np.arange(len(coded.domain))
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement=level)
    except ValueError as exc:  # "more than one value in the domain" / "at least one unit with two coders"
        if "domain" in str(exc) or "two coders" in str(exc):
            return None
        raise
    return None if not np.isfinite(value) else float(value)


def bootstrap_alpha_ci(
    table: pd.DataFrame | np.ndarray | Coded,
    *,
    level: Level,
    seed: int = 0,
    resamples: int = 1000,
    confidence: float = 0.95,
    value_domain: Sequence[Any] | None = None,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI for alpha, resampling pairable items with `numpy.random.default_rng(seed)`.

    Why items: ratings of one item are correlated, so the item is the unit of independent evidence.
    Unpairable items contribute nothing to alpha and are left out of the resampling. Resamples where
    alpha is undefined (all one value) are dropped. Returns (None, None) when no interval exists.
    """
    coded = table if isinstance(table, Coded) else encode(table, level=level, value_domain=value_domain)
    patterns, inverse, freq = _patterns(coded.counts)
    n = int(freq.sum())
    if resamples <= 0 or n < 2:
        return None, None
    rng = np.random.default_rng(seed)
    # Items resampled per pattern ~ Multinomial(n, freq/n): the same law as drawing items, far faster.
    if len(patterns) <= _MULTINOMIAL_MAX_PATTERNS:
        weights = rng.multinomial(n, freq / n, size=resamples).astype(float)
        alphas = _alphas(weights, patterns, level, coded.numeric)
    else:
        chunk = max(1, 20_000_000 // n)
        parts = []
        for start in range(0, resamples, chunk):
            size = min(chunk, resamples - start)
            drawn = inverse[rng.integers(0, n, size=(size, n))]
            offsets = (np.arange(size)[:, None] * len(patterns) + drawn).reshape(-1)
            weights = np.bincount(offsets, minlength=size * len(patterns)).reshape(size, -1)
            parts.append(_alphas(weights.astype(float), patterns, level, coded.numeric))
        alphas = np.concatenate(parts)
    alphas = alphas[~np.isnan(alphas)]
    if len(alphas) == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(alphas, [tail, 100 - tail])
    return float(lo), float(hi)
