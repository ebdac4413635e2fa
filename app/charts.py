"""Plotly figures for the dashboards; one colour per guardrail name everywhere (stable across pages)."""

from __future__ import annotations

import zlib
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

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


def colour_for(name: str) -> str:
    """The guardrail's colour: fixed for the known layers, a stable hash of the name for the rest."""
    index = KNOWN.index(name) if name in KNOWN else zlib.crc32(name.encode()) % len(PALETTE)
    return PALETTE[index % len(PALETTE)]


def rate_chart(
    rows: list[dict], markers: list[dict], anomalies: list[dict], *, colour_by_name: bool
) -> go.Figure:
    """Rate per 1k traces per group over time, deploy markers as vertical lines, anomalies as red x."""
    frame = pd.DataFrame(rows)
    fig = go.Figure()
    for group, part in frame.groupby("group", sort=True) if not frame.empty else []:
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
        fig.add_vline(x=m["ts"], line_dash="dot", line_color="grey")
        fig.add_annotation(
            x=m["ts"], y=1, yref="paper", text=f"{m['release']} {m['stage_pct']}%", showarrow=False
        )
    if anomalies:
        a = pd.DataFrame(anomalies)
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


def sparkline(points: list[dict], *, colour: str = "#4477aa") -> go.Figure:
    frame = pd.DataFrame(points)
    fig = go.Figure(go.Scatter(x=frame["bucket"], y=frame["value"], mode="lines", line={"color": colour}))
    fig.update_layout(height=90, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def bar(frame: pd.DataFrame, x: str, y: str, *, title: str, colour: str | None = None) -> go.Figure:
    fig = px.bar(frame, x=x, y=y, title=title, color=colour)
    fig.update_layout(height=320, margin={"t": 40})
    return fig


def psi_chart(history: list[dict[str, Any]], watch: float, act: float) -> go.Figure:
    frame = pd.DataFrame(history)
    fig = px.line(frame, x="end", y="psi", color="label", markers=True) if not frame.empty else go.Figure()
    fig.add_hline(y=watch, line_dash="dot", line_color="orange", annotation_text="watch")
    fig.add_hline(y=act, line_dash="dot", line_color="red", annotation_text="act")
    fig.update_layout(height=320, yaxis_title="PSI (week over week)", margin={"t": 30})
    return fig
