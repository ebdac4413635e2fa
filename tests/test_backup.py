"""Backup and restore: demo world -> files -> an empty database gives the same canonical export.

SQLite -> SQLite always; SQLite -> PostgreSQL when REVIEW_STORE_TEST_PG_URL is set (a fresh database with
no tables at all, so the restore runs the migrations itself). A corrupted file is refused by checksum.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from review_store import audit
from review_store.backup import BackupError, canonical_export, export_backup, import_backup, verify_backup
from review_store.cli import app
from review_store.db import make_engine, read_session
from review_store.errors import DatabaseNotEmpty, PermissionDenied
from review_store.models import AuditEvent, Trace, User
from review_store.permissions import Actor
from tests import conftest

runner = CliRunner()


def canonical(url: str) -> dict:
    engine = make_engine(url)
    with read_session(engine) as session:
        out = canonical_export(session)
    engine.dispose()
    return out


@pytest.fixture
def pg_empty_url():
    """A brand-new PostgreSQL database with no tables (private to this test)."""
    if not conftest.PG_URL:
        pytest.skip(conftest.PG_SKIP_REASON)
    name = f"rd_restore_{uuid.uuid4().hex[:10]}"
    url = conftest._create_pg_database(name)
    yield url
    conftest._drop_pg_database(name)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_demo_round_trip_sqlite_to_sqlite(demo_db_url, tmp_path, fmt):
    out = tmp_path / "backup"
    result = runner.invoke(app, ["--db", demo_db_url, "export", str(out), "--format", fmt, "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == fmt
    assert manifest["schema_revision"]
    source = canonical(demo_db_url)
    assert manifest["tables"]["trace"]["rows"] == len(source["trace"]) >= conftest.DEMO_TRACES
    assert all(len(t["sha256"]) == 64 for t in manifest["tables"].values())

    target = f"sqlite:///{tmp_path / 'restored.db'}"  # file does not exist yet: no tables
    result = runner.invoke(app, ["--db", target, "import-backup", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["migrated"] is True
    assert {t["table"]: t["rows"] for t in payload["tables"]}["trace"] == len(source["trace"])

    restored = canonical(target)
    assert restored.keys() == source.keys()
    for table in source:
        assert restored[table] == source[table], table
    verify = runner.invoke(app, ["--db", target, "audit", "verify", "--json"])
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.output)["checked"] == len(source["auditevent"]) > 0


def test_demo_sqlite_to_empty_postgresql(demo_db_url, pg_empty_url, tmp_path):
    out = tmp_path / "backup"
    source_engine = make_engine(demo_db_url)
    manifest = export_backup(source_engine, directory=out)
    source_engine.dispose()
    target = make_engine(pg_empty_url)
    report = import_backup(target, directory=out)
    assert report.migrated and report.tables == {k: v["rows"] for k, v in manifest["tables"].items()}
    with read_session(target) as session:
        restored = canonical_export(session)
        assert audit.verify(session).ok
    source = canonical(demo_db_url)
    for table in source:
        assert restored[table] == source[table], table
    # sequences moved past the restored ids: a new row gets the next id, not a duplicate key
    from review_store.db import session_scope

    with session_scope(target) as session:
        user = User(username="after-restore", role="reviewer")
        session.add(user)
        session.flush()
        max_before = max(u["id"] for u in source["user"])
        assert user.id == max_before + 1
        event = audit.record(session, actor="system", action="test.after_restore", entity="test")
        assert event.seq == len(source["auditevent"]) + 1
    with read_session(target) as session:
        assert audit.verify(session).ok
    target.dispose()


def test_corrupted_file_is_named_and_nothing_imported(demo_db_url, tmp_path):
    out = tmp_path / "backup"
    assert runner.invoke(app, ["--db", demo_db_url, "export", str(out)]).exit_code == 0
    victim = out / "label.parquet"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))

    target_path = tmp_path / "restored.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{target_path}", "import-backup", str(out)])
    assert result.exit_code == 2
    assert "label.parquet" in result.output and "checksum" in result.output
    assert not target_path.exists()  # verified before the target was even touched
    with pytest.raises(BackupError, match="label.parquet"):
        verify_backup(out)


def test_missing_file_and_missing_manifest(demo_db_url, tmp_path):
    out = tmp_path / "backup"
    assert runner.invoke(app, ["--db", demo_db_url, "export", str(out), "--format", "jsonl"]).exit_code == 0
    (out / "trace.jsonl").unlink()
    with pytest.raises(BackupError, match="trace.jsonl.*missing"):
        verify_backup(out)
    with pytest.raises(BackupError, match="no manifest"):
        verify_backup(tmp_path)


def test_refuses_a_database_with_rows(demo_db_url, demo_engine, tmp_path):
    out = tmp_path / "backup"
    export_backup(demo_engine, directory=out, format="jsonl")
    with read_session(demo_engine) as session:
        before = session.exec(select(func.count()).select_from(Trace)).one()
    with pytest.raises(DatabaseNotEmpty, match="not empty"):
        import_backup(demo_engine, directory=out)
    result = runner.invoke(app, ["--db", demo_db_url, "import-backup", str(out)])
    assert result.exit_code == 2 and "not empty" in result.output
    with read_session(demo_engine) as session:
        assert session.exec(select(func.count()).select_from(Trace)).one() == before


def test_restore_into_empty_schema_on_each_backend(demo_engine, engine, tmp_path):
    """The `engine` fixture has every table but no rows (SQLite, and PostgreSQL when configured)."""
    out = tmp_path / "backup"
    export_backup(demo_engine, directory=out, format="jsonl")
    report = import_backup(engine, directory=out)
    assert report.migrated is False
    with read_session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == report.tables["auditevent"]
        restored = canonical_export(session)
    with read_session(demo_engine) as session:
        assert restored == canonical_export(session)


def test_export_refuses_used_directory_bad_format_and_reviewers(demo_engine, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("keep me")
    with pytest.raises(BackupError, match="not an empty directory"):
        export_backup(demo_engine, directory=tmp_path / "used")
    with pytest.raises(BackupError, match="parquet, jsonl"):
        export_backup(demo_engine, directory=tmp_path / "new", format="xml")
    with pytest.raises(PermissionDenied):
        export_backup(demo_engine, directory=tmp_path / "new2", actor=Actor("rita", "reviewer"))
