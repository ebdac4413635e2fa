"""Guardrails: trigger rates per 1,000 traces, deploy markers, anomalies, top movers and the traces behind a point."""

import pandas as pd
import streamlit as st

from app import charts, session, widgets
from app.filters import filter_bar
from review_store.dashboards import anomalies as anomaly_rule
from review_store.dashboards import guardrails
from review_store.dashboards import overview as dashboards
from review_store.db import read_session


@st.cache_data(ttl=60, show_spinner=False)
def _reads(url: str, filters: dashboards.Filters, bucket: str, by: str, only: dict) -> dict:
    """The chart's reads, cached per database, filter and grouping so widget reruns (a drill-down pick)
    are free; guardrail events only arrive by import, so a minute's staleness is harmless."""
    with read_session(session.engine()) as db:
        return {
            "rows": guardrails.guardrail_rates(db, filters=filters, bucket=bucket, by=by, **only),
            "markers": guardrails.deploy_markers(db, start=filters.start, end=filters.end),
            "anomalies": [a for a in guardrails.guardrail_anomalies(db, filters=filters) if a["anomalous"]],
            "movers": guardrails.guardrail_changes(db, filters=filters, by="name"),
        }


session.require_actor()
st.title("Guardrails")
filters = filter_bar("guardrails", default_days=30)
if filters is not None:
    with read_session(session.engine()) as db:
        options = guardrails.guardrail_options(db)
    c1, c2, c3, c4, c5 = st.columns(5)
    bucket = c1.selectbox("Bucket", ["day", "hour", "week"], key="gr_bucket")
    by = c2.selectbox("Split by", ["name", "stage", "action", "segment", "release", "all"], key="gr_by")
    name = c3.selectbox("Guardrail", ["All", *options["name"]], key="gr_name")
    stage = c4.selectbox("Stage", ["All", *options["stage"]], key="gr_stage")
    action = c5.selectbox("Action", ["All", *options["action"]], key="gr_action")
    only = {
        k: (None if v == "All" else v) for k, v in {"name": name, "stage": stage, "action": action}.items()
    }
    reads = _reads(str(session.engine().url), filters, bucket, by, only)
    rows, markers, movers = reads["rows"], reads["markers"], reads["movers"]
    anomalies = [a for a in reads["anomalies"] if only["name"] is None or a["name"] == only["name"]]
    st.caption(
        "Rate = guardrail events x 1000 / traces in the bucket (same segment/release). A bucket without "
        "traffic shows no point (no traffic), never a 0. Red x: anomaly (see the rule below)."
    )
    st.plotly_chart(
        charts.rate_chart(rows, markers, anomalies if bucket == "day" else [], colour_by_name=by == "name"),
        key="gr_chart",
    )
    with st.expander("Anomaly rule"):
        st.markdown(anomaly_rule.__doc__.split("Anomaly rule", 1)[1].split("\n", 1)[1])
    if anomalies:
        st.subheader("Anomalies")
        widgets.table_with_download(pd.DataFrame(anomalies), key="gr_anomalies", file_name="anomalies.csv")
    st.subheader("Top guardrails by change vs the previous period")
    widgets.table_with_download(pd.DataFrame(movers), key="gr_movers", file_name="guardrail_changes.csv")
    st.subheader("Drill down to the triggering traces")
    points = [r for r in rows if r["events"]]
    if not points:
        st.info("No guardrail events in this selection.")
    else:
        labels = [f"{r['bucket']:%Y-%m-%d %H:%M} · {r['group']} · {r['events']} events" for r in points]
        picked = st.selectbox("Point", range(len(points)), format_func=labels.__getitem__, key="gr_point")
        point = points[picked]
        with read_session(session.engine()) as db:
            behind = guardrails.guardrail_traces(
                db, filters=filters, bucket=bucket, at=point["bucket"], by=by, group=point["group"], **only
            )
        st.caption(f"{len(behind)} event(s) behind this point.")
        widgets.table_with_download(pd.DataFrame(behind), key="gr_traces", file_name="guardrail_traces.csv")
    with st.expander("Rates table"):
        widgets.table_with_download(pd.DataFrame(rows), key="gr_rates", file_name="guardrail_rates.csv")
