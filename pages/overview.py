"""Overview: the KPIs that matter in production, their trends, drift and budget alerts, and the traces behind them."""

import pandas as pd
import streamlit as st

from app import charts, formatting, session, widgets
from app.filters import filter_bar
from review_store.desk.dashboard_views import Drilldown, Overview, Range


@st.cache_data(ttl=60, show_spinner=False)
def _overview(url: str, window: Range) -> Overview:
    """The page's top half, cached per database (the desk's URL) and filter so widget reruns are free."""
    return session.desk().dashboards.overview(range=window)


@st.cache_data(ttl=60, show_spinner=False)
def _drill(url: str, window: Range, key: str) -> Drilldown:
    return session.desk().dashboards.kpi_drilldown(range=window, key=key, limit=100)


session.require_actor()
st.title("Overview")
window = filter_bar("overview")
if window is not None:
    url = session.desk().url
    view = _overview(url, window)
    span_days = (window.end - window.start).days
    st.caption(
        f"{view.traces:,} traces in the selected {span_days} day(s); deltas compare with the {span_days} day(s) before."
    )
    widgets.kpi_tiles(view.kpis, trends={t.key: t for t in view.trends}, markers=view.markers)
    st.caption("Under each KPI: its daily trend; shaded bands are release rollouts (hover for values).")
    budget = view.budget
    if budget.alert:
        st.error(
            f"Budget: projected {formatting.money(budget.projected_usd)} this {budget.period} exceeds "
            f"{formatting.money(budget.budget_usd)} (spent {formatting.money(budget.spent_usd)})."
        )
    st.subheader("Drift alerts (week over week PSI)")
    alerts = view.drift.alerts()
    if alerts:
        for a in alerts:
            (st.error if a.status == "act" else st.warning)(f"{a.label}: PSI {a.psi:.2f} ({a.status})")
    else:
        st.success(
            f"No drift: every PSI below {view.drift.watch} for the week before {formatting.when(window.end)}."
        )
    with st.expander("Every drift metric (this week against the week before)"):
        st.caption(
            f"Status from the PSI: watch at {view.drift.watch}, act at {view.drift.act}. Retrieval "
            "precision@k and recall compare the per-trace values of the traces with a relevant set in "
            "each week; 'mean' is each week's average."
        )
        widgets.table_with_download(
            pd.DataFrame(
                [
                    {
                        "metric": m.label,
                        "PSI": "—" if m.psi is None else f"{m.psi:.3f}",
                        "status": m.status,
                        "reference n": m.reference_n,
                        "current n": m.current_n,
                        "reference mean": formatting.percent(m.reference_mean),
                        "current mean": formatting.percent(m.current_mean),
                    }
                    for m in view.drift.metrics
                ]
            ),
            key="overview_drift",
            file_name="drift.csv",
        )
    st.subheader("Retrieval quality (precision@k and recall)")
    quality = session.desk().retrieval.report()  # at the team's k (setting retrieval.k)
    k = int(st.number_input("k (top retrieved chunks)", 1, 100, quality.k, key="overview_retrieval_k"))
    if k != quality.k:
        quality = session.desk().retrieval.report(k=k)
    if quality.rows:
        st.caption(
            "Over every trace with a relevant set (a golden example's expected chunks, else reviewers' chunk "
            "marks), all time: precision@k = relevant among the top k retrieved, recall = relevant in the top "
            "k / relevant; mean per trace. Segment '(all)' is the release as a whole."
        )
        widgets.table_with_download(
            pd.DataFrame(
                [
                    {
                        "release": r.release,
                        "segment": r.segment or "(all)",
                        "traces": r.traces,
                        "from golden": r.from_golden,
                        "from reviewers": r.from_review,
                        f"precision@{quality.k}": formatting.percent(r.precision_at_k),
                        "recall": formatting.percent(r.recall),
                    }
                    for r in quality.rows
                ]
            ),
            key="overview_retrieval",
            file_name="retrieval_quality.csv",
        )
    else:
        st.info(
            "No trace has a relevant set yet: give golden examples expected_chunks, or add a 'chunks' "
            "question to the rubric so reviewers mark the relevant chunks."
        )
    st.subheader("Drill down from a metric")
    labels = {k.key: k.label for k in view.kpis}
    key = st.selectbox(
        "Metric",
        [None, *labels],
        format_func=lambda k: "(pick a metric)" if k is None else labels[k],
        key="overview_drill",
    )
    if key is not None:  # the drill-down reads the traces behind a KPI: only when asked
        drill = _drill(url, window, key)
        st.caption("Which prompt version and model the poor traces come from:")
        widgets.table_with_download(
            charts.frame(drill.by_version), key="overview_versions", file_name="by_version.csv"
        )
        st.caption(f"The {len(drill.traces)} newest traces behind it (retrieved context below):")
        if drill.traces:
            widgets.table_with_download(
                charts.frame(drill.traces, drop=["context"]), key="overview_poor", file_name="poor_traces.csv"
            )
            by_id = {t.external_id: t for t in drill.traces}
            trace = by_id[st.selectbox("Trace", list(by_id), key="overview_trace")]
            st.caption(
                f"prompt {trace.prompt_version} · model {trace.model} · release {trace.release} · "
                f"{formatting.when(trace.ts)}"
            )
            widgets.untrusted_text("Input", trace.input)
            widgets.untrusted_text("Output", trace.output)
            for chunk in trace.context:
                score = "" if chunk.score is None else f"{chunk.score:g}"
                widgets.untrusted_text(f"Context {chunk.id} (score {score})", chunk.text)
    with st.expander("Traces behind these numbers (newest 200)"):
        recent = session.desk().dashboards.traces(range=window, limit=200)
        widgets.table_with_download(
            charts.frame(recent, drop=["context", "top_retrieval_score"]),
            key="overview_traces",
            file_name="traces.csv",
        )
