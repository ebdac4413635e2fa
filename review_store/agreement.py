"""Agreement statistics for any ratings table: may a judge (or a reviewer) be trusted?

A *table* is a pandas DataFrame with one row per rater and one column per item (NaN = no rating), so an
LLM judge is just another row. Everything here is pure numpy/pandas, no database: the store builds the
table from labels and verdicts (`table_from_rows`) and calls `summarize`.

Why a custom coincidence engine beside the `krippendorff` package: the package gives the point estimate,
but a bootstrap needs alpha a thousand times. Alpha depends on the items only through per-item
coincidence counts, and items with the same value counts are interchangeable, so each resample is a
count vector over the distinct count patterns and alpha becomes a few matrix products (100,000 items x
3 raters x 1,000 resamples in well under a second).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import krippendorff
import numpy as np
import pandas as pd

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
Verdict = Literal["trusted", "needs calibration", "untrusted", "insufficient data"]
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


def table_from_rows(
    rows: Iterable[Sequence[Any]] | pd.DataFrame, *, on_duplicate: Literal["error", "last"] = "error"
) -> pd.DataFrame:
    """Pivot (item, rater, value) rows into the raters x items table the functions here take.

    Labels and verdicts are stored one row per rating; statistics need a matrix. Items whose only ratings
    are missing stay as all-NaN columns so they are counted as unpairable, not silently dropped. A second
    rating by the same rater for the same item raises ValueError unless `on_duplicate="last"`.
    """
    if isinstance(rows, pd.DataFrame):
        df = rows.loc[:, ["item", "rater", "value"]].copy()
    else:
        df = pd.DataFrame([tuple(r)[:3] for r in rows], columns=["item", "rater", "value"])
    dup = df.duplicated(["item", "rater"], keep=False)
    if dup.any():
        if on_duplicate == "error":
            first = df[dup].iloc[0]
            raise ValueError(f"rater {first['rater']!r} rated item {first['item']!r} more than once")
        df = df.drop_duplicates(["item", "rater"], keep="last")
    values = df["value"]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum():
        df["value"] = numeric.astype(float)
    else:
        df["value"] = values.astype(object)
    table = df.pivot(index="rater", columns="item", values="value")
    table.index.name, table.columns.name = "rater", "item"
    return table


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


def _pair_agreement(coded: Coded, *, within: float) -> float | None:
    """Mean over pairable items of the share of rater pairs whose values differ by at most `within`."""
    counts = coded.counts.astype(float)
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return None
    close = (np.abs(coded.numeric[:, None] - coded.numeric[None, :]) <= within + 1e-12).astype(float)
    c, m = counts[keep], m[keep]
    agreeing = np.einsum("iv,vk,ik->i", c, close, c) - m
    return float(np.mean(agreeing / (m * (m - 1))))


def percent_agreement(
    table: pd.DataFrame | np.ndarray | Coded, *, level: Level = "nominal", adjacent: bool = False
) -> float | None:
    """Exact (or, with `adjacent`, within +-1) agreement, pairwise: for each item rated at least twice,
    the share of rater pairs that agree; then the mean over items. Easy to explain, but not chance
    corrected, which is why alpha and kappa sit beside it."""
    coded = table if isinstance(table, Coded) else encode(table, level=level)
    return _pair_agreement(coded, within=1.0 if adjacent else 0.0)


def fleiss_kappa_from_counts(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories count matrix.

    Items with fewer than two ratings are ignored. With unequal rater counts per item this is the usual
    generalisation: P_i uses each item's own m_i, and the category shares pool all ratings; with equal
    counts it is exactly Fleiss (1971). None when chance agreement is 1 (a single category).
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if len(m) == 0:
        return None
    p_i = ((counts * (counts - 1)).sum(axis=1)) / (m * (m - 1))
    shares = counts.sum(axis=0) / m.sum()
    p_e = float((shares**2).sum())
    if p_e >= 1.0:
        return None
    return float((p_i.mean() - p_e) / (1 - p_e))


def fleiss_kappa(table: pd.DataFrame | np.ndarray | Coded) -> float | None:
    """Fleiss' kappa of a raters x items table (nominal: categories only, no order)."""
    coded = table if isinstance(table, Coded) else encode(table, level="nominal")
    return fleiss_kappa_from_counts(coded.counts)


