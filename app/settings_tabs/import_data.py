"""Settings > Import: upload a trace file, preview it, validate it, import it with a progress bar.

All parsing and writing is the facade's (desk.ingest); this tab stores the upload in a temp file (the
import streams from a path), passes the upload's own name for every message, and draws. Problems are
shown once, in one wrapping message box; model text is shown in tables, never as HTML.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import formatting, session
from review_store.desk import Actor, ReviewStoreError, frame_csv
from review_store.desk.ingest import FORMATS, IngestReportView, PreviewView, ProgressView

UPLOAD_TYPES = ["jsonl", "ndjson", "json", "csv", "parquet", "pq", "gz"]
PREVIEW_ROWS = 20
SHOWN_PROBLEMS = 50
PREVIEW_COLUMNS = ["line", "external_id", "ts", "segment", "release", "model", "input", "output"]
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~])")


def save_upload(name: str, data: bytes, directory: str | Path | None = None) -> Path:
    """Write the upload under a content-addressed name that keeps its suffixes (format detection)."""
    base = Path(directory or Path(tempfile.gettempdir()) / "review-desk-uploads")
    base.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)[-120:] or "upload"
    path = base / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if not path.exists():
        path.write_bytes(data)
    return path


def plain(text: str) -> str:
    """Text shown literally inside a markdown message (file names and values may hold * _ ` $ ...)."""
    return _MARKDOWN.sub(r"\\\1", text).replace("\n", " ")


def problem_box(headline: str, lines: tuple[str, ...] | list[str]) -> str:
    """One message: the headline, then each problem as a wrapping list item."""
    return "\n".join([plain(headline), "", *(f"- {plain(line)}" for line in lines)])


def preview_frame(preview: PreviewView) -> pd.DataFrame:
    """The preview's rows with the columns a person checks first, then the rest."""
    frame = pd.DataFrame([row.model_dump() for row in preview.rows])
    if frame.empty:
        return frame
    frame["guardrails"] = frame["guardrails"].map(", ".join)
    first = [c for c in PREVIEW_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def report_summary(report: IngestReportView) -> dict[str, Any]:
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


def _show_report(report: IngestReportView) -> None:
    cols = st.columns(6)
    for col, (label, value) in zip(cols, report_summary(report).items(), strict=True):
        col.metric(label, f"{value:,}")
    lines = report.problem_lines(SHOWN_PROBLEMS)
    if report.aborted:
        st.error(problem_box(f"Nothing imported: {report.n_errors} problem(s). Fix them or choose 'skip bad records'.", lines))  # fmt: skip
    elif report.file_problem:
        st.error(problem_box("The file could not be read to its end; the good records before that point were imported.", lines))  # fmt: skip
    elif report.n_errors:
        st.warning(problem_box(f"Imported the good records; {report.rejected} bad record(s) skipped.", lines))
    else:
        st.success("File is clean." if not report.inserted + report.updated else "Imported.")
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
    choice = c1.selectbox("Format", ["auto", *FORMATS], key="import_format")
    on_error = c2.radio("Bad records", ["abort", "skip"], key="import_on_error", horizontal=True,
                        format_func=lambda v: "abort: import nothing" if v == "abort" else "skip bad records")  # fmt: skip
    update = c3.checkbox("Update changed traces", key="import_update")
    fmt = None if choice == "auto" else choice
    ingest = session.desk().ingest
    try:
        preview = ingest.preview(actor=actor, path=path, name=upload.name, format=fmt, limit=PREVIEW_ROWS)
    except ReviewStoreError as exc:
        st.error(plain(str(exc)))
        return
    st.subheader(f"Preview: first {PREVIEW_ROWS} records ({preview.format})")
    frame = _filter(preview_frame(preview), st.text_input("Filter preview", key="import_filter"))
    formatting.table(frame)
    st.download_button("Download preview as CSV", frame_csv(frame), "preview.csv", "text/csv")

    validate, run = st.columns(2)
    bar = st.empty()
    outcome = st.container()

    def progress(p: ProgressView) -> None:
        bar.progress(min(1.0, p.fraction), text=f"{p.phase}: {p.records:,} records")

    report: IngestReportView | None = None
    try:
        if validate.button("Validate whole file", key="import_validate"):
            report = ingest.validate(actor=actor, path=path, name=upload.name, format=fmt, progress=progress)
        if run.button("Import", type="primary", key="import_run"):
            rejects = path.with_name(path.name + ".rejects.jsonl") if on_error == "skip" else None
            report = ingest.import_file(
                actor=actor, path=path, name=upload.name, format=fmt, on_error=on_error, update=update,
                rejects_path=rejects, progress=progress,
            )  # fmt: skip
            st.cache_data.clear()
    except ReviewStoreError as exc:
        outcome.error(plain(str(exc)))
        return
    with outcome:
        if report is not None:
            _show_report(report)  # its problems include the preview's: each is shown once
        elif preview.problems:
            lines = [str(p) for p in preview.problems]
            st.warning(problem_box(f"{len(lines)} problem(s) in the first {PREVIEW_ROWS} records:", lines))
