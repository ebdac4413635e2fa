"""`review-desk ingest`: exit codes, the problem listing, rejects file, --json, --update, --as."""

from __future__ import annotations

import json

import orjson
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import make_engine, read_session
from review_store.models import Trace
from tests.factories import cli_token, make_user

runner = CliRunner()


def record(i: int, **extra) -> bytes:
    return orjson.dumps(
        {
            "trace_id": f"c-{i}",
            "timestamp": f"2026-02-01T10:{i % 60:02d}:00Z",
            "input": f"q{i}",
            "output": f"a{i}",
        }
        | extra
    )


def traces(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    with read_session(engine) as session:
        ids = sorted(session.exec(select(Trace.external_id)).all())
    engine.dispose()
    return ids


def test_abort_exits_2_and_lists_problems(db_url, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([record(1), record(2, latency_ms="fast"), b"{", record(1)]) + b"\n")
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path)])
    assert result.exit_code == 2
    assert "3 bad record(s)" in result.stderr and "nothing was written" in result.stderr
    assert f"{path}:2: latency_ms: expected a number, got 'fast'" in result.stderr
    assert f"{path}:3: json: not valid JSON" in result.stderr
    assert f"{path}:4: trace_id: duplicate trace_id 'c-1' (first on line 1)" in result.stderr
    assert traces(db_url) == []


def test_skip_writes_default_rejects_file_and_reimport_is_idempotent(db_url, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([record(1), record(2, tokens_in=-3), record(3)]))
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--on-error", "skip"])
    assert result.exit_code == 0, result.output
    assert "inserted 2, updated 0, unchanged 0, rejected 1" in result.stdout
    rejects = tmp_path / "t.jsonl.rejects.jsonl"
    [reject] = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert reject["line"] == 2 and reject["errors"][0]["field"] == "tokens_in"
    assert traces(db_url) == ["c-1", "c-3"]

    path.write_bytes(b"\n".join([record(1, output="changed"), record(3)]))
    result = runner.invoke(app, ["--db", db_url, "--json", "ingest", str(path)])
    payload = json.loads(result.stdout)
    assert (payload["inserted"], payload["unchanged"], payload["existing_changed"], payload["ok"]) == (
        0,
        2,
        1,
        True,
    )
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--update", "--json"])
    assert json.loads(result.stdout)["updated"] == 1


def test_json_abort_lists_first_50_then_a_count(db_url, tmp_path):
    path = tmp_path / "t.ndjson"
    path.write_text("\n".join(f'{{"trace_id": "x{i}", "input": "q", "output": "a"}}' for i in range(60)))
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["aborted"] and payload["n_errors"] == 60 and len(payload["problems"]) == 51
    assert payload["problems"][0] == f"{path}:1: timestamp: missing required field"
    assert payload["problems"][-1] == "... and 10 more"


def test_bad_usage(db_url, tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(record(1))
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path)])
    assert result.exit_code == 2 and "cannot tell the format" in result.stderr
    result = runner.invoke(
        app, ["--db", db_url, "ingest", str(path), "--format", "jsonl", "--on-error", "ignore"]
    )
    assert result.exit_code == 2 and "--on-error must be abort or skip" in result.stderr
    result = runner.invoke(app, ["--db", db_url, "ingest", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert runner.invoke(app, ["--db", db_url, "ingest", str(path), "--format", "jsonl"]).exit_code == 0
    assert traces(db_url) == ["c-1"]


def test_as_user_needs_import_permission(db_url, tmp_path):
    engine = make_engine(db_url)
    with Session(engine) as session:
        make_user(session, role="reviewer", username="rita")
        make_user(session, role="admin", username="ada")
        session.commit()
    engine.dispose()
    path = tmp_path / "t.jsonl"
    path.write_bytes(record(1))
    as_rita = cli_token(db_url, "rita")
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--as", "rita"], env=as_rita)
    assert result.exit_code == 2 and "may not import data" in result.stderr
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--as", "nobody"], env=as_rita)
    assert result.exit_code == 2 and "belongs to rita" in result.stderr
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--as", "ada"])
    assert result.exit_code == 2 and "needs ada's credential" in result.stderr
    result = runner.invoke(
        app, ["--db", db_url, "ingest", str(path), "--as", "ada"], env=cli_token(db_url, "ada")
    )
    assert result.exit_code == 0
    engine = make_engine(db_url)
    with read_session(engine) as session:
        from review_store.models import AuditEvent

        actors = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "data.ingest")).all()
        assert session.exec(select(func.count()).select_from(Trace)).one() == 1
    engine.dispose()
    assert actors == ["ada"]


def test_help_has_an_example():
    result = runner.invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0 and "Example: review-desk ingest" in result.stdout
