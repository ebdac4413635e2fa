"""Audit: the append-only trail of what changed, the evidence and who approved; verify and export it."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from app import session
from review_store import audit
from review_store.audit import export as audit_export
from review_store.db import read_session

session.require_actor()
engine = session.engine()
st.title("Audit")
st.caption("Every change in the store appends one hash-chained event. Nothing here can be edited.")

if st.button("Verify the chain", type="primary", key="audit_verify"):
    with read_session(engine) as db:
        result = audit.verify(db)
    if result.ok:
        st.success(f"Chain intact: {result.checked} events checked.")
    else:
        st.error(f"Chain BROKEN at seq {result.first_bad_seq}: {result.problem}")

cols = st.columns(4)
actor = cols[0].text_input("Actor", key="audit_actor").strip() or None
action = cols[1].text_input("Action (e.g. release.approve)", key="audit_action").strip() or None
entity = cols[2].text_input("Entity (e.g. release)", key="audit_entity").strip() or None
today = date.today()
span = cols[3].date_input("Dates (UTC)", (today - timedelta(days=365), today), key="audit_dates")
since = until = None
if isinstance(span, tuple) and len(span) == 2:
    since, until = datetime.combine(span[0], time()), datetime.combine(span[1] + timedelta(days=1), time())
limit = st.number_input("Show at most", 10, 100_000, 500, step=100, key="audit_limit")

with read_session(engine) as db:
    rows = audit_export.event_rows(
        db, actor=actor, action=action, entity=entity, since=since, until=until, limit=int(limit)
    )
frame = pd.DataFrame(rows, columns=audit_export.FIELDS)
st.caption(f"{len(frame)} event(s), newest first.")
st.dataframe(frame, hide_index=True, width="stretch")
oldest_first = list(reversed(rows))
left, right = st.columns(2)
left.download_button(
    "Download CSV", audit_export.to_csv(oldest_first).encode(), "audit.csv", "text/csv", key="audit_csv"
)
right.download_button(
    "Download JSONL",
    audit_export.to_jsonl(oldest_first).encode(),
    "audit.jsonl",
    "application/jsonl",
    key="audit_jsonl",
)
