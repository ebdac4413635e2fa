"""Poisson bootstrap weights and the weighted sums of every resample, for tables with many distinct units.

The first-order alpha of a resample (`agreement.linear`) is a function of a few weighted sums over the
items, so the sums of all resamples are one product W @ D: W is resamples x items (how many times each
item is drawn), D is items x terms (every requested level's terms side by side, so one set of weights
serves all levels). Above 2,000 distinct units the bootstrap draws W by the *Poisson bootstrap*: each
item's weight is Poisson(1), independently (Hanley & MacGibbon 2006, "Creating non-parametric bootstrap
samples using Poisson frequencies", Comput Methods Programs Biomed 83:57-62). Why it is equivalent here:
the multinomial bootstrap is the Poisson one conditioned on the total weight (given a total T, iid
Poisson counts are Multinomial(T, 1/items)), so the two differ only by the total's relative spread,
1/sqrt(items). Alpha is scale-free up to (n - 1)/n: along a common scaling of the weights its first-order
expansion moves by (1 - alpha)/(n - 1) per unit of relative scale (as the exact alpha does), so the
random total adds a spread of order (1 - alpha)/(n sqrt(items)), 1/n of the bootstrap's own (about
1e-6 of it at a million ratings). Rating scales (up to 2,000 distinct units) keep the exact multinomial
resamples in `agreement.alpha`.

Draws (fixed, so a seed gives the same interval on any machine and with any number of threads):
resamples are cut into chunks of `CHUNK` rows; chunk c has its own SFC64 generator seeded by
`SeedSequence(seed).spawn(chunks)[c]`; it draws its weights item block by item block (`BLOCK` items):
`random_raw` 64-bit words viewed as 16-bit uniforms u (in native byte order), chunk rows x block items
in row-major order, and the weight is the number of thresholds `CUTS` at or below u. CUTS[k - 1] is
65,536 x P(Poisson(1) < k) rounded to the nearest integer, so every P(weight = k) is within 1/65,536 of
the Poisson probability; weights stop at 8 (P(Poisson(1) > 8) = 1.1e-6 is cut; P(weight = 8) is
1/65,536 against 1.0e-5). Measured on this machine per 50 x 333,334 weights: numpy's `poisson` 46 ns a
weight, a uint16 lookup table 2-4 ns (the index cast), eight vectorised comparisons under 1 ns; the
16-bit uniforms from SFC64's raw words cost about 0.5 ns (PCG64's `integers` 1.5 ns).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK = 50  # resamples per chunk (one generator each; a thread takes whole chunks)
BLOCK = 1024  # items per block within a chunk (the block's weights stay in cache)
_PRODUCT_COLUMNS = 4  # columns per BLAS product: CHUNK x BLOCK x 4 <= 2^18 keeps OpenBLAS on one thread
WORKERS = 2  # threads (numpy releases the GIL while generating, comparing and in BLAS)


def _cuts() -> np.ndarray:
    """The 16-bit thresholds: weight(u) = #{k : CUTS[k] <= u}, P(weight >= k) ~ 1 - F(k - 1)."""
    cdf = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(12)])
    cuts = np.rint(65536 * cdf).astype(np.int64)
    return cuts[cuts < 65536].astype(np.uint16)


CUTS = _cuts()


def poisson_sums(columns: np.ndarray, resamples: int, seed: int, *, workers: int = WORKERS) -> np.ndarray:
    """resamples x k: sum over the items of weight x `columns` (items x k), Poisson(1) weights drawn as
    the module docstring says. The result does not depend on `workers`."""
    columns = np.ascontiguousarray(columns, dtype=float)
    chunks = -(-resamples // CHUNK)
    seeds = np.random.SeedSequence(seed).spawn(chunks)
    rows = [min(CHUNK, resamples - c * CHUNK) for c in range(chunks)]
    if workers <= 1 or chunks == 1:
        parts = [_chunk_sums(s, r, columns) for s, r in zip(seeds, rows, strict=True)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_chunk_sums, seeds, rows, [columns] * chunks))
    return np.concatenate(parts) if parts else np.zeros((0, columns.shape[1]))


def _chunk_sums(seed: np.random.SeedSequence, rows: int, columns: np.ndarray) -> np.ndarray:
    bits = np.random.SFC64(seed)
    items = len(columns)
    out = np.zeros((rows, columns.shape[1]))
    counts = np.empty((rows, BLOCK), dtype=np.uint8)
    hit = np.empty((rows, BLOCK), dtype=bool)
    weights = np.empty((rows, BLOCK))
    for start in range(0, items, BLOCK):
        size = min(BLOCK, items - start)
        u = bits.random_raw(-(-rows * size // 4)).view(np.uint16)[: rows * size].reshape(rows, size)
        c, h, w = counts[:, :size], hit[:, :size], weights[:, :size]
        np.greater_equal(u, CUTS[0], out=c.view(bool))
        for cut in CUTS[1:]:
            np.greater_equal(u, cut, out=h)
            np.add(c, h.view(np.uint8), out=c)
        w[...] = c
        for first in range(0, columns.shape[1], _PRODUCT_COLUMNS):
            part = slice(first, first + _PRODUCT_COLUMNS)
            out[:, part] += w @ columns[start : start + size, part]
    return out
