"""The one CSV writer: every CSV the desk hands out (CLI exports, the UI's "Download CSV") goes through it.

Spreadsheets run a cell that starts with = + - @ (or a tab / carriage return before one) as a formula,
so a release named `=cmd|' /C calc'!A0` or a username `=HYPERLINK(...)` would execute on the reader's
machine. Following OWASP's CSV-injection advice, such text cells are written with a leading single
quote: the spreadsheet shows the text, never runs it. Numbers stay numbers (-0.5 is data, not a formula).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, str):
        value = str(value)  # pandas Timestamps, decimals, lists... as their text, then neutralised
    return neutralise(value)


def csv_text(rows: Iterable[Mapping[str, Any] | Sequence[Any]], columns: Sequence[str]) -> str:
    """CSV with a header row; each row is a mapping (by column name) or a sequence (by position).

    Text cells are neutralised against formula injection; None and NaN become empty cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(str(c)) for c in columns])
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        if len(values) != len(columns):
            raise ValueError(f"csv row has {len(values)} cells, the header has {len(columns)}")
        writer.writerow([_cell(v) for v in values])
    return buffer.getvalue()


def frame_csv(frame: Any) -> bytes:
    """A pandas DataFrame as UTF-8 CSV bytes through the same writer (for download buttons)."""
    columns = [str(c) for c in frame.columns]
    return csv_text(frame.itertuples(index=False, name=None), columns).encode("utf-8")
