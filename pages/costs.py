"""Costs: tokens and cost per feature, segment, release and model; cost per successful task; budget burn."""

import pandas as pd
import streamlit as st

from app import charts, session, widgets
from app.filters import filter_bar
from review_store.dashboards import costs
from review_store.db import read_session

session.require_actor()
st.title("Costs")
filters = filter_bar("costs", default_days=30)
if filters is not None:
    by = (
        st.segmented_control("Group by", list(costs.GROUPINGS), default="feature", key="costs_by")
        or "feature"
    )
    with read_session(session.engine()) as db:
        budget = costs.budget_status(db)
        rows = costs.cost_breakdown(db, filters=filters, by=by)
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Spent this {budget['period']}", f"${budget['spent_usd']:,.2f}", border=True)
    c2.metric("Projected", f"${budget['projected_usd']:,.2f}", border=True)
    c3.metric("Budget", f"${budget['budget_usd']:,.2f}", border=True)
    if budget["alert"]:
        st.error(
            f"Projected spend ${budget['projected_usd']:,.2f} exceeds the {budget['period']} budget "
            f"${budget['budget_usd']:,.2f} (burn ${budget['daily_burn_usd']:,.2f}/day over the last 7 days)."
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        st.info("No traces in this selection.")
    else:
        left, right = st.columns(2)
        left.plotly_chart(charts.bar(frame, by, "cost_usd", title="Cost (USD)"), key="costs_bar")
        right.plotly_chart(
            charts.bar(frame, by, "cost_per_successful_task_usd", title="Cost per successful task (USD)"),
            key="costs_per_success",
        )
        widgets.table_with_download(frame, key="costs_table", file_name=f"costs_by_{by}.csv")
