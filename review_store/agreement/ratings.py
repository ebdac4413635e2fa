"""The ratings CSV of DESIGN.md section 8 (`item,rater,value`, one row per rating, empty value = missing).

Parsing is strict and names the place of every problem ("ratings.csv line 5 (row 4), field 'value'"),
because a silently skipped row would change an agreement number nobody can then explain.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from review_store.agreement import LEVELS, Level, table_from_rows
from review_store.errors import ValidationFailed

REQUIRED = ("item", "rater", "value")


@dataclass(frozen=True)
class Ratings:
    """Parsed ratings: one row per rating (value None when missing) plus where they came from."""

    rows: pd.DataFrame  # columns item, rater, value, line
    source: str
    n_blank_values: int

    def table(self) -> pd.DataFrame:
        """The raters x items table (NaN = missing) that `review_store.agreement` takes."""
        return table_from_rows(self.rows)


def parse_ratings(
    text: str | io.TextIOBase, *, level: Level = "nominal", source: str = "<ratings>"
) -> Ratings:
    """Parse ratings CSV text; raise ValidationFailed naming source, line, row and field on bad input.

    Values must be finite numbers at the ordinal, interval and ratio levels (ordinal needs an order,
    and a CSV cannot carry one for labels), and >= 0 at the ratio level; "nan" and "inf" are refused at
    every level (an empty value is the way to say "missing"). Continuous scores are fine: any number of
    distinct values. Nominal values are labels,
    read as numbers when every value is one so "1" and "1.0" agree.
    """
    if level not in LEVELS:
        raise ValidationFailed(f"{source}: level must be one of {', '.join(LEVELS)}, not {level!r}")
    reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text)
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ValidationFailed(f"{source}: the file is empty; expected the header item,rater,value")
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    for name in REQUIRED:
        if name not in names:
            raise ValidationFailed(
                f"{source} line 1: the header lacks column {name!r} (expected item,rater,value, got {','.join(names)})"
            )
    pos = {name: names.index(name) for name in REQUIRED}
    records: list[tuple[str, str, Any, int]] = []
    seen: dict[tuple[str, str], int] = {}
    blanks = 0
    row_no = 0
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank line
        row_no += 1
        where = f"{source} line {line} (row {row_no})"
        if len(fields) < len(names):
            raise ValidationFailed(f"{where}: expected {len(names)} fields, got {len(fields)}")
        item, rater, raw = (fields[pos[n]].strip() for n in REQUIRED)
        for name, value in (("item", item), ("rater", rater)):
            if not value:
                raise ValidationFailed(
                    f"{where}, field {name!r}: empty; every rating needs an item and a rater"
                )
        if (item, rater) in seen:
            raise ValidationFailed(
                f"{where}: rater {rater!r} already rated item {item!r} on line {seen[item, rater]}"
            )
        seen[item, rater] = line
        value: Any = None
        if not raw:
            blanks += 1
        elif level == "nominal":
            if _non_finite(raw):
                raise ValidationFailed(
                    f"{where}, field 'value': {raw!r} is not a finite value (NaN and infinities are refused; "
                    "leave the value empty for a missing rating)"
                )
            value = raw
        else:
            value = _number(raw, where=where, level=level)
        records.append((item, rater, value, line))
    if not records:
        raise ValidationFailed(f"{source}: no ratings after the header")
    rows = pd.DataFrame(records, columns=["item", "rater", "value", "line"])
    return Ratings(rows=rows, source=source, n_blank_values=blanks)


def _non_finite(raw: str) -> bool:
    try:
        return not math.isfinite(float(raw))
    except ValueError:
        return False


def _number(raw: str, *, where: str, level: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if _non_finite(raw):
        raise ValidationFailed(
            f"{where}, field 'value': {raw!r} is not a finite value (NaN and infinities are refused; "
            "leave the value empty for a missing rating)"
        )
    if not math.isfinite(number):
        raise ValidationFailed(
            f"{where}, field 'value': {raw!r} is not a number (the {level} level needs numbers)"
        )
    if level == "ratio" and number < 0:
        raise ValidationFailed(
            f"{where}, field 'value': {raw!r} is negative (the ratio level needs values >= 0)"
        )
    return number


def read_ratings_csv(path: str | Path, *, level: Level = "nominal") -> Ratings:
    """Read a ratings CSV file (UTF-8, optional BOM); errors name the file, line and field."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return parse_ratings(handle.read(), level=level, source=path.name)
    except FileNotFoundError as exc:
        raise ValidationFailed(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise ValidationFailed(f"{path}: malformed CSV ({exc})") from exc
