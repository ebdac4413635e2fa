"""Costs: tokens and cost per feature, segment, release and model; cost per successful task; budget burn."""

import streamlit as st

from app import charts, session, widgets
from app.filters import filter_bar
from review_store.desk.dashboards import COST_GROUPINGS

session.require_actor()
st.title("Costs")
window = filter_bar("costs", default_days=30)
if window is not None:
    by = st.segmented_control("Group by", COST_GROUPINGS, default="feature", key="costs_by") or "feature"
    view = session.desk().dashboards.costs(range=window, by=by)  # a few aggregates: no cache needed
    budget = view.budget
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Spent this {budget.period}", f"${budget.spent_usd:,.2f}", border=True)
    c2.metric("Projected", f"${budget.projected_usd:,.2f}", border=True)
    c3.metric("Budget", f"${budget.budget_usd:,.2f}", border=True)
    if budget.alert:
        st.error(
            f"Projected spend ${budget.projected_usd:,.2f} exceeds the {budget.period} budget "
            f"${budget.budget_usd:,.2f} (burn ${budget.daily_burn_usd:,.2f}/day over the last 7 days)."
        )
    table = charts.frame(view.rows).rename(columns={"group": by})
    if table.empty:
        st.info("No traces in this selection.")
    else:
        left, right = st.columns(2)
        left.plotly_chart(charts.bar(table, by, "cost_usd", title="Cost (USD)"), key="costs_bar")
        right.plotly_chart(
            charts.bar(table, by, "cost_per_successful_task_usd", title="Cost per successful task (USD)"),
            key="costs_per_success",
        )
        widgets.table_with_download(table, key="costs_table", file_name=f"costs_by_{by}.csv")
