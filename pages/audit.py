"""Audit: the append-only trail of what changed, the evidence and who approved; verify and export it."""

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from app import formatting, session
from review_store.desk import ReviewStoreError

FIELDS = ("seq", "ts", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash")

actor = session.require_actor()
desk = session.desk()
st.title("Audit")
st.caption(
    "Every change in the store appends one event to a chain keyed with a secret kept outside the "
    "database. Nothing here can be edited; an edit, deletion or wipe shows when the chain is verified."
)

if st.button("Verify the chain", type="primary", key="audit_verify"):
    report = desk.audit.verify(actor=actor)
    if report.ok:
        st.success(
            f"Chain intact: {report.checked} events checked ({report.keyed} keyed, key {report.key_id})."
        )
    else:
        st.error(f"Chain BROKEN at seq {report.first_bad_seq}: {report.problem}")

cols = st.columns(4)
who = cols[0].text_input("Actor", key="audit_actor").strip() or None
action = cols[1].text_input("Action (e.g. release.approve)", key="audit_action").strip() or None
entity = cols[2].text_input("Entity (e.g. release)", key="audit_entity").strip() or None
window = desk.audit.default_window()
span = cols[3].date_input("Dates (UTC)", (window.first, window.last), key="audit_dates")
since = until = None
if isinstance(span, tuple) and len(span) == 2:
    since, until = datetime.combine(span[0], time()), datetime.combine(span[1] + timedelta(days=1), time())
limit = int(st.number_input("Show at most", 10, 100_000, 500, step=100, key="audit_limit"))
filters = {"who": who, "action": action, "entity": entity, "since": since, "until": until}

try:
    events = desk.audit.events(actor=actor, limit=limit, **filters)
    csv_data = desk.audit.export(actor=actor, format="csv", limit=limit, **filters)
    jsonl_data = desk.audit.export(actor=actor, format="jsonl", limit=limit, **filters)
except ReviewStoreError as exc:
    st.error(str(exc))
    st.stop()
frame = pd.DataFrame([e.model_dump() for e in events], columns=FIELDS)
st.caption(f"{len(frame)} event(s), newest first. Downloads list them oldest first, with their hashes.")
formatting.table(frame)
left, right = st.columns(2)
left.download_button("Download CSV", csv_data.encode(), "audit.csv", "text/csv", key="audit_csv")
right.download_button(
    "Download JSONL", jsonl_data.encode(), "audit.jsonl", "application/jsonl", key="audit_jsonl"
)
