"""Golden set: reviewed examples with expected output and labels; filter, export and import JSONL."""

import pandas as pd
import streamlit as st

from app import session, widgets
from review_store.desk import ReviewStoreError

actor = session.require_actor()
desk = session.desk()
st.title("Golden set")

golden = desk.golden.list()
export = desk.golden.export_jsonl()
c1, c2 = st.columns(2)
c1.metric("Examples", len(golden.examples), border=True)
c2.metric("Version (content hash)", golden.version[:12], border=True, help=golden.version)

frame = pd.DataFrame(
    [
        {
            "trace": e.trace,
            "segment": e.segment,
            "input": e.input,
            "expected_output": e.expected_output,
            "expected_labels": ", ".join(f"{a.key}={a.value}" for a in e.expected_labels),
            "tags": ", ".join(e.tags),
            "added_by": e.added_by,
        }
        for e in golden.examples
    ]
)
if not frame.empty:
    segments = ["All", *sorted(frame["segment"].dropna().unique())]
    segment = st.selectbox("Segment", segments, key="golden_segment")
    if segment != "All":
        frame = frame[frame["segment"] == segment]
    widgets.table_with_download(frame, key="golden_table", file_name="golden_set.csv")
else:
    st.info("No golden examples yet: tick 'Add to golden set' when you submit a review.")

st.download_button(
    "Export JSONL", export.encode(), file_name=f"golden-{golden.version[:12]}.jsonl", mime="application/jsonl"
)
if actor.can("manage_golden_set"):
    with st.expander("Import JSONL"):
        upload = st.file_uploader("Golden set JSONL (as exported)", type=["jsonl"], key="golden_upload")
        if upload is not None and st.button("Import", type="primary", key="golden_import"):
            try:
                result = desk.golden.import_jsonl(actor=actor, text=upload.getvalue().decode("utf-8"))
            except (ReviewStoreError, UnicodeDecodeError) as exc:
                st.error(str(exc))
            else:
                st.success(
                    f"Imported: {result.added} added, {result.updated} updated, {result.unchanged} unchanged "
                    f"(version {result.version[:12]})."
                )
