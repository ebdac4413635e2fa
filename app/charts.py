"""Plotly figures for the dashboards; one colour per guardrail name everywhere (stable across pages)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from app import formatting
from review_store.desk.dashboard_views import (
    Anomaly,
    AnomalySeries,
    Budget,
    CostPoint,
    DeployMarker,
    RatePoint,
    SpendPoint,
    TrendPoint,
)

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


# Below the x-axis title (which sits about 0.1-0.15 of the plot height under the axis), never over it.
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.28, "x": 0, "xanchor": "left"}


def frame(rows: Iterable[Any], *, drop: Sequence[str] = ()) -> pd.DataFrame:
    """A table of read-model rows (one column per field), for st.dataframe and CSV downloads."""
    data = pd.DataFrame([row.model_dump() for row in rows])
    return data.drop(columns=[c for c in drop if c in data.columns])


def colour_for(name: str) -> str:
    """The guardrail's colour: fixed for the known layers, a stable hash of the name for the rest."""
    index = KNOWN.index(name) if name in KNOWN else zlib.crc32(name.encode()) % len(PALETTE)
    return PALETTE[index % len(PALETTE)]


def _release_spans(markers: Sequence[DeployMarker]) -> list[tuple[str, list[DeployMarker]]]:
    """Deploy steps grouped per release, in time order of each release's first step."""
    spans: dict[str, list[DeployMarker]] = {}
    for m in sorted(markers, key=lambda m: m.ts):
        spans.setdefault(m.release, []).append(m)
    return list(spans.items())


def release_label(release: str, steps: Sequence[DeployMarker]) -> str:
    """One line per release: its canary stages in order and how it ended (rolled back, health checks)."""
    stages = [f"{m.stage_pct}%" for m in steps if m.kind == "canary" and m.stage_pct is not None]
    parts = [release]
    if stages:
        parts.append("canary " + "→".join(stages))
    if any(m.kind == "rollback" for m in steps):
        parts.append("rolled back")
    checks = [m for m in steps if m.kind == "health_check"]
    if checks:
        failed = sum(1 for m in checks if m.healthy is False)
        parts.append(f"{len(checks)} health check(s)" + (f", {failed} failed" if failed else ""))
    return " · ".join(parts)


def release_bands(fig: go.Figure, markers: Sequence[DeployMarker], *, labels: bool = True) -> None:
    """One shaded band per release from its first to its last deploy step, each stage a thin dotted line,
    and ONE label per release, stacked in rows above the plot so neighbouring releases never overlap."""
    for i, (release, steps) in enumerate(_release_spans(markers)):
        first, last = steps[0].ts, steps[-1].ts
        if last - first < timedelta(hours=6):
            last = first + timedelta(hours=6)
        fig.add_vrect(x0=first, x1=last, fillcolor="#88aadd", opacity=0.15, line_width=0, layer="below")
        for m in steps:
            colour = "#cc3311" if m.kind == "rollback" else "#4477aa"
            fig.add_vline(x=m.ts, line_dash="dot", line_width=1, line_color=colour)
        if labels:
            fig.add_annotation(
                x=first,
                xanchor="left",
                y=1.0,
                yref="paper",
                yanchor="bottom",
                yshift=2 + 16 * (i % 3),
                text=release_label(release, steps),
                showarrow=False,
                font={"size": 11},
                bgcolor="rgba(255,255,255,0.8)",
            )


def rate_chart(
    rows: Sequence[RatePoint],
    markers: Sequence[DeployMarker],
    anomalies: Sequence[Anomaly],
    *,
    colour_by_name: bool,
    series: Sequence[AnomalySeries] = (),
) -> go.Figure:
    """Rate per 1k traces per group over time; one labelled band per release; each anomaly's own
    (guardrail, segment) series drawn dashed, with its anomaly markers ON that line."""
    rates = frame(rows)
    fig = go.Figure()
    for group, part in rates.groupby("group", sort=True) if not rates.empty else []:
        fig.add_trace(
            go.Scatter(
                x=part["bucket"].tolist(),
                y=part["rate_per_1k"].tolist(),
                name=str(group),
                mode="lines+markers",
                line={"color": colour_for(str(group))} if colour_by_name else None,
                customdata=part[["traces", "events"]].values.tolist(),
                hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y:.1f} per 1k "
                "(%{customdata[1]} events / %{customdata[0]} traces)<extra>%{fullData.name}</extra>",
            )
        )
    for line in series:
        daily = {p.bucket: p for p in line.points}
        fig.add_trace(
            go.Scatter(
                x=[p.bucket for p in line.points],
                y=[p.rate_per_1k for p in line.points],
                name=f"{line.name} in {line.segment}",
                mode="lines",
                line={"color": colour_for(line.name), "dash": "dash"},
                hovertemplate="%{x|%Y-%m-%d}<br>%{y:.1f} per 1k<extra>%{fullData.name}</extra>",
            )
        )
        mine = [a for a in anomalies if (a.name, a.segment) == (line.name, line.segment) and a.day in daily]
        if mine:
            fig.add_trace(
                go.Scatter(
                    x=[a.day for a in mine],
                    y=[daily[a.day].rate_per_1k for a in mine],
                    mode="markers",
                    name=f"anomaly: {line.name} in {line.segment}",
                    marker={"symbol": "x", "size": 12, "color": "#cc3311"},
                    text=[
                        f"{a.window_days}-day window {a.rate_per_1k:.0f} per 1k vs baseline "
                        f"{a.baseline_rate_per_1k:.0f} (x{a.ratio:.1f}, p={a.p_value:.1g})"
                        for a in mine
                    ],
                    hovertemplate="%{x|%Y-%m-%d}: %{text}<extra>%{fullData.name}</extra>",
                )
            )
    release_bands(fig, markers)
    top = 30 + 16 * min(3, len(_release_spans(markers)))
    fig.update_layout(height=430, margin={"t": top, "b": 110}, legend=LEGEND_BELOW)
    fig.update_xaxes(title_text="date")
    fig.update_yaxes(title_text="triggers per 1,000 traces", rangemode="tozero")
    return fig


