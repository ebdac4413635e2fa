"""Settings > Import: upload a trace file, preview it, validate it, import it with a progress bar.

All parsing and writing is review_store.ingest's; this tab only stores the upload in a temp file
(the ingest functions stream from a path) and draws. Model text is shown in tables, never as HTML.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import session
from review_store import ingest
from review_store.errors import ReviewStoreError
from review_store.permissions import Actor

UPLOAD_TYPES = ["jsonl", "ndjson", "json", "csv", "parquet", "pq", "gz"]
PREVIEW_ROWS = 20
PREVIEW_COLUMNS = ["line", "external_id", "ts", "segment", "release", "model", "input", "output"]


def save_upload(name: str, data: bytes, directory: str | Path | None = None) -> Path:
    """Write the upload under a content-addressed name that keeps its suffixes (format detection)."""
    base = Path(directory or Path(tempfile.gettempdir()) / "review-desk-uploads")
    base.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)[-120:] or "upload"
    path = base / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if not path.exists():
        path.write_bytes(data)
    return path


def preview_frame(preview: ingest.IngestPreview) -> pd.DataFrame:
    """The preview's rows with the columns a person checks first, then the rest."""
    frame = pd.DataFrame(preview.rows)
    if frame.empty:
        return frame
    first = [c for c in PREVIEW_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in first]
    frame = frame[first + rest]
    for column in frame.columns:  # lists/dicts as JSON-ish text so the table shows them plainly
        if frame[column].map(lambda v: isinstance(v, list | dict)).any():
            frame[column] = frame[column].map(str)
    return frame


def report_summary(report: ingest.IngestReport) -> dict[str, Any]:
    """Numbers for the metric tiles, in the order shown."""
    return {
        "records": report.records,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "guardrail events": report.guardrail_events,
    }


def _filter(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    if not text or frame.empty:
        return frame
    mask = frame.astype(str).apply(lambda col: col.str.contains(text, case=False, regex=False)).any(axis=1)
    return frame[mask]


def _show_report(report: ingest.IngestReport) -> None:
    cols = st.columns(6)
    for col, (label, value) in zip(cols, report_summary(report).items(), strict=True):
        col.metric(label, f"{value:,}")
    if report.aborted:
        st.error(f"Nothing imported: {report.n_errors} problem(s). Fix them or choose 'skip bad records'.")
    elif report.n_errors:
        st.warning(f"Imported the good records; {report.rejected} bad record(s) skipped.")
    else:
        st.success("File is clean." if not report.inserted + report.updated else "Imported.")
    if report.n_errors:
        st.code("\n".join(report.problem_lines()), language=None)
    if report.rejects_path and Path(report.rejects_path).is_file():
        st.download_button(
            "Download rejected records",
            Path(report.rejects_path).read_bytes(),
            "rejects.jsonl",
            "application/jsonl",
        )


def render(actor: Actor) -> None:
    st.caption(
        "JSONL, CSV, Parquet or OTLP-JSON trace files (see the README's formats). Re-importing is safe."
    )
    upload = st.file_uploader("Trace file", type=UPLOAD_TYPES, key="import_upload")
    if upload is None:
        return
    path = save_upload(upload.name, upload.getvalue())
    c1, c2, c3 = st.columns(3)
    choice = c1.selectbox("Format", ["auto", *ingest.FORMATS], key="import_format")
    on_error = c2.radio("Bad records", ["abort", "skip"], key="import_on_error", horizontal=True,
                        format_func=lambda v: "abort: import nothing" if v == "abort" else "skip bad records")  # fmt: skip
    update = c3.checkbox("Update changed traces", key="import_update")
    fmt = None if choice == "auto" else choice
    try:
        preview = ingest.preview_file(path=path, format=fmt, limit=PREVIEW_ROWS)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    st.subheader(f"Preview: first {PREVIEW_ROWS} records ({preview.format})")
    frame = _filter(preview_frame(preview), st.text_input("Filter preview", key="import_filter"))
    st.dataframe(frame, hide_index=True, use_container_width=True)
    st.download_button("Download preview as CSV", frame.to_csv(index=False), "preview.csv", "text/csv")
    if preview.problems:
        st.warning(f"{len(preview.problems)} problem(s) in the first records:")
        st.code("\n".join(str(p) for p in preview.problems), language=None)

    validate, run = st.columns(2)
    bar = st.empty()

    def progress(p: ingest.IngestProgress) -> None:
        bar.progress(min(1.0, p.fraction), text=f"{p.phase}: {p.records:,} records")

    if validate.button("Validate whole file", key="import_validate"):
        _show_report(ingest.validate_file(path=path, format=fmt, progress=progress))
    if run.button("Import", type="primary", key="import_run"):
        rejects = path.with_name(path.name + ".rejects.jsonl") if on_error == "skip" else None
        try:
            report = ingest.ingest_file(
                session.engine(), path=path, format=fmt, on_error=on_error, update=update,
                rejects_path=rejects, actor=actor, progress=progress,
            )  # fmt: skip
        except ReviewStoreError as exc:
            st.error(str(exc))
            return
        st.cache_data.clear()
        _show_report(report)
