"""Shared UI pieces: KPI tiles with their trends, CSV download for tables, untrusted text shown inert."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import streamlit as st

from app import charts, formatting
from review_store.desk import frame_csv
from review_store.desk.dashboard_views import DeployMarker, Kpi, KpiTrend


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit, through the one formatting helper (app.formatting)."""
    return formatting.value(value, unit)


def kpi_tiles(
    kpis: Iterable[Kpi],
    columns: int = 3,
    *,
    trends: Mapping[str, KpiTrend] | None = None,
    markers: Sequence[DeployMarker] = (),
) -> None:
    """One st.metric per KPI (previous period as the delta, coloured by direction), each with its daily
    trend drawn under it when `trends` is given (release deploys as dotted lines): visible at a glance."""
    kpis = list(kpis)
    cols = st.columns(columns)
    for i, kpi in enumerate(kpis):
        with cols[i % columns]:
            st.metric(
                kpi.label,
                formatting.value(kpi.value, kpi.unit),
                delta=formatting.delta(kpi.delta, kpi.unit, reference=kpi.value),
                delta_color="normal" if kpi.higher_is_better else "inverse",
                help=f"{kpi.help} Previous period: {formatting.value(kpi.previous, kpi.unit)}.",
                border=True,
            )
            if trends is not None and kpi.key in trends:
                st.plotly_chart(
                    charts.sparkline(trends[kpi.key].points, unit=kpi.unit, label=kpi.label, markers=markers),
                    key=f"spark_{kpi.key}",
                    config={"displayModeBar": False},
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
    formatting.table(shown)
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