def sparkline(
    points: Sequence[TrendPoint],
    *,
    unit: str = "",
    label: str = "",
    markers: Sequence[DeployMarker] = (),
    colour: str = "#4477aa",
) -> go.Figure:
    """A KPI's daily trend, small: its values hover in the KPI's own format; releases as bands."""
    values = [p.value for p in points]
    shown = [formatting.value(v, unit) for v in values]
    fig = go.Figure(
        go.Scatter(
            x=[p.bucket for p in points],
            y=values,
            mode="lines",
            line={"color": colour},
            name=label or "trend",
            text=shown,
            hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>",
        )
    )
    release_bands(fig, markers, labels=False)
    for release, steps in _release_spans(markers):
        fig.add_annotation(
            x=steps[0].ts, y=1, yref="paper", text=release, showarrow=False, xanchor="left", font={"size": 9}
        )
    fig.update_layout(height=90, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def cost_over_time(points: Sequence[CostPoint], *, by: str) -> go.Figure:
    """Cost per day stacked by group (feature, model, ...), dollars on the axis."""
    fig = go.Figure()
    data = frame(points)
    for group, part in data.groupby("group", sort=False) if not data.empty else []:
        fig.add_trace(
            go.Bar(
                x=part["bucket"].tolist(),
                y=part["cost_usd"].tolist(),
                name=str(group) or "(none)",
                text=[formatting.money(v) for v in part["cost_usd"]],
                hovertemplate="%{x|%Y-%m-%d}: %{text}<extra>%{fullData.name}</extra>",
                textposition="none",
            )
        )
    daily = data.groupby("bucket")["cost_usd"].sum() if not data.empty else pd.Series(dtype=float)
    fig.update_layout(
        barmode="stack",
        height=380,
        margin={"t": 30, "b": 110},
        legend={**LEGEND_BELOW, "title": {"text": formatting.label(by)}},
    )
    fig.update_xaxes(title_text="date")
    fig.update_yaxes(title_text="cost per day (USD)", **formatting.money_axis(daily.tolist()))
    return fig


def budget_burn(spend: Sequence[SpendPoint], budget: Budget) -> go.Figure:
    """The budget period: cumulative spend so far, the budget as a line, and the projection from the
    recent daily burn to the period's end (the number the budget alert uses)."""
    fig = go.Figure()
    xs = [budget.period_start, *[p.day for p in spend]]
    ys = [0.0, *[p.spent_usd for p in spend]]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            name="spent so far",
            text=[formatting.money(v) for v in ys],
            hovertemplate="%{x|%Y-%m-%d %H:%M}: %{text}<extra>spent</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[budget.as_of, budget.period_end],
            y=[budget.spent_usd, budget.projected_usd],
            mode="lines",
            name=f"projection ({formatting.money(budget.daily_burn_usd)}/day)",
            line={"dash": "dash", "color": "#cc3311" if budget.alert else "#999933"},
            text=[formatting.money(budget.spent_usd), formatting.money(budget.projected_usd)],
            hovertemplate="%{x|%Y-%m-%d}: %{text}<extra>projected</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[budget.period_start, budget.period_end],
            y=[budget.budget_usd, budget.budget_usd],
            mode="lines",
            name=f"budget {formatting.money(budget.budget_usd)} per {budget.period}",
            line={"color": "#882255", "width": 2},
            hoverinfo="skip",
        )
    )
    fig.update_layout(height=380, margin={"t": 30, "b": 110}, legend=LEGEND_BELOW)
    fig.update_xaxes(title_text=f"this {budget.period}", range=[budget.period_start, budget.period_end])
    fig.update_yaxes(
        title_text="cumulative spend (USD)",
        rangemode="tozero",
        **formatting.money_axis([budget.budget_usd, budget.projected_usd, budget.spent_usd]),
    )
    return fig


def group_bars(data: pd.DataFrame, *, group: str, value: str, title: str) -> go.Figure:
    """Horizontal bars of one money column per group (only drawn for two groups or more)."""
    ordered = data.sort_values(value, ascending=True)
    fig = go.Figure(
        go.Bar(
            x=ordered[value].tolist(),
            y=ordered[group].astype(str).tolist(),
            orientation="h",
            text=[formatting.money(v) for v in ordered[value]],
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(title=title, height=80 + 40 * len(ordered), margin={"t": 40})
    fig.update_xaxes(title_text=formatting.label(value) + " (USD)", **formatting.money_axis(ordered[value]))
    fig.update_yaxes(title_text=formatting.label(group))
    return fig