def _paired(a: Sequence[Any], b: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a_arr.shape != b_arr.shape:
        raise ValueError("the two raters' vectors must have the same length (one entry per item)")
    both = ~(pd.isna(a_arr) | pd.isna(b_arr))
    return a_arr[both], b_arr[both]


def confusion_matrix(
    a: Sequence[Any], b: Sequence[Any], *, labels: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Counts of (rater a's value, rater b's value) over items both rated: labels x labels.

    Rows are rater a (e.g. the human), columns rater b (e.g. the judge); every label appears on both axes
    so the matrix is square and its diagonal is the exact agreement.
    """
    x, y = _paired(a, b)
    labels_arr = _labels(x, y, labels)
    index = pd.Index(labels_arr)
    xi, yi = index.get_indexer(x), index.get_indexer(y)
    if (xi < 0).any() or (yi < 0).any():
        raise ValueError("a value is not among the given labels")
    k = len(labels_arr)
    cm = np.bincount(xi * k + yi, minlength=k * k).reshape(k, k)
    return pd.DataFrame(cm, index=pd.Index(labels_arr, name="a"), columns=pd.Index(labels_arr, name="b"))


def _labels(x: np.ndarray, y: np.ndarray, labels: Sequence[Any] | None) -> np.ndarray:
    if labels is not None:
        return np.asarray(list(labels), dtype=object)
    values = pd.unique(pd.Series(np.concatenate([x, y]), dtype=object))
    try:
        return np.asarray(sorted(values), dtype=object)
    except TypeError:
        return np.asarray(sorted(values, key=str), dtype=object)


def cohen_kappa(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    labels: Sequence[Any] | None = None,
) -> float | None:
    """Cohen's kappa of two raters over the items both rated; weighted by label index distance.

    Weights follow scikit-learn's `cohen_kappa_score`: the distance of two labels is the difference of
    their positions in `labels` (pass the full scale, e.g. 1..5, so an unused level still counts as a
    step). None when chance agreement is total (both raters used a single label).
    """
    cm = confusion_matrix(a, b, labels=labels).to_numpy(dtype=float)
    k = cm.shape[0]
    if cm.sum() == 0:
        return None
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / cm.sum()
    idx = np.arange(k)
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights == "linear":
        w = np.abs(idx[:, None] - idx[None, :]).astype(float)
    elif weights == "quadratic":
        w = ((idx[:, None] - idx[None, :]) ** 2).astype(float)
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    denominator = float((w * expected).sum())
    if denominator == 0:
        return None
    return float(1 - (w * cm).sum() / denominator)


@dataclass
class AgreementSummary:
    """Everything the CLI, the Agreement page and the release gate show about one ratings table."""

    n_items: int
    n_raters: int
    n_ratings: int
    level: str
    krippendorff_alpha: float | None
    ci95: list[float | None]
    percent_agreement: float | None
    adjacent_agreement: float | None
    n_pairable_items: int
    n_unpairable_items: int
    n_missing: int
    unpairable_items: list[Any] = field(default_factory=list)
    cohen_kappa: float | None = None
    cohen_kappa_unweighted: float | None = None
    fleiss_kappa: float | None = None
    seed: int = 0
    resamples: int = 1000
    binned: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (DESIGN.md section 8): keys that do not apply to this table are left out."""
        data = asdict(self)
        if self.n_raters != 2:
            data.pop("cohen_kappa"), data.pop("cohen_kappa_unweighted")
        if self.n_raters <= 2:
            data.pop("fleiss_kappa")
        if self.level == "nominal":
            data.pop("adjacent_agreement")
        return data


def summarize(
    table: pd.DataFrame | np.ndarray,
    *,
    level: Level,
    seed: int = 0,
    resamples: int = 1000,
    value_domain: Sequence[Any] | None = None,
) -> AgreementSummary:
    """All agreement statistics of a raters x items table in one call (see `AgreementSummary`).

    Cohen's kappa (two raters) is quadratic-weighted above the nominal level, because near misses on a
    scale are less wrong than far ones; the unweighted kappa is reported beside it. Fleiss' kappa is
    given for more than two raters.
    """
    frame = pd.DataFrame(table)
    coded = encode(frame, level=level, value_domain=value_domain)
    rated = (coded.codes >= 0).sum(axis=0)
    unpairable = [frame.columns[i] for i in np.nonzero(rated < 2)[0]]
    summary = AgreementSummary(
        n_items=int(frame.shape[1]),
        n_raters=int(frame.shape[0]),
        n_ratings=int(rated.sum()),
        level=level,
        krippendorff_alpha=krippendorff_alpha(coded, level=level),
        ci95=list(bootstrap_alpha_ci(coded, level=level, seed=seed, resamples=resamples)),
        percent_agreement=_pair_agreement(coded, within=0.0),
        adjacent_agreement=None if level == "nominal" else _pair_agreement(coded, within=1.0),
        n_pairable_items=int((rated >= 2).sum()),
        n_unpairable_items=len(unpairable),
        n_missing=int(coded.codes.size - rated.sum()),
        unpairable_items=unpairable,
        seed=seed,
        resamples=resamples,
        binned=coded.binned,
    )
    if summary.n_raters == 2:
        a, b = (np.where(coded.codes[r] >= 0, coded.codes[r], -1).astype(float) for r in (0, 1))
        a[a < 0], b[b < 0] = np.nan, np.nan
        labels = range(len(coded.domain))
        weighted = "quadratic" if level != "nominal" else None
        summary.cohen_kappa = cohen_kappa(a, b, weights=weighted, labels=labels)
        summary.cohen_kappa_unweighted = cohen_kappa(a, b, labels=labels)
    elif summary.n_raters > 2:
        summary.fleiss_kappa = fleiss_kappa_from_counts(coded.counts)
    return summary


def rater_agreement_with_consensus(
    table: pd.DataFrame,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Each rater against the consensus of the *other* raters, one row per rater, for leads.

    Why: a reviewer who drifts from the guidelines shows up as low agreement with everybody else.
    Consensus is the majority value of the others (items where the others tie are skipped and counted in
    `n_ties`); above the nominal level also the mean of the others, giving `mean_abs_diff` and
    `adjacent_agreement` (within +-1 of that mean). Only items the rater and at least one other rated.
    """
    frame = pd.DataFrame(table)
    coded = encode(frame, level=level, value_domain=value_domain)
    counts = coded.counts
    n_values = len(coded.domain)
    rows = []
    for r, rater in enumerate(frame.index):
        own = coded.codes[r]
        mine = own >= 0
        others = counts - np.eye(n_values, dtype=counts.dtype)[np.where(mine, own, 0)] * mine[:, None]
        n_others = others.sum(axis=1)
        valid = mine & (n_others >= 1)
        top = others.max(axis=1)
        tie = (others == top[:, None]).sum(axis=1) > 1
        decided = valid & ~tie
        row: dict[str, Any] = {
            "rater": rater,
            "n_items": int(valid.sum()),
            "n_ties": int((valid & tie).sum()),
            "exact_agreement": float((others.argmax(axis=1) == own)[decided].mean())
            if decided.any()
            else None,
        }
        if level != "nominal":
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_others = (others @ coded.numeric) / n_others
            gap = np.abs(coded.numeric[np.where(mine, own, 0)] - mean_others)[valid]
            row["mean_abs_diff"] = float(gap.mean()) if valid.any() else None
            row["adjacent_agreement"] = float((gap <= 1 + 1e-12).mean()) if valid.any() else None
        rows.append(row)
    return pd.DataFrame(rows)


def trust_verdict(
    alpha: float | None,
    ci_low: float | None,
    n_items: int,
    *,
    trusted: float = 0.80,
    calibrate: float = 0.667,
    min_items: int = 50,
) -> Verdict:
    """The badge for a judge: "trusted" | "needs calibration" | "untrusted" | "insufficient data".

    The badge follows alpha (Krippendorff's conventional 0.800 / 0.667 cut-offs), with two guards: too few
    items (or an undefined alpha) says nothing, and a "trusted" alpha whose CI lower bound falls below the
    calibration threshold (a wide interval) is only "needs calibration".
    """
    if alpha is None or n_items < min_items:
        return "insufficient data"
    if alpha >= trusted:
        if ci_low is not None and ci_low < calibrate:
            return "needs calibration"
        return "trusted"
    if alpha >= calibrate:
        return "needs calibration"
    return "untrusted"


def may_count_as_evidence(
    ci_low: float | None, n_items: int, *, trusted: float = 0.80, min_items: int = 50
) -> bool:
    """True when a judge's scores may count as release evidence: at least `min_items` labelled items and
    the alpha CI lower bound at or above the trusted threshold (the point estimate alone is not enough:
    a release should not rest on a judge that is only trustworthy by luck of the sample)."""
    return ci_low is not None and n_items >= min_items and ci_low >= trusted


def consensus(table: pd.DataFrame, *, level: Level, value_domain: Sequence[Any] | None = None) -> pd.Series:
    """One consensus value per item from several raters (e.g. the humans, to compare a judge against).

    Majority value for nominal/ordinal (NaN on a tie: no consensus is better than an arbitrary one);
    mean for interval/ratio. Items nobody rated are NaN.
    """
    frame = pd.DataFrame(table)
    coded = encode(frame, level=level, value_domain=value_domain)
    counts = coded.counts
    rated = counts.sum(axis=1) > 0
    if level in ("interval", "ratio"):
        with np.errstate(divide="ignore", invalid="ignore"):
            values = (counts @ coded.numeric) / counts.sum(axis=1)
        return pd.Series(values, index=frame.columns, dtype=float)
    top = counts.max(axis=1)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    winners = coded.domain[counts.argmax(axis=1)].astype(object)
    winners[~(rated & unique_top)] = np.nan
    return pd.Series(winners, index=frame.columns, dtype=float if coded.domain.dtype.kind == "f" else object)
