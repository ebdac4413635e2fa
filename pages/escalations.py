"""Escalations: items a guardrail, a low-confidence judge or a reviewer escalated, with age and SLA colour."""

import pandas as pd
import streamlit as st

from app import session, trace_card, widgets
from review_store.desk import ReviewStoreError
from review_store.desk.review import DECISIONS

actor = session.require_actor()
desk = session.desk()
st.title("Escalations")

listing = desk.review.escalations(include_resolved=st.toggle("Show resolved", key="esc_resolved"))
st.caption(
    f"SLA: amber after {listing.warn_hours:g} h, red after {listing.breach_hours:g} h (Settings > Thresholds)."
)

frame = pd.DataFrame([row.to_json() for row in listing.rows])
if frame.empty:
    st.success("No open escalations.")
    st.stop()
open_rows = frame[frame["status"] == "escalated"]
c1, c2, c3 = st.columns(3)
c1.metric("Open", len(open_rows), border=True)
c2.metric("Amber", int((open_rows["sla"] == "amber").sum()), border=True)
c3.metric("Red (SLA breached)", int((open_rows["sla"] == "red").sum()), border=True)
SLA_LABEL = {"green": "On time", "amber": "Amber: due soon", "red": "Red: breached", "resolved": "Resolved"}
frame.insert(0, "SLA", frame["sla"].map(SLA_LABEL))  # words, not emoji: no emoji font is needed
widgets.table_with_download(
    frame.drop(columns=["trace_id"]), key="escalations_table", file_name="escalations.csv"
)

if open_rows.empty or not actor.can("resolve_escalation"):
    st.stop()
st.subheader("Resolve")
traces = dict(zip(open_rows["item_id"], open_rows["trace"], strict=True))
choice = st.selectbox("Escalation", list(traces), format_func=lambda i: f"#{i} · {traces[i]}", key="esc_item")
trace_card.render(desk.review.item(int(choice)))
with st.form("resolve_escalation", clear_on_submit=True):
    decision = st.radio(
        "Decision",
        DECISIONS,
        horizontal=True,
        format_func=lambda d: {
            "return_to_queue": "Return to review queue (first in line)",
            "confirmed_problem": "Confirmed problem",
            "no_problem": "No problem",
        }[d],
        key="esc_decision",
    )
    note = st.text_area("Note (required)", key="esc_note")
    if st.form_submit_button("Resolve", type="primary", shortcut="Ctrl+Enter"):
        try:
            desk.review.resolve_escalation(actor=actor, item_id=int(choice), decision=decision, note=note)
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.rerun()
