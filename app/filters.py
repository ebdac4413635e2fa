"""The filter bars: the dashboards' (date range, release, segment) and the item browser's."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from app.session import desk
from review_store.desk.dashboard_views import FilterOptions, Range
from review_store.desk.items import ItemOptions, ItemQuery


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


ITEM_FIELDS = (
    "segment",
    "release",
    "reason",
    "status",
    "queue",
    "assignee",
    "guardrail",
    "judge_question",
    "score_min",
    "score_max",
    "text",
)
ANY = "Any"


def _key(field: str) -> str:
    return f"items_f_{field}"


def apply_item_query(query: ItemQuery) -> None:
    """Callback: set the item filter widgets to a saved view's filters (before the widgets are drawn)."""
    for field in ITEM_FIELDS:
        value = getattr(query, field)
        if field in ("score_min", "score_max"):
            st.session_state[_key(field)] = value
        elif field == "text":
            st.session_state[_key(field)] = value or ""
        else:
            st.session_state[_key(field)] = ANY if value is None else value


def item_filter_bar(options: ItemOptions, *, judge_scores: bool) -> ItemQuery:
    """The item browser's filters as widgets; returns the query they describe. The judge score filters
    only when `judge_scores` (leads: review is blind for reviewers)."""
    choices = {
        "segment": options.segments,
        "release": options.releases,
        "reason": options.reasons,
        "status": options.statuses,
        "queue": options.queues,
        "assignee": ("-", *options.reviewers),
        "guardrail": options.guardrails,
        "judge_question": options.judge_questions,
    }
    if not judge_scores:
        del choices["judge_question"]
    labels = {"reason": "Reason (strategy)", "judge_question": "Judge question", "assignee": "Assigned to"}
    picked: dict[str, object] = {}
    cols = st.columns(4)
    for i, (field, values) in enumerate(choices.items()):
        current = st.session_state.get(_key(field), ANY)
        shown = [ANY, *values] if current in (ANY, *values) else [ANY, *values, current]
        value = cols[i % 4].selectbox(
            labels.get(field, field.title()),
            shown,
            key=_key(field),
            format_func=lambda v: "unassigned" if v == "-" else str(v),
        )
        picked[field] = None if value == ANY else value
    if judge_scores:
        c1, c2, c3 = st.columns([1, 1, 2])
        picked["score_min"] = c1.number_input("Judge score from", value=None, step=1.0, key=_key("score_min"))
        picked["score_max"] = c2.number_input("Judge score to", value=None, step=1.0, key=_key("score_max"))
    else:
        c3 = st.container()
    picked["text"] = c3.text_input("Text in input or output", key=_key("text"), max_chars=200) or None
    return ItemQuery(**picked)
