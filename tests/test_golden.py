"""Golden set: promotion prefers the adjudicated label; JSONL export round-trips; the hash follows content."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from review_store import golden
from review_store.db import session_scope
from review_store.errors import ConflictError, ValidationFailed
from review_store.models import GoldenExample
from review_store.permissions import actor_for


def _rita(session):
    return actor_for(session, "rita")


def test_export_import_round_trip(demo_engine, tmp_path):
    with Session(demo_engine) as session:
        text = golden.export_jsonl(session)
        version = golden.version_hash(session)
    assert len(text.splitlines()) == 40
    with session_scope(demo_engine) as session:
        rita = _rita(session)
        for row in session.exec(select(GoldenExample)).all():
            session.delete(row)
    with Session(demo_engine) as session:
        assert golden.version_hash(session) != version
    with session_scope(demo_engine) as session:
        result = golden.import_jsonl(session, actor=rita, text=text)
    assert result.as_dict() == {"added": 40, "updated": 0, "unchanged": 0}
    with Session(demo_engine) as session:
        assert golden.export_jsonl(session) == text
        assert golden.version_hash(session) == version
    with session_scope(demo_engine) as session:  # importing the same file again changes nothing
        assert golden.import_jsonl(session, actor=rita, text=text).unchanged == 40
    with Session(demo_engine) as session:
        assert golden.version_hash(session) == version


def test_version_hash_changes_exactly_when_content_changes(demo_engine):
    with Session(demo_engine) as session:
        version = golden.version_hash(session)
    with session_scope(demo_engine) as session:  # metadata only: who added it is not content
        row = session.exec(select(GoldenExample).order_by(GoldenExample.id)).first()
        row.added_by = "someone-else"
        session.add(row)
    with Session(demo_engine) as session:
        assert golden.version_hash(session) == version
    with session_scope(demo_engine) as session:
        row = session.exec(select(GoldenExample).order_by(GoldenExample.id)).first()
        row.expected_output += " Thanks!"
        session.add(row)
    with Session(demo_engine) as session:
        changed = golden.version_hash(session)
    assert changed != version
    with session_scope(demo_engine) as session:
        row = session.exec(select(GoldenExample).order_by(GoldenExample.id)).first()
        row.expected_output = row.expected_output.removesuffix(" Thanks!")
        session.add(row)
    with Session(demo_engine) as session:
        assert golden.version_hash(session) == version


def test_import_names_the_bad_line_and_writes_nothing(demo_engine):
    with Session(demo_engine) as session:
        lines = golden.export_jsonl(session).splitlines()
        version = golden.version_hash(session)
    bad = "\n".join([lines[0].replace('"expected_output":"', '"expected_output":"X'), '{"trace": "nope"}'])
    with (
        session_scope(demo_engine) as session,
        pytest.raises(ValidationFailed, match="line 2: field 'input'"),
    ):
        golden.import_jsonl(session, actor=_rita(session), text=bad)
    with Session(demo_engine) as session:
        assert golden.version_hash(session) == version


def test_promote_uses_adjudicated_label_and_refuses_duplicates(demo_engine):
    from review_store.models import Adjudication

    with Session(demo_engine) as session:
        in_set = {g.item_id for g in session.exec(select(GoldenExample)).all()}
        adj = next(
            a
            for a in session.exec(select(Adjudication).order_by(Adjudication.id)).all()
            if a.item_id not in in_set
        )
    with session_scope(demo_engine) as session:
        example = golden.promote(session, actor=_rita(session), item_id=adj.item_id)
        assert example.expected_labels == {k: v for k, v in adj.answers.items() if v not in (None, "")}
    with (
        session_scope(demo_engine) as session,
        pytest.raises(ConflictError, match="already in the golden set"),
    ):
        golden.promote(session, actor=_rita(session), item_id=adj.item_id)


def test_cli_golden_import_refuses_bad_input_naming_the_file_and_line(demo_db_url, tmp_path):
    from typer.testing import CliRunner

    from review_store.cli import app
    from tests.factories import cli_token

    runner = CliRunner(env=cli_token(demo_db_url, "lena"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"trace": "t-1", "input": "q", "expected_output": "a"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(app, ["--db", demo_db_url, "golden", "import", str(bad), "--as", "lena"])
    assert result.exit_code == 2, result.output
    assert f"{bad}: line 2: not JSON" in result.output
    folder = runner.invoke(app, ["--db", demo_db_url, "golden", "import", str(tmp_path)])
    assert folder.exit_code == 2 and "not a file" in folder.output
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    undecodable = runner.invoke(app, ["--db", demo_db_url, "golden", "import", str(binary)])
    assert undecodable.exit_code == 2 and "not UTF-8" in undecodable.output
