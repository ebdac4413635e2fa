"""The engine's SQLite settings and the Alembic migrations, on real databases."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from review_store import schema
from review_store.db import make_engine


def test_sqlite_engine_uses_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request, tmp_path):
    """A database with no tables at all, for migrations to build."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    url = request.getfixturevalue("pg_database_url")
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


def test_migrations_upgrade_check_downgrade_upgrade(blank_url):
    schema.upgrade(blank_url)
    schema.upgrade(blank_url)  # idempotent
    schema.check(blank_url)  # models and migrations agree
    engine = make_engine(blank_url)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    engine.dispose()
    schema.downgrade(blank_url, "base")
    engine = make_engine(blank_url)
    assert "trace" not in inspect(engine).get_table_names()
    engine.dispose()
    schema.upgrade(blank_url)
    schema.check(blank_url)
