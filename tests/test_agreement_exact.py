"""Exact agreement on continuous scores: no binning at any level, for any number of distinct values.

References are never our own engine: the krippendorff package and scikit-learn where they can hold the
table (their values x values matrices stop them somewhere above 10,000 distinct values), and above that
independent implementations of the definitions (scipy's mid-ranks, an FFT of the label counts, a
closed-form ratio pair sum).
"""

from __future__ import annotations

import krippendorff
import krippendorff.krippendorff as kp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import fftconvolve
from scipy.stats import rankdata
from sklearn.metrics import cohen_kappa_score

from review_store import agreement as ag
from review_store.agreement import engine

nan = np.nan


def continuous(
    items: int, raters: int, seed: int, *, missing: float = 0.1, noise: float = 0.1
) -> pd.DataFrame:
    """Judge-like scores in (0, 1.5): a true score per item plus rater noise; every value distinct."""
    rng = np.random.default_rng(seed)
    truth = rng.random(items)
    table = np.abs(truth + rng.normal(0, noise, (raters, items))) + 1e-3
    table[rng.random((raters, items)) < missing] = nan
    return pd.DataFrame(
        table, index=[f"r{i}" for i in range(raters)], columns=[f"i{j}" for j in range(items)]
    )


def package(table: pd.DataFrame, level: str) -> float:
    """The krippendorff package's alpha, with its observed coincidences summed as one matrix product.

    `krippendorff.alpha` materialises units x values x values arrays (4 GB at 1,000 values), so the
    observed coincidence matrix sum_u (c_u c_u^T - diag c_u) / (m_u - 1) is formed here as a product;
    value counts, expected coincidences, the distance metric (the delicate ordinal one included) and the
    final formula are the package's own functions, as `krippendorff.alpha` calls them.
    """
    data = table.to_numpy(dtype=float)
    domain = np.unique(data[~np.isnan(data)])
    counts = kp._reliability_data_to_value_counts(data, domain).astype(float)
    m = counts.sum(axis=1)
    c = counts[m >= 2]
    scaled = c / (m[m >= 2] - 1)[:, None]
    o = c.T @ scaled - np.diag(scaled.sum(axis=0))
    n_v = o.sum(axis=0)
    e = kp._random_coincidences(n_v)
    d = kp._distances(domain, kp._distance_metric(level), n_v)
    return float(1 - (o * d).sum() / (e * d).sum())


@pytest.mark.parametrize("level", ag.LEVELS)
def test_the_reference_is_the_package(level):
    table = continuous(40, 3, seed=12)
    assert package(table, level) == pytest.approx(
        krippendorff.alpha(table.to_numpy(), level_of_measurement=level), abs=1e-12
    )


@pytest.mark.parametrize("level", ag.LEVELS)
def test_thousand_distinct_values_equal_the_package(level):
    table = continuous(400, 3, seed=1)
    assert len(ag.encode(table, level=level).domain) > 1000
    assert ag.krippendorff_alpha(table, level=level) == pytest.approx(package(table, level), abs=1e-9)


def test_ratio_laplace_integral_equals_the_package(monkeypatch):
    """Above RATIO_DENSE_MAX distinct values ratio goes through the Laplace integral: force it at 2,000."""
    table = continuous(1000, 2, seed=2, missing=0.0, noise=0.3)
    monkeypatch.setattr(engine, "RATIO_DENSE_MAX", 100)
    assert ag.krippendorff_alpha(table, level="ratio") == pytest.approx(package(table, "ratio"), abs=1e-9)


def laplace_by_exponentials(statistic: engine.Statistic) -> np.ndarray:
    """L(s) at the ratio kernel's nodes, every value's term summed in long double (no bins, no series)."""
    kernel = statistic.ratio
    x = np.where(kernel.x > 0, kernel.x / kernel.scale, 0.0).astype(np.longdouble)
    weight = statistic.base.astype(np.longdouble) * x
    return np.array([float(np.sum(weight * np.exp(-np.longdouble(s) * x))) for s in kernel.s])


