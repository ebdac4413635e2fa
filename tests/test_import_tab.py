"""Settings > Import: AppTest renders it for an admin, uploads a JSONL file (AppTest's file_uploader
supports set_value in streamlit 1.67), previews, validates and imports; problems name the uploaded file
(never the server's temp path), wrap in one message box and appear once; plus the tab's pure helpers."""

from __future__ import annotations

import orjson
from sqlmodel import func, select

from app.settings_tabs import TABS
from app.settings_tabs.import_data import plain, preview_frame, report_summary, save_upload
from review_store.db import make_engine, read_session
from review_store.desk import SYSTEM, Desk
from review_store.models import AuditEvent, Trace
from tests.apptest import open_app, page


def jsonl(n: int, bad: bool = False) -> bytes:
    rows = [
        {"trace_id": f"up-{i}", "timestamp": f"2026-03-01T10:{i:02d}:00Z", "input": f"question {i}",
         "output": f"<b>answer</b> {i}", "segment": "billing"}
        for i in range(n)
    ]  # fmt: skip
    if bad:
        rows.append({"trace_id": "up-bad", "input": "no timestamp", "output": "x"})
    return b"\n".join(orjson.dumps(r) for r in rows) + b"\n"


def count(url: str, where=None) -> int:
    engine = make_engine(url)
    with read_session(engine) as session:
        query = select(func.count()).select_from(Trace)
        if where is not None:
            query = query.where(where)
        n = session.exec(query).one()
    engine.dispose()
    return n


def test_tab_is_registered_for_import_data():
    assert ("Import", "import_data", "import_data") in TABS


def test_admin_uploads_previews_and_imports(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "adam")
    at.switch_page(page("settings")).run()
    assert not at.exception
    assert "Import" in [t.label for t in at.tabs]
    at.file_uploader(key="import_upload").set_value(("new.jsonl", jsonl(5), "application/jsonl")).run()
    assert not at.exception
    [frame] = [d.value for d in at.dataframe if "external_id" in d.value.columns]
    assert list(frame["external_id"]) == [f"up-{i}" for i in range(5)]
    assert frame["output"][0] == "<b>answer</b> 0"  # shown as text in a table cell, not rendered
    before = count(demo_db_url)
    at.button(key="import_run").click().run()
    assert not at.exception
    assert count(demo_db_url) == before + 5
    assert any("Imported" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["inserted"] == "5"
    engine = make_engine(demo_db_url)
    with read_session(engine) as session:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert last.action == "data.ingest" and last.actor == "adam"
    engine.dispose()


def shown(at) -> list[str]:
    """Every text the page shows in a message box, caption, markdown or code block."""
    return [e.value for kind in ("error", "warning", "success", "info", "code", "markdown", "caption")
            for e in getattr(at, kind)]  # fmt: skip


def test_bad_file_aborts_and_lists_each_problem_once_by_the_upload_name(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "adam")
    at.switch_page(page("settings")).run()
    at.file_uploader(key="import_upload").set_value(
        ("bad_file.jsonl", jsonl(3, bad=True), "application/jsonl")
    ).run()
    assert not at.exception
    problem = plain("bad_file.jsonl:4: timestamp: missing required field")
    texts = shown(at)
    assert sum(problem in t for t in texts) == 1  # the preview lists it once
    assert not at.code and not any("review-desk-uploads" in t for t in texts)  # no temp path, no code block
    [box] = [w.value for w in at.warning]
    assert box.startswith(plain("1 problem(s) in the first 20 records:")) and f"- {problem}" in box

    at.button(key="import_validate").click().run()
    assert not at.exception
    texts = shown(at)
    assert sum(problem in t for t in texts) == 1  # the report replaces the preview's list
    [box] = [e.value for e in at.error]
    assert box.startswith(plain("Nothing imported: 1 problem(s)")) and not at.warning and not at.code

    at.button(key="import_run").click().run()
    assert not at.exception and sum(problem in t for t in shown(at)) == 1
    assert count(demo_db_url, Trace.external_id.like("up-%")) == 0


def test_a_file_level_problem_names_the_upload_once(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "adam")
    at.switch_page(page("settings")).run()
    at.file_uploader(key="import_upload").set_value(("spans_*v2*.jsonl", jsonl(2), "application/jsonl")).run()
    at.selectbox(key="import_format").select("otlp").run()
    assert not at.exception
    problem = plain("spans_*v2*.jsonl:1: format: declared otlp, but the file looks like JSON lines")
    assert sum(problem in t for t in shown(at)) == 1 and not at.code
    at.button(key="import_run").click().run()
    assert not at.exception
    assert sum(problem in t for t in shown(at)) == 1
    assert any(e.value.startswith(plain("Nothing imported")) for e in at.error)
    assert count(demo_db_url, Trace.external_id.like("up-%")) == 0


def test_reviewer_does_not_get_the_tab(monkeypatch, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "rita")
    at.switch_page(page("settings")).run()
    assert not at.exception
    assert "Import" not in [t.label for t in at.tabs]
    assert not at.get("file_uploader")


def test_helpers(tmp_path):
    path = save_upload("../../etc/x y.jsonl", jsonl(2), tmp_path)
    assert path.parent == tmp_path and path.name.endswith("x_y.jsonl")
    assert save_upload("x y.jsonl", jsonl(2), tmp_path) == path  # same content, same file
    desk = Desk(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    preview = desk.ingest.preview(actor=SYSTEM, path=path, name="mine.jsonl")
    frame = preview_frame(preview)
    assert list(frame.columns[:3]) == ["line", "external_id", "ts"]
    assert list(frame["input"]) == ["question 0", "question 1"]
    report = desk.ingest.validate(actor=SYSTEM, path=path, name="mine.jsonl")
    assert report_summary(report)["records"] == 2 and report.ok and report.name == "mine.jsonl"
    assert plain("a_b*c`$x") == "a\\_b\\*c\\`\\$x"
