"""Engines and sessions: one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlmodel import Session, create_engine

from review_store.config import Settings, database_url
from review_store.errors import DatabaseBusy, DatabaseUnavailable


def _busy_timeout_ms() -> int:
    return Settings().sqlite_busy_timeout_ms


def _sqlite_pragmas(dbapi_connection, _record, *, busy_ms: int) -> None:
    # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout instead of
    # one failing when it upgrades a read snapshot; read-only work opts out with read_session().
    mode = "DEFERRED" if connection.get_execution_options().get("read_only") else "IMMEDIATE"
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | None = None, *, echo: bool = False, workers: int | None = None) -> Engine:
    """A new engine; SQLite gets WAL, foreign keys and a busy timeout so concurrent writers wait, not fail.

    `workers`: how many threads (or processes) will write through engines like this one at once. A
    PostgreSQL pool then keeps one connection per worker (plus one), so no worker ever waits on the pool
    however slow the machine is; by default the pool holds 5 connections and opens up to 10 more under
    load. On SQLite, where writers take turns on one file lock that is not handed out in order, the busy
    timeout grows to the configured one per worker, so a writer that keeps losing the race to the others
    still waits its turn instead of failing.
    """
    url = database_url(url)
    if url.startswith("sqlite"):
        busy_ms = _busy_timeout_ms() * max(1, workers or 1)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        )
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    pool_size = max(5, workers + 1) if workers else 5
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=10)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


PING_AFTER_IDLE_S = 1.0


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """SQLAlchemy's pool_pre_ping, for a pooled PostgreSQL connection idle for a second or more only: one
    given back a moment ago is alive, and a ping is a round trip on every transaction (a claim is four
    without it). A connection that fails the ping is replaced before use; one the server dropped within
    the last second fails its first statement, which reaches the caller as DatabaseUnavailable ("nothing
    was kept, please resubmit"; translate_db_error) and is not reused."""
    idle_since = record.info.get("idle_since")
    if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as exc:
        raise DisconnectionError("the pooled connection failed its ping") from exc


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """A cached engine per URL, for the app and the CLI."""
    return make_engine(url)


def translate_db_error(exc: DBAPIError) -> Exception:
    """A locked SQLite file or a dropped server connection as a domain error a person can act on."""
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    if isinstance(exc, OperationalError) and ("database is locked" in text or "database is busy" in text):
        return DatabaseBusy(
            f"the database is busy: another writer held it longer than {_busy_timeout_ms() / 1000:g} s; "
            "nothing was saved, please try again"
        )
    if (
        exc.connection_invalidated
        or "server closed the connection" in text
        or "terminating connection" in text
    ):
        return DatabaseUnavailable(
            "the connection to the database was lost before this was saved; nothing was kept, please resubmit"
        )
    return exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close.

    A locked database or a dropped connection surfaces as DatabaseBusy / DatabaseUnavailable (domain
    errors the UI and CLI show as they are); the transaction is rolled back either way.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        _safe_rollback(session)
        translated = translate_db_error(exc)
        if translated is exc:
            raise
        raise translated from exc
    except BaseException:
        _safe_rollback(session)
        raise
    finally:
        session.close()


def _safe_rollback(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:
        pass  # the connection is already gone; the server discarded the transaction


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
