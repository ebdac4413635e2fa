"""The ratings CSV (DESIGN.md section 8): strict parsing, errors that name file, line, row and field."""

from __future__ import annotations

import numpy as np
import pytest

from review_store.agreement.ratings import parse_ratings, read_ratings_csv
from review_store.errors import ValidationFailed

GOOD = "item,rater,value\nu1,ann,1\nu1,bob,2\nu2,ann,\nu2,bob,3\nu3,ann,4\n"


def test_parses_rows_blank_values_and_table():
    ratings = parse_ratings(GOOD, level="interval", source="r.csv")
    assert ratings.n_blank_values == 1
    assert list(ratings.rows["line"]) == [2, 3, 4, 5, 6]
    table = ratings.table()
    assert list(table.index) == ["ann", "bob"] and list(table.columns) == ["u1", "u2", "u3"]
    assert (
        table.loc["bob", "u2"] == 3.0
        and np.isnan(table.loc["ann", "u2"])
        and np.isnan(table.loc["bob", "u3"])
    )


def test_nominal_keeps_labels_and_reads_all_numeric_as_numbers():
    labels = parse_ratings("item,rater,value\nu1,a,good\nu1,b,bad\n", level="nominal").table()
    assert labels.loc["a", "u1"] == "good"
    numbers = parse_ratings("item,rater,value\nu1,a,1\nu1,b,1.0\n", level="nominal").table()
    assert numbers.loc["a", "u1"] == numbers.loc["b", "u1"] == 1.0


def test_header_order_extra_columns_bom_and_blank_lines(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("\ufeffValue,Rater,Item,note\n3,a,u1,x\n\n4,b,u1,y\n", encoding="utf-8")
    table = read_ratings_csv(path, level="ordinal").table()
    assert table.loc["a", "u1"] == 3.0 and table.loc["b", "u1"] == 4.0


@pytest.mark.parametrize(
    ("text", "level", "message"),
    [
        (
            "item,rater,value\nu1,a,1\nu1,b,abc\n",
            "interval",
            r"r\.csv line 3 \(row 2\), field 'value': 'abc' is not a number",
        ),
        (
            "item,rater,value\nu1,a,nan\n",
            "ratio",
            r"line 2 \(row 1\), field 'value': 'nan' is not a finite value",
        ),
        (
            "item,rater,value\nu1,a,1\nu2,a,-Inf\n",
            "interval",
            r"line 3 \(row 2\), field 'value': '-Inf' is not a finite",
        ),
        (
            "item,rater,value\nu1,a,good\nu2,b,NaN\n",
            "nominal",
            r"line 3 \(row 2\), field 'value': 'NaN' is not a finite",
        ),
        (
            "item,rater,value\nu1,a,infinity\n",
            "nominal",
            r"line 2 \(row 1\), field 'value': 'infinity' is not a finite",
        ),
        ("item,rater,value\nu1,a,-1\n", "ratio", r"line 2 \(row 1\), field 'value': '-1' is negative"),
        ("item,rater,value\nu1,a,low\n", "ordinal", r"line 2 \(row 1\), field 'value'"),
        ("item,rater,value\n,a,1\n", "nominal", r"line 2 \(row 1\), field 'item': empty"),
        ("item,rater,value\nu1,,1\n", "nominal", r"line 2 \(row 1\), field 'rater': empty"),
        (
            "item,rater,value\nu1,a,1\nu1,a,2\n",
            "nominal",
            r"line 3 \(row 2\): rater 'a' already rated item 'u1' on line 2",
        ),
        ("item,rater\nu1,a\n", "nominal", r"line 1: the header lacks column 'value'"),
        ("item,rater,value\nu1,a\n", "nominal", r"line 2 \(row 1\): expected 3 fields, got 2"),
        ("", "nominal", r"r\.csv: the file is empty"),
        ("item,rater,value\n", "nominal", r"no ratings after the header"),
    ],
)
def test_errors_name_the_place(text, level, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_ratings(text, level=level, source="r.csv")


def test_file_errors(tmp_path):
    with pytest.raises(ValidationFailed, match="no such file"):
        read_ratings_csv(tmp_path / "missing.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("item,rater,value\nu1,a,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        read_ratings_csv(bad)
    with pytest.raises(ValidationFailed, match="level must be one of"):
        parse_ratings(GOOD, level="cardinal")  # type: ignore[arg-type]


def test_continuous_scores_parse_exactly():
    """Judge probabilities with thousands of distinct values: read as they are, no binning anywhere."""
    rows = [f"u{i},judge,{0.5 + i / 7919:.12f}\nu{i},human,{0.5 + i / 7907:.12f}" for i in range(2000)]
    table = parse_ratings("item,rater,value\n" + "\n".join(rows) + "\n", level="interval").table()
    assert table.shape == (2, 2000) and table.loc["judge", "u1999"] == float(f"{0.5 + 1999 / 7919:.12f}")
