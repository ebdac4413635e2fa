"""The filter bar shared by the dashboards: date range, release and segment."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from app.session import desk
from review_store.desk.dashboard_views import FilterOptions, Range


@st.cache_data(ttl=60, show_spinner=False)
def _options(url: str) -> FilterOptions:
    """Cached per database (the desk's URL): the data's span only grows by imports."""
    return desk().dashboards.filter_options()


def filter_bar(key: str, default_days: int = 7) -> Range | None:
    """Widgets for the filters; None when the store holds no traces yet."""
    options = _options(desk().url)
    if options.last_ts is None or options.first_ts is None:
        st.info(
            "No traces yet. Import some under Settings > Import, or build the demo world: `review-desk demo`."
        )
        return None
    last_day = options.last_ts.date()
    first_day = options.first_ts.date()
    default_start = max(first_day, last_day - timedelta(days=default_days - 1))
    c1, c2, c3 = st.columns([2, 1, 1])
    picked = c1.date_input(
        "Date range",
        value=(default_start, last_day),
        min_value=first_day,
        max_value=last_day,
        key=f"{key}_dates",
    )
    release = c2.selectbox("Release", ["All", *options.releases], key=f"{key}_release")
    segment = c3.selectbox("Segment", ["All", *options.segments], key=f"{key}_segment")
    start_day, end_day = picked if isinstance(picked, tuple) and len(picked) == 2 else (picked, picked)
    if isinstance(start_day, tuple):  # half-picked range in the widget
        start_day = end_day = start_day[0]
    return Range(
        start=datetime.combine(start_day, time.min),
        end=datetime.combine(end_day, time.min) + timedelta(days=1),
        release=None if release == "All" else release,
        segment=None if segment == "All" else segment,
    )
