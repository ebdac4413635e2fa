"""`review-desk agreement --ratings`: JSON per DESIGN.md section 8, missing and unpairable items reported,
bad input is exit 2 naming the row, never a traceback."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from review_store.cli import app

runner = CliRunner()
# 3 raters; u4 has one rating (unpairable), u5 only a blank one, u2/u6 have blanks (missing values)
CSV = """item,rater,value
u1,ann,1
u1,bob,2
u1,cy,1
u2,ann,3
u2,bob,
u2,cy,3
u3,ann,4
u3,bob,4
u3,cy,5
u4,ann,2
u5,bob,
u6,ann,5
u6,bob,5
u6,cy,
u7,ann,2
u7,bob,2
u7,cy,2
"""


def _run(tmp_path, text, *args):
    path = tmp_path / "ratings.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(app, ["agreement", "--ratings", str(path), *args])


def test_json_with_missing_values_and_unpairable_items(tmp_path):
    result = _run(tmp_path, CSV, "--level", "ordinal", "--json", "--seed", "3", "--resamples", "500")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"n_items", "n_raters", "level", "krippendorff_alpha", "percent_agreement", "ci95"} <= set(out)
    assert (out["n_items"], out["n_raters"], out["level"]) == (7, 3, "ordinal")
    assert out["n_unpairable_items"] == 2 and sorted(out["unpairable_items"]) == ["u4", "u5"]
    assert out["n_blank_values"] == 3 and out["n_missing"] == 21 - 14 and out["n_ratings"] == 14
    nan = np.nan
    reference = [[1, 3, 4, 2, nan, 5, 2], [2, nan, 4, nan, nan, 5, 2], [1, 3, 5, nan, nan, nan, 2]]
    expected = krippendorff.alpha(reference, level_of_measurement="ordinal")
    assert out["krippendorff_alpha"] == pytest.approx(expected, abs=1e-12)
    lo, hi = out["ci95"]
    assert lo <= out["krippendorff_alpha"] <= hi
    assert "cohen_kappa" not in out and "fleiss_kappa" in out and "adjacent_agreement" in out
    again = json.loads(
        _run(tmp_path, CSV, "--level", "ordinal", "--json", "--seed", "3", "--resamples", "500").stdout
    )
    assert again["ci95"] == out["ci95"]


def test_two_raters_report_both_kappas(tmp_path):
    rng = np.random.default_rng(0)
    human = rng.integers(1, 6, 80)
    judge = np.clip(human + rng.integers(-1, 2, 80), 1, 5)
    rows = [f"t{i},human,{h}\nt{i},judge,{j}\n" for i, (h, j) in enumerate(zip(human, judge, strict=True))]
    result = _run(tmp_path, "item,rater,value\n" + "".join(rows), "--level", "interval", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(human, judge, weights="quadratic"), abs=1e-9)
    assert out["cohen_kappa_unweighted"] == pytest.approx(cohen_kappa_score(human, judge), abs=1e-9)
    assert out["percent_agreement"] == pytest.approx(np.mean(human == judge))
    assert out["verdict"] in {"trusted", "needs calibration", "untrusted"}


def test_text_report_names_unpairable_items(tmp_path):
    result = _run(tmp_path, CSV, "--level", "nominal")
    assert result.exit_code == 0, result.output
    assert "Krippendorff's alpha:" in result.stdout and "95% CI [" in result.stdout
    assert "not pairable (fewer than two ratings, left out): u4, u5" in result.stdout
    assert "missing: 7" in result.stdout and "verdict: insufficient data" in result.stdout


def test_non_numeric_value_at_interval_level_is_exit_2_with_row(tmp_path):
    text = CSV + "u8,ann,great\n"
    result = _run(tmp_path, text, "--level", "interval")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "ratings.csv line 19 (row 18), field 'value': 'great' is not a number" in result.stderr
    assert "Traceback" not in result.output
    as_json = _run(tmp_path, text, "--level", "interval", "--json")
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["ok"] is False
    assert "row 18" in json.loads(as_json.stdout)["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "cardinal"], "--level must be one of"),
        (["--resamples", "-1"], "--resamples must be 0 or more"),
    ],
)
def test_bad_options_are_exit_2(tmp_path, args, message):
    result = _run(tmp_path, CSV, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_missing_file_and_no_ratings_option(tmp_path):
    result = runner.invoke(app, ["agreement", "--ratings", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = runner.invoke(app, ["agreement"])
    assert result.exit_code == 2 and "--ratings" in result.stderr


def test_all_equal_ratings_alpha_undefined_not_a_crash(tmp_path):
    result = _run(
        tmp_path, "item,rater,value\nu1,a,3\nu1,b,3\nu2,a,3\nu2,b,3\n", "--level", "ordinal", "--json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["krippendorff_alpha"] is None and out["ci95"] == [None, None]
    assert out["verdict"] == "insufficient data"


def test_help_has_an_example():
    result = runner.invoke(app, ["agreement", "--help"])
    assert result.exit_code == 0 and "Example: review-desk agreement --ratings" in result.stdout
