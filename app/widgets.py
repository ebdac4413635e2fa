"""Shared UI pieces: formatting, KPI tiles, CSV download for tables, untrusted text shown inert."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from review_store.desk import frame_csv
from review_store.desk.dashboard_views import Kpi


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "usd":
        return f"${value:,.4f}"
    if unit == "per_1k":
        return f"{value:,.1f}"
    return f"{value:,.3g}"


def _delta_text(kpi: Kpi) -> str | None:
    if kpi.delta is None:
        return None
    if kpi.unit == "%":
        return f"{kpi.delta * 100:+.1f} pp"
    return (
        format_value(kpi.delta, kpi.unit).replace("$-", "-$")
        if kpi.delta < 0
        else "+" + format_value(kpi.delta, kpi.unit)
    )


def kpi_tiles(kpis: Iterable[Kpi], columns: int = 3) -> None:
    """One st.metric per KPI, with the previous period as the delta and the right colour direction."""
    kpis = list(kpis)
    cols = st.columns(columns)
    for i, kpi in enumerate(kpis):
        with cols[i % columns]:
            st.metric(
                kpi.label,
                format_value(kpi.value, kpi.unit),
                delta=_delta_text(kpi),
                delta_color="normal" if kpi.higher_is_better else "inverse",
                help=f"{kpi.help} Previous period: {format_value(kpi.previous, kpi.unit)}.",
                border=True,
            )


def table_with_download(frame: pd.DataFrame, *, key: str, file_name: str, filter_text: bool = True) -> None:
    """A dataframe with a free-text filter and a CSV download of what is shown."""
    shown = frame
    if filter_text and not frame.empty:
        query = st.text_input("Filter rows", key=f"{key}_filter", placeholder="type to filter any column")
        if query:
            mask = (
                frame.astype(str)
                .apply(lambda col: col.str.contains(query, case=False, regex=False))
                .any(axis=1)
            )
            shown = frame[mask]
    st.dataframe(shown, width="stretch", hide_index=True)
    st.download_button(
        "Download CSV",
        frame_csv(shown),  # the one CSV writer: cells a spreadsheet would run as formulas are quoted
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
    )


def untrusted_text(label: str, value: str | None, *, height: int | None = None) -> None:
    """Model inputs and outputs are untrusted: shown as plain text, never as markdown or HTML."""
    st.caption(label)
    st.code(value or "", language=None, wrap_lines=True, height=height)