@pytest.mark.parametrize("case", ["scores", "twelve decades", "domain out of order", "wide bins"])
def test_ratio_laplace_transform_by_binned_series_equals_the_exponentials(monkeypatch, case):
    """The transform behind ratio's Laplace integral (per-bin power series, bins dropped where provably
    negligible) equals the plain sum of exponentials to 1e-13 at every node; wide bins force the nodes
    the series cannot reach onto exponentials."""
    monkeypatch.setattr(engine, "RATIO_DENSE_MAX", 100)
    table, domain = continuous(1000, 2, seed=2, missing=0.0, noise=0.3), None
    if case == "twelve decades":
        values = 10.0 ** np.random.default_rng(4).uniform(-9, 3, (2, 1000))
        values[:, :50] = 0.0
        table = pd.DataFrame(values)
    elif case == "domain out of order":
        domain = np.random.default_rng(5).permutation(np.unique(table.to_numpy()))
    elif case == "wide bins":
        monkeypatch.setattr(engine, "_BIN_WIDTH", 1.0)
    statistic = ag.encode(table, level="ratio", value_domain=domain).statistic("ratio")
    assert not statistic.ratio.dense
    reference = laplace_by_exponentials(statistic)
    assert np.max(np.abs(statistic.laplace - reference) / reference) < 1e-13


def sklearn_kappa(a, b, weights=None, labels=None):
    """scikit-learn's Cohen's kappa on float labels: it refuses "continuous" targets, so each value is
    given as its position among the sorted labels (the order and identity kappa depends on)."""
    union = np.unique(np.concatenate([a, b]) if labels is None else labels)
    return cohen_kappa_score(
        np.searchsorted(union, a), np.searchsorted(union, b), weights=weights, labels=np.arange(len(union))
    )


@st.composite
def score_tables(draw):
    """Small raters x items tables of continuous scores with ties, zeros and missing cells."""
    raters, items = draw(st.integers(2, 5)), draw(st.integers(2, 30))
    pool = draw(st.lists(st.floats(0, 100, allow_nan=False, width=32), min_size=2, max_size=60))
    cells = draw(
        st.lists(
            st.one_of(st.sampled_from(pool), st.none()), min_size=raters * items, max_size=raters * items
        )
    )
    arr = np.array([nan if c is None else float(c) for c in cells]).reshape(raters, items)
    return pd.DataFrame(arr)


@settings(max_examples=200, deadline=None)
@given(score_tables(), st.sampled_from(ag.LEVELS))
def test_small_continuous_tables_equal_the_package(table, level):
    with np.errstate(all="ignore"):
        try:
            expected = krippendorff.alpha(table.to_numpy(), level_of_measurement=level)
        except ValueError:  # one value, or no unit with two ratings: undefined
            expected = nan
    ours = ag.krippendorff_alpha(table, level=level)
    if not np.isfinite(expected):
        assert ours is None
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1, width=32), st.floats(0, 1, width=32)), min_size=2, max_size=80),
    st.sampled_from([None, "linear", "quadratic"]),
    st.booleans(),
)
def test_cohen_kappa_on_continuous_values_equals_sklearn(pairs, weights, tie):
    a, b = (np.array(x, dtype=float) for x in zip(*pairs, strict=True))
    if tie:
        b[::2] = a[::2]  # exact agreement on some items
    with np.errstate(all="ignore"):
        expected = sklearn_kappa(a, b, weights=weights)
    ours = ag.cohen_kappa(a, b, weights=weights)
    if not np.isfinite(expected):
        assert ours is None
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_thousand_distinct_values_equals_sklearn(weights):
    rng = np.random.default_rng(3)
    a = np.round(rng.random(800), 4)
    b = np.where(rng.random(800) < 0.3, a, np.round(np.clip(a + rng.normal(0, 0.05, 800), 0, 1), 4))
    assert len(np.unique(np.concatenate([a, b]))) > 1000
    assert ag.cohen_kappa(a, b, weights=weights) == pytest.approx(
        sklearn_kappa(a, b, weights=weights), abs=1e-9
    )


def test_summary_kappas_on_continuous_scores_equal_sklearn():
    table = continuous(600, 2, seed=4, missing=0.0)
    table.iloc[1, ::3] = table.iloc[0, ::3]  # a third of the items agree exactly
    s = ag.summarize(table, level="interval", resamples=50)
    a, b = table.to_numpy()
    labels = np.unique(table.to_numpy())
    assert s.cohen_kappa == pytest.approx(sklearn_kappa(a, b, weights="quadratic", labels=labels), abs=1e-9)
    assert s.cohen_kappa_unweighted == pytest.approx(sklearn_kappa(a, b, labels=labels), abs=1e-9)
    assert s.percent_agreement == pytest.approx(np.mean(a == b), abs=1e-12)
    assert s.krippendorff_alpha == pytest.approx(package(table, "interval"), abs=1e-9)


