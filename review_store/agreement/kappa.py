"""Chance-corrected agreement between raters beyond alpha: Cohen's kappa (two raters), Fleiss' kappa (more),
and the confusion matrix. Exact for any number of labels, continuous scores included. Import these from
`review_store.agreement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from review_store.agreement.alpha import Coded, encode


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
    """Fleiss' kappa of a raters x items table (nominal: categories only, no order).

    Exact for any number of categories (continuous scores too: each distinct value is a category),
    without an items x categories matrix: per item the agreeing rater pairs, and the category shares.
    Same definition as `fleiss_kappa_from_counts`.
    """
    coded = table if isinstance(table, Coded) else encode(table, level="nominal")
    packed, m = coded.packed()
    keep = m >= 2
    if not keep.any():
        return None
    packed, m = packed[keep], m[keep].astype(float)
    same = np.zeros(len(packed))
    for i in range(packed.shape[1]):
        for j in range(i + 1, packed.shape[1]):
            same += (packed[:, j] >= 0) & (packed[:, i] == packed[:, j])
    p_i = 2 * same / (m * (m - 1))
    shares = np.bincount(packed[packed >= 0], minlength=len(coded.domain)) / m.sum()
    p_e = float((shares**2).sum())
    if p_e >= 1.0:
        return None
    return float((p_i.mean() - p_e) / (1 - p_e))


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
    step). Exact for any number of labels (continuous scores: each distinct value is a label) in
    O(n log n), without a labels x labels matrix: chance disagreement comes from the two raters'
    label counts (unweighted), prefix sums over label positions (linear) or their moments (quadratic).
    None when chance agreement is total (both raters used a single label).
    """
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    x, y = _paired(a, b)
    if len(x) == 0:
        return None
    labels_arr = _labels(x, y, labels)
    index = pd.Index(labels_arr)
    xi, yi = index.get_indexer(x), index.get_indexer(y)
    if (xi < 0).any() or (yi < 0).any():
        raise ValueError("a value is not among the given labels")
    k, total = len(labels_arr), float(len(x))
    ca, cb = np.bincount(xi, minlength=k).astype(float), np.bincount(yi, minlength=k).astype(float)
    pos = np.arange(k, dtype=float)
    if weights is None:
        observed = float(np.count_nonzero(xi != yi))
        expected = total - float(ca @ cb) / total
    elif weights == "linear":
        observed = float(np.abs(xi - yi).sum())
        below, below_pos = np.cumsum(cb), np.cumsum(cb * pos)  # b's mass and position mass up to each label
        above, above_pos = total - below, below_pos[-1] - below_pos
        expected = float(ca @ (pos * below - below_pos + above_pos - pos * above)) / total
    else:
        centre = float((ca + cb) @ pos) / (2 * total)
        xc, yc, pc = xi - centre, yi - centre, pos - centre
        observed = float(((xc - yc) ** 2).sum())
        expected = float(total * (ca @ pc**2) - 2 * (ca @ pc) * (cb @ pc) + total * (cb @ pc**2)) / total
    if expected == 0:
        return None
    return float(1 - observed / expected)
