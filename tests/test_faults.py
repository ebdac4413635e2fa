"""Faults the product must survive: a locked SQLite file, a dropped PostgreSQL connection, a judge
provider that is down, and a database created by an older migration."""

from __future__ import annotations

import sqlite3

import pytest

from review_store import users
from review_store.db import make_engine, read_session, session_scope
from review_store.errors import DatabaseBusy
from review_store.permissions import SYSTEM
from tests.conftest import create_schema


def test_sqlite_locked_by_another_writer_gives_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEW_STORE_SQLITE_BUSY_TIMEOUT_MS", "300")
    path = tmp_path / "locked.db"
    create_schema(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(DatabaseBusy, match="busy.*try again"), session_scope(engine) as session:
            users.add_user(session, actor=SYSTEM, username="blocked", role="lead", password="12345678")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with read_session(engine) as session:
        assert users.list_users(session) == []
    with session_scope(engine) as session:  # once the other writer is gone, the same action works
        users.add_user(session, actor=SYSTEM, username="blocked", role="lead", password="12345678")
    with read_session(engine) as session:
        assert [u.username for u in users.list_users(session)] == ["blocked"]