def test_fleiss_kappa_on_continuous_scores_equals_the_count_formula():
    table = continuous(400, 4, seed=5)
    table.iloc[1, ::2] = table.iloc[0, ::2]
    coded = ag.encode(table, level="nominal")
    assert len(coded.domain) > 1000
    assert ag.fleiss_kappa(table) == pytest.approx(ag.fleiss_kappa_from_counts(coded.counts), abs=1e-12)
    assert ag.summarize(table, level="nominal", resamples=0).fleiss_kappa == pytest.approx(
        ag.fleiss_kappa_from_counts(coded.counts), abs=1e-12
    )


# --- 50,000 distinct values: beyond what the package or scikit-learn can hold -------------------------


def _reference_alpha(table: pd.DataFrame, level: str) -> float:
    """Alpha from the definition with independent tools: per-unit pairs for the observed disagreement,
    the population variance (of values, or of scipy's average ranks for ordinal) for the expected one."""
    grid = table.to_numpy(dtype=float)
    pairable = (~np.isnan(grid)).sum(axis=0) >= 2
    grid = grid[:, pairable]
    values = grid[~np.isnan(grid)]
    n = len(values)
    if level == "ordinal":
        ranks = np.full(grid.shape, nan)
        ranks[~np.isnan(grid)] = rankdata(values)  # both in the same (row-major) cell order
        grid = ranks
        values = grid[~np.isnan(grid)]
    observed = 0.0
    m = (~np.isnan(grid)).sum(axis=0)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[0]):
            if i != j:
                d = grid[i] - grid[j]
                d = np.where(np.isnan(d), 0.0, (d != 0) if level == "nominal" else d * d)
                observed += float((d / (m - 1)).sum())
    if level == "nominal":
        _, counts = np.unique(values, return_counts=True)
        expected = n * n - float((counts.astype(float) ** 2).sum())
    else:
        expected = 2.0 * n * n * float(np.var(values))
    return 1.0 - (n - 1) * observed / expected


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_fifty_thousand_distinct_values(level):
    table = continuous(25_000, 2, seed=6, missing=0.0)
    table.iloc[1, ::50] = table.iloc[0, ::50]  # some exact agreement, so nominal is not trivially 0
    assert len(ag.encode(table, level=level).domain) > 49_000
    assert ag.krippendorff_alpha(table, level=level) == pytest.approx(
        _reference_alpha(table, level), abs=1e-9
    )


def test_fifty_thousand_distinct_values_ratio_against_a_closed_form_pair_sum():
    """Values on a geometric grid x_k = q^k: the ratio distance of two values depends only on k - j, so
    the pair sum over all 50,000 values is a sum over gaps (O(n)), an exact reference for the integral."""
    n_values, q = 50_000, 1.0002
    rng = np.random.default_rng(7)
    k = rng.permutation(n_values)
    table = pd.DataFrame(q ** k.reshape(2, -1).astype(float))
    a, b = table.to_numpy()
    observed = 2.0 * float((((a - b) / (a + b)) ** 2).sum())  # m = 2 per unit: divide by 1
    gaps = np.arange(1, n_values)
    expected = 2.0 * float(((n_values - gaps) * ((1 - q**gaps) / (1 + q**gaps)) ** 2).sum())
    reference = 1.0 - (n_values - 1) * observed / expected
    assert ag.krippendorff_alpha(table, level="ratio") == pytest.approx(reference, abs=1e-9)


def _kappa_by_fft(a: np.ndarray, b: np.ndarray, weights: str | None) -> float:
    """scikit-learn's definition with the chance term from an exact integer cross-correlation of the two
    raters' label counts (FFT, rounded), instead of a labels x labels matrix."""
    labels = np.unique(np.concatenate([a, b]))
    ia, ib = np.searchsorted(labels, a), np.searchsorted(labels, b)
    ca, cb = np.bincount(ia, minlength=len(labels)), np.bincount(ib, minlength=len(labels))
    pairs = np.rint(fftconvolve(ca.astype(float), cb[::-1].astype(float)))  # index: gap + len - 1
    gap = np.arange(len(pairs)) - (len(labels) - 1)
    w = {None: (gap != 0).astype(float), "linear": np.abs(gap).astype(float), "quadratic": gap**2.0}[weights]
    dist = {None: (ia != ib).astype(float), "linear": np.abs(ia - ib), "quadratic": (ia - ib) ** 2.0}[weights]
    return 1.0 - float(dist.sum()) / (float(w @ pairs) / len(a))


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_fifty_thousand_distinct_values(weights):
    table = continuous(25_000, 2, seed=8, missing=0.0)
    table.iloc[1, ::4] = table.iloc[0, ::4]
    a, b = table.to_numpy()
    assert len(np.unique(table.to_numpy())) > 40_000
    assert ag.cohen_kappa(a, b, weights=weights) == pytest.approx(_kappa_by_fft(a, b, weights), abs=1e-9)


