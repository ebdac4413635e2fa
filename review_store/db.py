"""Engines and sessions: one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from review_store.config import database_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout instead of
    # one failing when it upgrades a read snapshot; read-only work opts out with read_session().
    mode = "DEFERRED" if connection.get_execution_options().get("read_only") else "IMMEDIATE"
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """A new engine; SQLite gets WAL, foreign keys and a busy timeout so concurrent writers wait, not fail."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """A cached engine per URL, for the app and the CLI."""
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for queries only: on SQLite it does not take the write lock."""
    session = Session(engine.execution_options(read_only=True), expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def is_sqlite(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"
