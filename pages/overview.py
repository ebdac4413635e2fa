"""Overview: the KPIs that matter in production, against the previous period, with the traces behind them."""

import pandas as pd
import streamlit as st

from app import session, widgets
from app.filters import filter_bar
from review_store import dashboards
from review_store.db import read_session

session.require_actor()
st.title("Overview")
filters = filter_bar("overview")
if filters is not None:
    with read_session(session.engine()) as db:
        kpis = dashboards.overview_kpis(db, filters)
        n_traces = dashboards.trace_count(db, filters)
        recent = dashboards.traces_in(db, filters, limit=200)
    span_days = (filters.end - filters.start).days
    st.caption(
        f"{n_traces:,} traces in the selected {span_days} day(s); deltas compare with the {span_days} day(s) before."
    )
    widgets.kpi_tiles(kpis)
    with st.expander("Traces behind these numbers (newest 200)"):
        widgets.table_with_download(pd.DataFrame(recent), key="overview_traces", file_name="traces.csv")
