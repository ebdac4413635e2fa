"""The audit key and chains written before it: an unkeyed (plain sha256) prefix is anchored by the first
keyed event, after which it cannot be rewritten, and a chain cannot be downgraded back to unkeyed."""

from __future__ import annotations

import json
import stat
from datetime import datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from review_store import audit
from review_store.audit import chain, keys
from review_store.audit.checkpoint import parse
from review_store.cli import app
from review_store.db import read_session, session_scope
from review_store.errors import ValidationFailed
from review_store.models import AuditEvent, Setting
from review_store.permissions import SYSTEM

runner = CliRunner()


def _legacy_chain(engine, n: int = 3) -> None:
    """What an older version wrote: plain sha256 hashes and a head without a signature."""
    prev = chain.GENESIS_HASH
    with session_scope(engine) as s:
        for seq in range(1, n + 1):
            event = AuditEvent(seq=seq, ts=datetime(2026, 5, 1, 9, seq), actor="system", action="old.change",
                               entity="thing", entity_id=str(seq), payload="{}", prev_hash=prev, hash="")  # fmt: skip
            event.hash = chain.plain_hash(prev, chain.event_text(event))
            s.add(event)
            prev = event.hash
        s.add(Setting(key=chain.HEAD_KEY, value={"seq": n, "hash": prev}, updated_by="audit"))


def _verify(engine):
    with read_session(engine) as s:
        return audit.verify(s)


def test_an_unanchored_legacy_chain_fails_with_how_to_fix(engine):
    _legacy_chain(engine)
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 1
    assert "none of the 3 events is keyed" in result.problem


def test_the_first_change_anchors_a_legacy_chain(engine):
    _legacy_chain(engine)
    with session_scope(engine) as s:
        assert audit.record(s, actor=SYSTEM, action="thing.change", entity="thing").seq == 5
    with read_session(engine) as s:
        anchor = audit.list_events(s, action=audit.ANCHOR_ACTION)[0]
        assert anchor.seq == 4 and json.loads(anchor.payload)["unkeyed_events"] == 3
    result = _verify(engine)
    assert result.ok and result.checked == 5 and result.keyed == 2


def test_an_anchored_prefix_cannot_be_rewritten_or_downgraded(engine):
    _legacy_chain(engine)
    with session_scope(engine) as s:
        audit.record(s, actor=SYSTEM, action="thing.change", entity="thing")
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET actor = 'mallory' WHERE seq = 2"))
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 2
    # put seq 2 back, then drop the keyed events and restore the old unsigned head: a downgrade
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET actor = 'system' WHERE seq = 2"))
        conn.execute(text("DELETE FROM auditevent WHERE seq > 3"))
    with session_scope(engine) as s:
        third = s.get(AuditEvent, 3)
        head = s.get(Setting, chain.HEAD_KEY)
        head.value = {"seq": 3, "hash": third.hash}
        s.add(head)
    result = _verify(engine)
    assert not result.ok and "none of the 3 events is keyed" in result.problem


def test_init_key_creates_the_file_and_anchors_an_old_sqlite_chain(sqlite_engine, monkeypatch, tmp_path):
    monkeypatch.delenv(keys.ENV_KEY, raising=False)
    monkeypatch.delenv(keys.ENV_KEY_FILE, raising=False)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    _legacy_chain(sqlite_engine)
    result = runner.invoke(app, ["--db", url, "audit", "init-key", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    path = keys.default_path(url)
    assert status["created"] and status["source"] == str(path) and status["anchored_seq"] == 5
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    verify = runner.invoke(app, ["--db", url, "audit", "verify", "--json"])
    assert verify.exit_code == 0 and json.loads(verify.output)["keyed"] == 2
    secret = path.read_text()
    again = json.loads(runner.invoke(app, ["--db", url, "audit", "init-key", "--json"]).output)
    assert again["created"] is False and again["anchored_seq"] is None  # kept, nothing recorded
    assert path.read_text() == secret and again["key_id"] == status["key_id"]


def test_key_sources_and_bad_keys(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv(keys.ENV_KEY, "short")
    with pytest.raises(ValidationFailed, match="at least 32 characters"):
        keys.load(url)
    monkeypatch.setenv(keys.ENV_KEY, "k" * 40)
    assert keys.load(url).source == "$REVIEW_DESK_AUDIT_KEY"
    monkeypatch.delenv(keys.ENV_KEY)
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(tmp_path / "named.key"))
    assert keys.load("postgresql+psycopg://u@h/db") is None  # team mode never invents a key
    assert keys.load(url, create=True).source == str(tmp_path / "named.key")
    monkeypatch.delenv(keys.ENV_KEY_FILE)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert keys.default_path("postgresql+psycopg://u@h/db") == tmp_path / "cfg" / "review-desk" / "audit.key"
    assert keys.default_path(url) == tmp_path / "x.db.audit-key"


def test_a_checkpoint_file_is_checked_field_by_field():
    with pytest.raises(ValidationFailed, match="cp.json: not a review-desk audit checkpoint"):
        parse('{"format": "other"}', where="cp.json")
    body = {"format": "review-desk-audit-checkpoint", "version": 1, "seq": "7", "hash": "h",
            "created_at": "t", "key_id": "k", "signature": "s"}  # fmt: skip
    with pytest.raises(ValidationFailed, match="cp.json: seq: missing or not an integer"):
        parse(json.dumps(body), where="cp.json")
    assert parse(json.dumps(body | {"seq": 7}), where="cp.json").seq == 7
