"""Agreement statistics against published values and reference implementations (krippendorff, nltk,
scikit-learn, Wikipedia's Fleiss example), never against themselves."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nltk.metrics.agreement import AnnotationTask
from sklearn.metrics import cohen_kappa_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from review_store import agreement as ag
from review_store.agreement import alpha as engine
from review_store.agreement.engine import Statistic

nan = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 8: 4 coders x 12 units.
CLASSIC = pd.DataFrame(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ],
    index=["A", "B", "C", "D"],
    columns=[f"u{i}" for i in range(1, 13)],
)
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories -> 0.210.
FLEISS_COUNTS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


@st.composite
def tables(draw, *, min_raters=2, max_raters=5, max_items=25, max_values=5, missing=True):
    """Random raters x items tables of small integers, NaN = missing."""
    raters = draw(st.integers(min_raters, max_raters))
    items = draw(st.integers(2, max_items))
    values = draw(st.integers(2, max_values))
    cells = draw(
        st.lists(
            st.one_of(st.integers(0, values - 1), st.none()) if missing else st.integers(0, values - 1),
            min_size=raters * items,
            max_size=raters * items,
        )
    )
    arr = np.array([nan if c is None else float(c) for c in cells]).reshape(raters, items)
    return pd.DataFrame(arr, index=[f"r{i}" for i in range(raters)], columns=[f"i{j}" for j in range(items)])


@pytest.mark.parametrize("level", ag.LEVELS)
def test_classic_example_matches_published_alpha(level):
    assert round(ag.krippendorff_alpha(CLASSIC, level=level), 3) == PUBLISHED[level]


def test_classic_example_summary_counts():
    s = ag.summarize(CLASSIC, level="ordinal", resamples=200)
    assert (s.n_items, s.n_raters, s.n_ratings, s.n_missing) == (12, 4, 41, 7)
    assert s.unpairable_items == ["u12"] and s.n_unpairable_items == 1 and s.n_pairable_items == 11
    assert round(s.krippendorff_alpha, 3) == 0.815
    assert s.fleiss_kappa is not None and s.cohen_kappa is None
    assert "cohen_kappa" not in s.to_dict() and "fleiss_kappa" in s.to_dict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_nominal_alpha_equals_nltk(table):
    triples = [
        (rater, item, int(v)) for rater, row in table.iterrows() for item, v in row.items() if not np.isnan(v)
    ]
    ours = ag.krippendorff_alpha(table, level="nominal")
    assume(ours is not None)
    assert ours == pytest.approx(AnnotationTask(data=triples).alpha(), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(tables(), st.sampled_from(ag.LEVELS))
def test_engine_equals_krippendorff_package(table, level):
    """The group engine (estimate and every bootstrap resample) gives the package's alpha at every
    level, both through the public function and with explicit group weights."""
    coded = ag.encode(table, level=level)
    groups = coded.groups()
    assume(len(groups.freq) > 0 and len(coded.domain) > 1)
    with np.errstate(all="ignore"):
        expected = krippendorff.alpha(table.to_numpy(), level_of_measurement=level)
    assume(np.isfinite(expected))
    got = Statistic(groups, level)(groups.freq[None, :].astype(float))[0]
    assert got == pytest.approx(expected, abs=1e-9)
    assert ag.krippendorff_alpha(table, level=level) == pytest.approx(expected, abs=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda k: st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=2, max_size=60)
    ),
    st.sampled_from([None, "linear", "quadratic"]),
)
def test_cohen_kappa_equals_sklearn(pairs, weights):
    a, b = (np.array(x) for x in zip(*pairs, strict=True))
    ours = ag.cohen_kappa(a, b, weights=weights)
    with np.errstate(all="ignore"):
        expected = cohen_kappa_score(a, b, weights=weights)
    if not np.isfinite(expected):
        assert ours is None
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


def test_cohen_kappa_uses_only_items_both_rated_and_given_labels():
    a = [1, 2, 3, nan, 5, 4]
    b = [1, 3, 3, 2, nan, 4]
    keep = [0, 1, 2, 5]
    ref = cohen_kappa_score(np.array(a)[keep], np.array(b)[keep], weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert ag.cohen_kappa(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]) == pytest.approx(ref, abs=1e-12)


def test_summary_two_raters_kappas_equal_sklearn():
    rng = np.random.default_rng(3)
    human = rng.integers(1, 6, 300)
    judge = np.clip(human + rng.integers(-1, 2, 300), 1, 5)
    s = ag.summarize(pd.DataFrame([human, judge], index=["human", "judge"]).astype(float), level="ordinal")
    assert s.cohen_kappa == pytest.approx(cohen_kappa_score(human, judge, weights="quadratic"), abs=1e-9)
    assert s.cohen_kappa_unweighted == pytest.approx(cohen_kappa_score(human, judge), abs=1e-9)
    assert s.percent_agreement == pytest.approx(np.mean(human == judge))
    assert s.adjacent_agreement == pytest.approx(np.mean(np.abs(human - judge) <= 1))
    assert s.fleiss_kappa is None and "fleiss_kappa" not in s.to_dict()


@settings(max_examples=100, deadline=None)
@given(tables(missing=False))
def test_percent_agreement_equals_nltk_average_observed_agreement_on_complete_tables(table):
    triples = [(r, i, int(v)) for r, row in table.iterrows() for i, v in row.items()]
    assert ag.percent_agreement(table) == pytest.approx(AnnotationTask(data=triples).avg_Ao(), abs=1e-9)


def test_fleiss_kappa_wikipedia_example():
    assert round(ag.fleiss_kappa_from_counts(FLEISS_COUNTS), 3) == 0.210
    # the same data as a 14 raters x 10 items table (raters are anonymous in Fleiss' design)
    columns = [np.repeat(np.arange(1, 6), row) for row in FLEISS_COUNTS]
    table = pd.DataFrame(np.array(columns).T.astype(float))
    assert round(ag.fleiss_kappa(table), 3) == 0.210
    assert round(ag.summarize(table, level="nominal", resamples=0).fleiss_kappa, 3) == 0.210


def test_confusion_matrix_equals_crosstab_and_sklearn():
    rng = np.random.default_rng(5)
    a = rng.choice(["good", "bad", "meh"], 200).astype(object)
    b = rng.choice(["good", "bad", "meh"], 200).astype(object)
    b[:10] = None
    cm = ag.confusion_matrix(a, b)
    ref = pd.crosstab(pd.Series(a[10:], name="a"), pd.Series(b[10:], name="b"))
    assert cm.equals(ref.loc[cm.index, cm.columns])
    assert (cm.to_numpy() == sk_confusion_matrix(a[10:], b[10:], labels=list(cm.index))).all()


def test_undefined_alpha_is_none():
    assert ag.krippendorff_alpha(pd.DataFrame([[3, 3, 3], [3, 3, 3.0]]), level="ordinal") is None
    assert ag.krippendorff_alpha(pd.DataFrame([[1, nan], [nan, 2.0]]), level="interval") is None
    s = ag.summarize(pd.DataFrame([[2, 2], [2, 2.0]]), level="interval")
    assert s.krippendorff_alpha is None and s.ci95 == [None, None]


def _noisy(n_items, seed, raters=3):
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, n_items)
    noise = rng.integers(-1, 2, (raters, n_items)) * (rng.random((raters, n_items)) < 0.35)
    table = np.clip(truth + noise, 1, 5).astype(float)
    table[rng.random((raters, n_items)) < 0.1] = nan
    return pd.DataFrame(table)


@pytest.mark.parametrize("level", ag.LEVELS)
def test_bootstrap_ci_reproducible_contains_estimate_and_narrows(level):
    small, large = _noisy(120, 1), _noisy(4000, 1)
    ci = ag.bootstrap_alpha_ci(small, level=level, seed=42)
    assert ci == ag.bootstrap_alpha_ci(small, level=level, seed=42)
    assert ci != ag.bootstrap_alpha_ci(small, level=level, seed=43)
    alpha = ag.krippendorff_alpha(small, level=level)
    assert ci[0] < alpha < ci[1]
    wide = ci[1] - ci[0]
    large_ci = ag.bootstrap_alpha_ci(large, level=level, seed=42)
    assert large_ci[0] < ag.krippendorff_alpha(large, level=level) < large_ci[1]
    assert large_ci[1] - large_ci[0] < wide / 3


def test_bootstrap_item_index_path_agrees_with_pattern_path(monkeypatch):
    """Continuous scores can give thousands of distinct count patterns; then item indices are drawn.
    Both paths sample the same distribution, so their intervals agree closely."""
    rng = np.random.default_rng(9)
    truth = rng.random(3000)
    table = pd.DataFrame(np.clip(truth + rng.normal(0, 0.05, (3, 3000)), 0, 1))
    assert len(ag.encode(table, level="interval").groups().freq) > engine._MULTINOMIAL_MAX_PATTERNS
    ci = ag.bootstrap_alpha_ci(table, level="interval", seed=1, resamples=400)
    monkeypatch.setattr(engine, "_MULTINOMIAL_MAX_PATTERNS", 10**9)
    multinomial = ag.bootstrap_alpha_ci(table, level="interval", seed=1, resamples=400)
    monkeypatch.setattr(engine, "_MULTINOMIAL_MAX_PATTERNS", 0)
    ci = ag.bootstrap_alpha_ci(table, level="interval", seed=1, resamples=400)
    assert ci == ag.bootstrap_alpha_ci(table, level="interval", seed=1, resamples=400)
    assert ci != multinomial
    assert ci[0] < ag.krippendorff_alpha(table, level="interval") < ci[1]
    assert ci == pytest.approx(multinomial, abs=0.005)


def test_continuous_values_are_exact_at_every_level():
    """150 items of continuous scores (411 distinct values, ties at the clipped ends): no binning, exact."""
    rng = np.random.default_rng(2)
    truth = rng.random(150)
    table = pd.DataFrame(np.clip(truth + rng.normal(0, 0.1, (3, 150)), 0, 1))
    assert len(ag.encode(table, level="interval").domain) == 411
    for level in ag.LEVELS:
        exact = krippendorff.alpha(table.to_numpy(), level_of_measurement=level)
        assert ag.krippendorff_alpha(table, level=level) == pytest.approx(exact, abs=1e-12)
    assert "binned" not in ag.summarize(table, level="interval", resamples=50).to_dict()


def test_nominal_labels_and_ordinal_domain():
    table = ag.table_from_rows(
        [("i1", "a", "low"), ("i1", "b", "low"), ("i2", "a", "high"), ("i2", "b", "mid"), ("i3", "a", "mid")]
    )
    expected = krippendorff.alpha(
        [["low", "high", "mid"], ["low", "mid", "nan"]],
        level_of_measurement="ordinal",
        value_domain=["low", "mid", "high"],
    )
    got = ag.krippendorff_alpha(table, level="ordinal", value_domain=["low", "mid", "high"])
    assert got == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="needs numbers"):
        ag.encode(table, level="interval")
    assert ag.summarize(table, level="nominal").n_unpairable_items == 1


def test_table_from_rows_refuses_duplicates_unless_asked():
    rows = [("i1", "a", 1), ("i1", "a", 2), ("i1", "b", 2)]
    with pytest.raises(ValueError, match="more than once"):
        ag.table_from_rows(rows)
    assert ag.table_from_rows(rows, on_duplicate="last").loc["a", "i1"] == 2


def test_rater_agreement_with_consensus_spots_the_drifting_rater():
    rng = np.random.default_rng(4)
    truth = rng.integers(1, 6, 400).astype(float)
    table = pd.DataFrame(
        [truth, truth, np.where(rng.random(400) < 0.1, 3, truth), rng.integers(1, 6, 400)],
        index=["ann", "bob", "cy", "drift"],
    )
    quality = ag.rater_agreement_with_consensus(table, level="ordinal").set_index("rater")
    assert quality["exact_agreement"].idxmin() == "drift"
    assert quality.loc["drift", "exact_agreement"] < 0.4 < 0.85 < quality.loc["cy", "exact_agreement"]
    # ann's others are bob, cy, drift: bob always equals ann, so the majority is ann's value unless
    # cy and drift agree with each other on a different value
    others = table.drop(index="ann")
    majority = others.mode(axis=0)
    single = majority.iloc[1].isna() if len(majority) > 1 else pd.Series(True, index=table.columns)
    expected = (majority.iloc[0][single] == truth[single.to_numpy()]).mean()
    assert quality.loc["ann", "exact_agreement"] == pytest.approx(expected)
    assert quality.loc["ann", "n_ties"] == int((~single).sum())


def test_consensus_majority_and_mean():
    table = pd.DataFrame({"a": [1, 1, 2], "b": [1, 2, nan], "c": [nan, nan, nan]}, index=["x", "y", "z"])
    majority = ag.consensus(table, level="ordinal")
    assert majority["a"] == 1 and np.isnan(majority["b"]) and np.isnan(majority["c"])
    assert ag.consensus(table, level="interval")["a"] == pytest.approx(4 / 3)


@pytest.mark.parametrize(
    ("alpha", "ci_low", "n", "verdict"),
    [
        (0.9, 0.85, 100, "trusted"),
        (0.85, 0.60, 100, "needs calibration"),  # trusted point estimate, interval too wide
        (0.85, 0.79, 100, "needs calibration"),  # CI lower bound just under the trusted bar
        (0.82, 0.80, 50, "trusted"),  # exactly at the bar, exactly enough items
        (0.60, 0.40, 100, "untrusted"),
        (0.70, 0.60, 100, "needs calibration"),
        (0.50, 0.40, 100, "untrusted"),
        (0.95, 0.90, 49, "insufficient data"),
        (None, None, 500, "insufficient data"),
    ],
)
def test_trust_verdict(alpha, ci_low, n, verdict):
    assert ag.trust_verdict(alpha, ci_low, n) == verdict
    assert ag.trust_verdict(0.75, 0.71, 60, trusted=0.7, min_items=60) == "trusted"


def test_hundred_thousand_items_three_raters_runs():
    """Scale sanity (timing lives in bench/): 100,000 items x 3 raters, 1,000 resamples."""
    table = _noisy(100_000, 11)
    s = ag.summarize(table, level="ordinal", seed=0, resamples=1000)
    assert s.n_items == 100_000 and s.n_raters == 3
    expected = krippendorff.alpha(table.to_numpy(), level_of_measurement="ordinal")
    assert s.krippendorff_alpha == pytest.approx(expected, abs=1e-9)
    assert s.ci95[0] < s.krippendorff_alpha < s.ci95[1] and s.ci95[1] - s.ci95[0] < 0.02
