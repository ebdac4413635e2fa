"""Golden set: reviewed examples with expected output and labels; filter, export and import JSONL."""

import pandas as pd
import streamlit as st

from app import session, widgets
from review_store import golden
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError

actor = session.require_actor()
engine = session.engine()
st.title("Golden set")

with read_session(engine) as db:
    version = golden.version_hash(db)
    rows = golden.list_examples(db)
    export = golden.export_jsonl(db)
c1, c2 = st.columns(2)
c1.metric("Examples", len(rows), border=True)
c2.metric("Version (content hash)", version[:12], border=True, help=version)

frame = pd.DataFrame(rows)
if not frame.empty:
    segments = ["All", *sorted(frame["segment"].unique())]
    segment = st.selectbox("Segment", segments, key="golden_segment")
    if segment != "All":
        frame = frame[frame["segment"] == segment]
    frame["expected_labels"] = frame["expected_labels"].map(
        lambda d: ", ".join(f"{k}={v}" for k, v in d.items())
    )
    frame["tags"] = frame["tags"].map(", ".join)
    widgets.table_with_download(frame, key="golden_table", file_name="golden_set.csv")
else:
    st.info("No golden examples yet: tick 'Add to golden set' when you submit a review.")

st.download_button(
    "Export JSONL", export.encode(), file_name=f"golden-{version[:12]}.jsonl", mime="application/jsonl"
)
if actor.can("manage_golden_set"):
    with st.expander("Import JSONL"):
        upload = st.file_uploader("Golden set JSONL (as exported)", type=["jsonl"], key="golden_upload")
        if upload is not None and st.button("Import", type="primary", key="golden_import"):
            try:
                with session_scope(engine) as db:
                    result = golden.import_jsonl(db, actor=actor, text=upload.getvalue().decode("utf-8"))
            except (ReviewStoreError, UnicodeDecodeError) as exc:
                st.error(str(exc))
            else:
                st.success(f"Imported: {result.as_dict()}")
