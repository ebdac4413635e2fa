"""Plotly figures for the dashboards; one colour per guardrail name everywhere (stable across pages)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from review_store.desk.dashboard_views import Anomaly, DeployMarker, RatePoint, TrendPoint

PALETTE = px.colors.qualitative.Safe
KNOWN = [
    "grounding",
    "pii_detector",
    "prompt_injection",
    "off_topic",
    "citation_check",
    "policy",
    "low_confidence",
]


def frame(rows: Iterable[Any], *, drop: Sequence[str] = ()) -> pd.DataFrame:
    """A table of read-model rows (one column per field), for st.dataframe and CSV downloads."""
    data = pd.DataFrame([row.model_dump() for row in rows])
    return data.drop(columns=[c for c in drop if c in data.columns])


def colour_for(name: str) -> str:
    """The guardrail's colour: fixed for the known layers, a stable hash of the name for the rest."""
    index = KNOWN.index(name) if name in KNOWN else zlib.crc32(name.encode()) % len(PALETTE)
    return PALETTE[index % len(PALETTE)]


def rate_chart(
    rows: Sequence[RatePoint],
    markers: Sequence[DeployMarker],
    anomalies: Sequence[Anomaly],
    *,
    colour_by_name: bool,
) -> go.Figure:
    """Rate per 1k traces per group over time, deploy markers as vertical lines, anomalies as red x."""
    rates = frame(rows)
    fig = go.Figure()
    for group, part in rates.groupby("group", sort=True) if not rates.empty else []:
        fig.add_trace(
            go.Scatter(
                x=part["bucket"],
                y=part["rate_per_1k"],
                name=str(group),
                mode="lines+markers",
                line={"color": colour_for(str(group))} if colour_by_name else None,
                customdata=part[["traces", "events"]],
                hovertemplate="%{x}<br>%{y:.1f} per 1k (%{customdata[1]} events / %{customdata[0]} traces)",
            )
        )
    for m in markers:
        fig.add_vline(x=m.ts, line_dash="dot", line_color="grey")
        fig.add_annotation(x=m.ts, y=1, yref="paper", text=f"{m.release} {m.stage_pct}%", showarrow=False)
    if anomalies:
        a = frame(anomalies)
        fig.add_trace(
            go.Scatter(
                x=a["day"],
                y=a["rate_per_1k"],
                mode="markers",
                name="anomaly",
                marker={"symbol": "x", "size": 12, "color": "red"},
                text=a["name"] + " / " + a["segment"],
            )
        )
    fig.update_layout(yaxis_title="triggers per 1,000 traces", height=380, margin={"t": 30})
    return fig


def sparkline(points: Sequence[TrendPoint], *, colour: str = "#4477aa") -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=[p.bucket for p in points], y=[p.value for p in points], mode="lines", line={"color": colour}
        )
    )
    fig.update_layout(height=90, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def bar(data: pd.DataFrame, x: str, y: str, *, title: str, colour: str | None = None) -> go.Figure:
    fig = px.bar(data, x=x, y=y, title=title, color=colour)
    fig.update_layout(height=320, margin={"t": 40})
    return fig
