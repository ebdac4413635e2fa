"""Overview: the KPIs that matter in production, their trends, drift and budget alerts, and the traces behind them."""

import pandas as pd
import streamlit as st

from app import charts, session, widgets
from app.filters import filter_bar
from review_store import settings
from review_store.dashboards import costs, drift
from review_store.dashboards import overview as dashboards
from review_store.dashboards import trends as kpi_queries
from review_store.db import read_session


@st.cache_data(ttl=60, show_spinner=False)
def _summary(url: str, filters: dashboards.Filters) -> dict:
    """Every read of the page's top half, cached per database and filter so widget reruns are free."""
    with read_session(session.engine()) as db:
        judge_id = dashboards.groundedness_judge_id(db)
        return {
            "judge_id": judge_id,
            "kpis": dashboards.overview_kpis(db, filters, judge_id=judge_id),
            "trends": kpi_queries.kpi_trends(db, filters, judge_id=judge_id),
            "alerts": drift.drift_alerts(db, end=filters.end, release=filters.release, judge_id=judge_id),
            "budget": costs.budget_status(db),
            "thresholds": settings.get(db, "drift.psi"),
        }


@st.cache_data(ttl=60, show_spinner=False)
def _drill(url: str, filters: dashboards.Filters, key: str, judge_id: int | None) -> dict:
    with read_session(session.engine()) as db:
        return kpi_queries.kpi_drilldown(db, filters=filters, key=key, limit=100, judge_id=judge_id)


session.require_actor()
st.title("Overview")
filters = filter_bar("overview")
if filters is not None:
    url = str(session.engine().url)
    summary = _summary(url, filters)
    kpis, trends, alerts = summary["kpis"], summary["trends"], summary["alerts"]
    budget, thresholds = summary["budget"], summary["thresholds"]
    span_days = (filters.end - filters.start).days
    n_traces = sum(point["traces"] for point in next(iter(trends.values()), []))
    st.caption(
        f"{n_traces:,} traces in the selected {span_days} day(s); deltas compare with the {span_days} day(s) before."
    )
    widgets.kpi_tiles(kpis)
    with st.expander("Daily trend per KPI"):
        cols = st.columns(3)
        for i, kpi in enumerate(kpis):
            with cols[i % 3]:
                st.caption(kpi.label)
                st.plotly_chart(charts.sparkline(trends[kpi.key]), key=f"spark_{kpi.key}")
    if budget["alert"]:
        st.error(
            f"Budget: projected ${budget['projected_usd']:,.2f} this {budget['period']} exceeds "
            f"${budget['budget_usd']:,.2f} (spent ${budget['spent_usd']:,.2f})."
        )
    st.subheader("Drift alerts (week over week PSI)")
    if alerts:
        for a in alerts:
            (st.error if a.status == "act" else st.warning)(f"{a.label}: PSI {a.psi:.2f} ({a.status})")
    else:
        st.success(
            f"No drift: every PSI below {thresholds.watch} for the week before {filters.end:%Y-%m-%d}."
        )
    st.subheader("Drill down from a metric")
    labels = {k.key: k.label for k in kpis}
    key = st.selectbox(
        "Metric",
        [None, *labels],
        format_func=lambda k: "(pick a metric)" if k is None else labels[k],
        key="overview_drill",
    )
    if key is not None:  # the drill-down reads the traces behind a KPI: only when asked
        drill = _drill(url, filters, key, summary["judge_id"])
        st.caption("Which prompt version and model the poor traces come from:")
        widgets.table_with_download(
            pd.DataFrame(drill["by_version"]), key="overview_versions", file_name="by_version.csv"
        )
        poor = pd.DataFrame(drill["traces"])
        st.caption(f"The {len(poor)} newest traces behind it (retrieved context below):")
        if not poor.empty:
            widgets.table_with_download(
                poor.drop(columns=["context"]), key="overview_poor", file_name="poor_traces.csv"
            )
            pick = st.selectbox("Trace", poor["external_id"].tolist(), key="overview_trace")
            trace = poor[poor["external_id"] == pick].iloc[0]
            st.caption(
                f"prompt {trace['prompt_version']} · model {trace['model']} · release {trace['release']}"
            )
            widgets.untrusted_text("Input", trace["input"])
            widgets.untrusted_text("Output", trace["output"])
            for chunk in trace["context"] or []:
                widgets.untrusted_text(
                    f"Context {chunk.get('id', '')} (score {chunk.get('score', '')})", chunk.get("text")
                )
    with st.expander("Traces behind these numbers (newest 200)"):
        with read_session(session.engine()) as db:
            recent = dashboards.traces_in(db, filters, limit=200)
        widgets.table_with_download(pd.DataFrame(recent), key="overview_traces", file_name="traces.csv")
