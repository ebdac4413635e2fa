"""Escalations: items a guardrail, a low-confidence judge or a reviewer escalated, with age and SLA colour."""

import pandas as pd
import streamlit as st

from app import session, trace_card, widgets
from review_store import escalations, queue
from review_store import settings as team_settings
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError

actor = session.require_actor()
engine = session.engine()
st.title("Escalations")

with read_session(engine) as db:
    sla = team_settings.get(db, "escalation.sla_hours")
    rows = escalations.escalations(db, include_resolved=st.toggle("Show resolved", key="esc_resolved"))
st.caption(f"SLA: amber after {sla.warn:g} h, red after {sla.breach:g} h (Settings > Thresholds).")

frame = pd.DataFrame(rows)
if frame.empty:
    st.success("No open escalations.")
    st.stop()
open_rows = frame[frame["status"] == "escalated"]
c1, c2, c3 = st.columns(3)
c1.metric("Open", len(open_rows), border=True)
c2.metric("Amber", int((open_rows["sla"] == "amber").sum()), border=True)
c3.metric("Red (SLA breached)", int((open_rows["sla"] == "red").sum()), border=True)
SLA_ICON = {"green": "🟢", "amber": "🟠", "red": "🔴", "resolved": "✔️"}
frame.insert(0, "SLA", frame["sla"].map(SLA_ICON))
widgets.table_with_download(
    frame.drop(columns=["trace_id"]), key="escalations_table", file_name="escalations.csv"
)

if open_rows.empty or not actor.can("resolve_escalation"):
    st.stop()
st.subheader("Resolve")
choice = st.selectbox(
    "Escalation",
    open_rows["item_id"].tolist(),
    format_func=lambda i: f"#{i} · {open_rows.set_index('item_id').loc[i, 'trace']}",
    key="esc_item",
)
with read_session(engine) as db:
    view = queue.item_view(db, item_id=int(choice))
trace_card.render(view)
with st.form("resolve_escalation", clear_on_submit=True):
    decision = st.radio(
        "Decision",
        escalations.DECISIONS,
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
            with session_scope(engine) as db:
                escalations.resolve_escalation(
                    db, actor=actor, item_id=int(choice), decision=decision, note=note
                )
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.rerun()