# --- bootstrap and guard clauses ---------------------------------------------------------------------


@pytest.mark.parametrize("level", ag.LEVELS)
def test_bootstrap_on_continuous_scores_brackets_the_exact_alpha(level, monkeypatch):
    table = continuous(3000, 3, seed=9)
    table.iloc[1, ::3] = table.iloc[0, ::3]  # exact agreement on a third of the items (nominal)
    if level == "ratio":
        monkeypatch.setattr(engine, "RATIO_DENSE_MAX", 100)  # the Laplace path, estimate and resamples
    alpha = ag.krippendorff_alpha(table, level=level)
    lo, hi = ag.bootstrap_alpha_ci(table, level=level, seed=3, resamples=200)
    assert (lo, hi) == ag.bootstrap_alpha_ci(table, level=level, seed=3, resamples=200)
    assert lo < alpha < hi and hi - lo < 0.05


def test_each_resample_is_the_exact_alpha_of_the_resampled_table():
    """One resample as weights over groups equals the package on the table with those items repeated."""
    table = continuous(200, 3, seed=10)
    coded = ag.encode(table, level="interval")
    groups = coded.groups()
    rng = np.random.default_rng(1)
    weights = rng.multinomial(int(groups.freq.sum()), groups.freq / groups.freq.sum()).astype(float)
    pairable = [c for c in table.columns if table[c].notna().sum() >= 2]
    # item j of the pairable items belongs to group inverse[j]: repeat each group's first item weight times
    first = {g: j for j, g in reversed(list(enumerate(groups.inverse)))}
    columns = [pairable[first[g]] for g in range(len(weights)) for _ in range(int(weights[g]))]
    resampled = table[columns]
    for level in ag.LEVELS:
        got = engine.Statistic(ag.encode(table, level=level).groups(), level, resampling=True)(weights)[0]
        assert got == pytest.approx(package(resampled, level), abs=1e-9)


@pytest.mark.parametrize(
    ("cell", "later", "level", "message"),
    [
        ("high", "low", "interval", r"value 'high' \(rater 'r1', item 'i2'\) is not a number"),
        ("high", "low", "ratio", r"value 'high' \(rater 'r1', item 'i2'\) is not a number"),
        (np.inf, np.inf, "interval", r"value inf \(rater 'r1', item 'i2'\) is infinite"),
        (-np.inf, "label", "nominal", r"value -inf \(rater 'r1', item 'i2'\) is infinite"),
        ("inf", "label", "nominal", r"value 'inf' \(rater 'r1', item 'i2'\) is infinite"),
        (-0.5, -1.0, "ratio", r"value -0.5 \(rater 'r1', item 'i2'\) is negative"),
    ],
)
def test_guard_clauses_name_the_first_bad_cell(cell, later, level, message):
    table = continuous(5, 3, seed=11, missing=0.0).astype(object)
    table.iloc[2, 3] = later  # a later bad cell is not the one named
    table.iloc[1, 2] = cell
    with pytest.raises(ValueError, match=message):
        ag.krippendorff_alpha(table, level=level)
    if isinstance(later, float):  # an all-number table takes the fast path: same message
        with pytest.raises(ValueError, match=message):
            ag.krippendorff_alpha(table.astype(float), level=level)


def test_consensus_and_rater_quality_on_continuous_scores_equal_pandas():
    """Mean and majority per item without an items x values matrix (4,000 distinct values here)."""
    table = continuous(1500, 3, seed=13)
    table.iloc[2, ::2] = table.iloc[1, ::2]  # raters r1 and r2 agree exactly on every other item
    assert ag.consensus(table, level="interval").equals(table.mean(axis=0))
    majority = ag.consensus(table, level="nominal")
    counted = table.apply(lambda col: col.value_counts(), axis=0).fillna(0)
    top = counted.max(axis=0)
    single = ((counted == top).sum(axis=0) == 1) & (top > 0)
    expected = counted.idxmax(axis=0).where(single & table.notna().any(axis=0))
    pd.testing.assert_series_equal(majority, expected.astype(float), check_names=False)
    quality = ag.rater_agreement_with_consensus(table, level="interval").set_index("rater")
    for rater in table.index:
        others = table.drop(index=rater)
        valid = table.loc[rater].notna() & others.notna().any(axis=0)
        gap = (table.loc[rater] - others.mean(axis=0))[valid].abs()
        assert quality.loc[rater, "mean_abs_diff"] == pytest.approx(gap.mean(), abs=1e-12)
        assert quality.loc[rater, "n_items"] == int(valid.sum())
