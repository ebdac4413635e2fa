"""Guardrails: trigger rates per 1,000 traces, deploy markers, anomalies, top movers and the traces behind a point."""

from datetime import timedelta

import streamlit as st

from app import charts, formatting, session, widgets
from app.filters import filter_bar
from review_store.desk.dashboard_views import Guardrails, Range
from review_store.desk.dashboards import GUARDRAIL_GROUPINGS


@st.cache_data(ttl=60, show_spinner=False)
def _reads(url: str, window: Range, bucket: str, by: str, only: dict) -> Guardrails:
    """The chart's reads, cached per database (the desk's URL), filter and grouping so widget reruns (a
    drill-down pick) are free; guardrail events only arrive by import, so a minute's staleness is harmless."""
    return session.desk().dashboards.guardrails(range=window, bucket=bucket, by=by, **only)


session.require_actor()
st.title("Guardrails")
window = filter_bar("guardrails", default_days=30)
if window is not None:
    dashboards = session.desk().dashboards
    options = dashboards.guardrail_options()
    c1, c2, c3, c4, c5 = st.columns(5)
    bucket = c1.selectbox("Bucket", ["day", "hour", "week"], key="gr_bucket")
    by = c2.selectbox("Split by", GUARDRAIL_GROUPINGS, key="gr_by")
    name = c3.selectbox("Guardrail", ["All", *options.names], key="gr_name")
    stage = c4.selectbox("Stage", ["All", *options.stages], key="gr_stage")
    action = c5.selectbox("Action", ["All", *options.actions], key="gr_action")
    only = {
        k: (None if v == "All" else v) for k, v in {"name": name, "stage": stage, "action": action}.items()
    }
    view = _reads(session.desk().url, window, bucket, by, only)
    st.caption(
        "Rate = guardrail events x 1000 / traces in the bucket (same segment/release). A bucket without "
        "traffic shows no point (no traffic), never a 0. Shaded bands: release rollouts (canary stages as "
        "dotted lines). Dashed: the guardrail in the segment where an anomaly was found, its red x on it."
    )
    daily = bucket == "day"
    st.plotly_chart(
        charts.rate_chart(
            view.rates,
            view.markers,
            view.anomalies if daily else (),
            colour_by_name=by == "name",
            series=view.anomaly_series if daily else (),
        ),
        key="gr_chart",
    )
    with st.expander("Anomaly rule"):
        st.markdown(dashboards.anomaly_rule())
    if view.anomalies:
        st.subheader("Anomalies")
        widgets.table_with_download(
            charts.frame(view.anomalies, drop=["anomalous"]), key="gr_anomalies", file_name="anomalies.csv"
        )
    movers = view.movers_range or window
    span = (movers.end - movers.start).days
    st.subheader("Top guardrails by change")
    st.caption(
        f"The last {span} day(s) of the range ({formatting.when(movers.start)} to "
        f"{formatting.when(movers.end - timedelta(days=1))}) against the {span} day(s) before."
    )
    widgets.table_with_download(charts.frame(view.movers), key="gr_movers", file_name="guardrail_changes.csv")
    st.subheader("Drill down to the triggering traces")
    points = [r for r in view.rates if r.events]
    if not points:
        st.info("No guardrail events in this selection.")
    else:
        labels = [f"{formatting.when(r.bucket)} · {r.group} · {r.events} events" for r in points]
        picked = st.selectbox("Point", range(len(points)), format_func=labels.__getitem__, key="gr_point")
        point = points[picked]
        behind = dashboards.guardrail_point(
            range=window, bucket=bucket, at=point.bucket, by=by, group=point.group, **only
        )
        st.caption(f"{len(behind)} event(s) behind this point.")
        widgets.table_with_download(charts.frame(behind), key="gr_traces", file_name="guardrail_traces.csv")
    with st.expander("Rates table"):
        widgets.table_with_download(charts.frame(view.rates), key="gr_rates", file_name="guardrail_rates.csv")
    injections = session.desk().monitor.injection_users()
    st.subheader("Users over the injection threshold")
    st.caption(
        f"End users with more than {injections.threshold} {injections.guardrail} triggers from "
        f"{formatting.when(injections.window_start)} to now (Settings > Thresholds, monitor.injection). "
        "`review-desk monitor users` escalates them, once per user and window."
    )
    if not injections.over:
        st.info("No end user is over the threshold.")
    else:
        widgets.table_with_download(
            charts.frame(injections.over), key="gr_users_over", file_name="users_over_injection_threshold.csv"
        )
