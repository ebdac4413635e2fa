"""The one place numbers, money, dates and column names are turned into what a person reads.

Tables (st.dataframe column configs), KPI tiles and chart axes all format through here, so a cost reads
"$0.0042" in the table, the tile and the axis alike, a date at midnight reads "2026-11-30", and a column
named `baseline_rate_per_1k` is headed "Baseline rate per 1k".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

# Column names whose human label is not just the words of the name.
LABELS: dict[str, str] = {
    "external_id": "Trace ID",
    "trace_id": "Trace",
    "item_id": "Item",
    "ts": "Time",
    "bucket": "Period",
    "group": "Group",
    "app": "Feature",
    "p_value": "p-value",
    "psi": "PSI",
    "ttft_ms": "Time to first token (ms)",
    "latency_ms": "Latency (ms)",
    "tokens_in": "Tokens in",
    "tokens_out": "Tokens out",
    "op": "Operator",
    "rate_now": "Rate now (per 1k)",
    "rate_before": "Rate before (per 1k)",
    "change_per_1k": "Change (per 1k)",
    "ratio": "Ratio now / before",
    "events_now": "Events now",
    "events_before": "Events before",
    "traces_now": "Traces now",
    "traces_before": "Traces before",
    "poor_share": "Poor share",
    "judge_trusted": "Judge trusted",
    "cache_hit_rate": "Cache hit rate",
    "cost_per_successful_task_usd": "Cost per successful task",
    "top_retrieval_score": "Top retrieval score",
}
_WORDS = {"usd": "", "1k": "1k", "id": "ID", "pct": "%", "llm": "LLM", "ci": "CI", "sla": "SLA"}


def label(column: str) -> str:
    """A column's human header: `baseline_rate_per_1k` -> "Baseline rate per 1k", `cost_usd` -> "Cost"."""
    if column in LABELS:
        return LABELS[column]
    words = [_WORDS.get(w, w) for w in str(column).split("_")]
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:] if text else str(column)


def is_money(column: str) -> bool:
    return str(column).endswith("_usd") or str(column) in ("cost", "budget")


def is_share(column: str) -> bool:
    """A fraction 0..1 shown as a percentage (rates per 1k are not shares)."""
    name = str(column)
    return name.endswith(("_share", "_rate")) or name in ("share", "rate", "pass_rate")


def _decimals(magnitude: float) -> int:
    """Decimals that show two significant digits below $1 and cents above, whole dollars above $1,000."""
    if magnitude >= 1000:
        return 0
    if magnitude >= 1 or magnitude == 0:
        return 2
    return min(8, max(2, 1 - math.floor(math.log10(magnitude))))


def money(value: float | None, *, signed: bool = False, scale: float | None = None) -> str:
    """Dollars for the value's magnitude (or `scale`'s): $12,345 · $12.34 · $0.042 · $0.00042; never -$0.00."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    digits = _decimals(abs(scale if scale is not None else value))
    rounded = round(value, digits)
    if rounded == 0:
        return "$0" if digits == 0 else f"${0:.{digits}f}"
    sign = "-" if rounded < 0 else ("+" if signed else "")
    return f"{sign}${abs(rounded):,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{digits}f}%"


def number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3g}"


def when(value: datetime | date | None) -> str:
    """A date as a date ("2026-11-30"), a time of day only when there is one ("2026-11-30 14:05")."""
    if value is None or value is pd.NaT:
        return "—"
    if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%Y-%m-%d}"


def sentence(text: str, *, capitalise: bool = True) -> str:
    """Evidence or advice as a sentence ending with a full stop (capitalised unless it follows a colon)."""
    text = (text or "").strip()
    if not text:
        return ""
    if capitalise:
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+|~:$!-])")


def inert(text: str) -> str:
    """Text from the store inside markdown, with every markdown, LaTeX ($) and directive (:) character
    escaped so "$40.00 per month" stays dollars and a name cannot format the page."""
    return _MARKDOWN.sub(r"\\\1", text)


def value(amount: float | None, unit: str) -> str:
    """A KPI value in its unit: "%" (a 0..1 share), "ms", "usd", "per_1k", or a plain number."""
    if amount is None:
        return "—"
    if unit == "%":
        return percent(amount)
    if unit == "ms":
        return f"{amount:,.0f} ms"
    if unit == "usd":
        return money(amount)
    if unit == "per_1k":
        return f"{amount:,.1f} per 1k"
    return number(amount)


def delta(change: float | None, unit: str, *, reference: float | None) -> str | None:
    """A KPI's change against the previous period, None when there is none worth showing: a change
    smaller than what the value's own formatting can show reads as no change (never "-$0.0000")."""
    if change is None:
        return None
    if unit == "%":
        return None if round(change * 100, 1) == 0 else f"{change * 100:+.1f} pp"
    scale = abs(reference) if reference else abs(change)
    if unit == "usd":
        shown = money(change, signed=True, scale=scale)
        return None if shown.startswith("$0") else shown
    if unit == "ms":
        return None if round(change) == 0 else f"{change:+,.0f} ms"
    if unit == "per_1k":
        return None if round(change, 1) == 0 else f"{change:+,.1f} per 1k"
    return f"{change:+,.3g}"


def money_axis(values: Iterable[float | None]) -> dict[str, Any]:
    """Plotly axis settings for dollars at the data's magnitude (no "800µ" SI ticks)."""
    top = max((abs(v) for v in values if v is not None and not math.isnan(v)), default=0.0)
    step = top / 4  # about four ticks: one significant digit of the step, whole dollars from $1 up
    digits = 0 if step >= 1 or step == 0 else min(8, -math.floor(math.log10(step)))
    return {"tickprefix": "$", "tickformat": f",.{digits}f"}


def _datetime_format(series: pd.Series) -> str:
    stamps = pd.to_datetime(series.dropna())
    midnight = stamps.empty or bool(((stamps.dt.hour == 0) & (stamps.dt.minute == 0)).all())
    return "YYYY-MM-DD" if midnight else "YYYY-MM-DD HH:mm"


def column_config(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """st.dataframe column configs: human headers (`labels` overrides), dates without midnight times,
    money and shares."""
    config: dict[str, Any] = {}
    for column in frame.columns:
        name, series = (labels or {}).get(column) or label(column), frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            config[column] = st.column_config.DatetimeColumn(name, format=_datetime_format(series))
        elif is_money(column) and pd.api.types.is_numeric_dtype(series):
            top = series.abs().median() if series.notna().any() else 0.0
            config[column] = st.column_config.NumberColumn(name, format=f"$%.{_decimals(float(top))}f")
        elif is_share(column) and pd.api.types.is_numeric_dtype(series):
            config[column] = st.column_config.NumberColumn(name, format="percent")
        else:
            config[column] = st.column_config.Column(name)
    return config


def table(frame: pd.DataFrame, *, key: str | None = None, labels: dict[str, str] | None = None) -> None:
    """st.dataframe with human headers and formats (the frame keeps its field names for CSV and tests)."""
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config(frame, labels), key=key)
