"""Costs: spend over time stacked by feature/segment/release/model, the budget period with its projection,
cost per successful task, and the table behind it."""

import streamlit as st

from app import charts, formatting, session, widgets
from app.filters import filter_bar
from review_store.desk import ValidationFailed
from review_store.desk.dashboards import COST_GROUPINGS

session.require_actor()
st.title("Costs")
window = filter_bar("costs", default_days=30)
if window is not None:
    by = st.segmented_control("Group by", COST_GROUPINGS, default="feature", key="costs_by") or "feature"
    view = session.desk().dashboards.costs(range=window, by=by)  # a few aggregates: no cache needed
    budget = view.budget
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Spent this {budget.period}", formatting.money(budget.spent_usd), border=True)
    c2.metric(
        "Projected",
        formatting.money(budget.projected_usd),
        help=f"Spent so far + {formatting.money(budget.daily_burn_usd)}/day (the last 7 days' burn) "
        f"x the days left until {formatting.when(budget.period_end)}.",
        border=True,
    )
    c3.metric("Budget", formatting.money(budget.budget_usd), border=True)
    sources = {r.source: r for r in session.desk().dashboards.cost_sources(range=window)}
    st.caption(
        f"Cost reported by the sources: {formatting.money(sources['reported'].cost_usd)} "
        f"({sources['reported'].traces:,} traces) · computed from model and tokens with litellm's price map: "
        f"{formatting.money(sources['computed'].cost_usd)} ({sources['computed'].traces:,} traces) · "
        f"unknown: {sources['unknown'].traces:,} traces"
    )
    if budget.alert:
        st.error(
            f"Projected spend {formatting.money(budget.projected_usd)} exceeds the {budget.period} budget "
            f"{formatting.money(budget.budget_usd)} (burn {formatting.money(budget.daily_burn_usd)}/day over "
            "the last 7 days)."
        )
    table = charts.frame(view.rows).rename(columns={"group": by})
    if table.empty:
        st.info("No traces in this selection.")
    else:
        left, right = st.columns(2)
        left.markdown(f"**Cost per day by {formatting.label(by).lower()}**")
        left.plotly_chart(charts.cost_over_time(view.over_time, by=by), key="costs_over_time")
        right.markdown(f"**Budget this {budget.period}: spend and projection**")
        right.plotly_chart(charts.budget_burn(view.period_spend, budget), key="costs_budget")
        per_success = table.dropna(subset=["cost_per_successful_task_usd"])
        if len(per_success) >= 2:
            st.plotly_chart(
                charts.group_bars(
                    per_success,
                    group=by,
                    value="cost_per_successful_task_usd",
                    title=f"Cost per successful task by {formatting.label(by).lower()}",
                ),
                key="costs_per_success",
            )
        elif len(per_success) == 1:
            row = per_success.iloc[0]
            st.metric(
                f"Cost per successful task ({row[by]})",
                formatting.money(row["cost_per_successful_task_usd"]),
                border=True,
            )
        widgets.table_with_download(table, key="costs_table", file_name=f"costs_by_{by}.csv")
    st.subheader("Per tenant")
    st.caption(
        "Traces, tokens and cost per tenant and feature in the selected range (raw traces: the release and "
        "segment filters do not apply; at most 92 days). Spikes: each tenant's spend in the last window "
        "against its own baseline rate (Settings > Thresholds, monitor.tenant_spike)."
    )
    try:
        tenants = session.desk().monitor.tenant_costs(range=window)
    except ValidationFailed as exc:
        st.info(str(exc))
    else:
        spikes = session.desk().monitor.tenant_spikes()
        for s in spikes.spikes:
            versus = (
                f"{s.ratio:.1f}x its baseline rate" if s.ratio is not None else "no spend in its baseline"
            )
            st.warning(
                f"Spend spike: tenant {s.tenant} spent {formatting.money(s.window_usd)} since "
                f"{formatting.when(spikes.window_start)} ({versus}; {formatting.money(s.expected_usd)} expected)."
            )
        per_tenant = charts.frame(tenants.rows)
        if per_tenant.empty:
            st.info("No traces in this range.")
        else:
            per_tenant["tenant"] = per_tenant["tenant"].replace("", "(no tenant)")
            widgets.table_with_download(per_tenant, key="costs_tenants", file_name="costs_by_tenant.csv")
