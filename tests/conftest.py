"""Real databases for every store test: a SQLite file per test, and PostgreSQL when its URL is set.

REVIEW_STORE_TEST_PG_URL points at a server where we may create databases; each pytest process creates
its own database there (so parallel runs never collide) and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from review_store import clock, models  # noqa: F401  (tables on the metadata)
from review_store.db import make_engine

PG_URL = os.environ.get("REVIEW_STORE_TEST_PG_URL", "")
# The audit chain is keyed with a secret kept outside the database (review_store/audit/keys.py). Team mode
# (PostgreSQL) refuses state changes without one, so the suite supplies one; the audit tests that need
# the laptop default (a key file beside the SQLite file) or no key at all remove it with monkeypatch.
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789abcdef"
os.environ.setdefault("REVIEW_DESK_AUDIT_KEY", TEST_AUDIT_KEY)
PG_SKIP_REASON = "REVIEW_STORE_TEST_PG_URL is not set: PostgreSQL variants skipped (.ci/run sets it)"
DEMO_SEED = 7
DEMO_TRACES = 3000


# Every test runs at this instant unless it pins another: no result may depend on the day the suite runs.
TEST_NOW = datetime(2026, 6, 1, 12, 0, 0)


@pytest.fixture(scope="session", autouse=True)
def _session_clock() -> Iterator[None]:
    """Session-scoped fixtures (the demo template) are built at TEST_NOW too."""
    previous = clock.set_default(clock.FixedClock(TEST_NOW))
    yield
    clock.set_default(previous)


@pytest.fixture(autouse=True)
def pinned_clock(request, monkeypatch) -> Iterator[clock.FixedClock]:
    """The suite-wide clock guard.

    The store's default clock is a FixedClock at TEST_NOW (advance it with `pinned_clock.advance(...)`),
    and reading the real wall clock through the store fails the test, unless it is marked
    `@pytest.mark.wallclock` (it then opts in, and must hold on any date).
    """
    fixed = clock.FixedClock(TEST_NOW)
    if request.node.get_closest_marker("wallclock"):
        yield fixed
        return

    def _refuse(self) -> datetime:
        raise AssertionError(
            "this test read the wall clock through the store: pin the time (the pinned_clock fixture, "
            "a FixedClock, or --as-of) or mark the test @pytest.mark.wallclock"
        )

    monkeypatch.setattr(clock.SystemClock, "now", _refuse)
    previous = clock.set_default(fixed)
    try:
        yield fixed
    finally:
        clock.set_default(previous)


def create_schema(url: str) -> None:
    """Every table from the models, stamped as the newest migration (as `db upgrade` would leave it)."""
    from alembic import command

    from review_store.schema import alembic_config

    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    command.stamp(alembic_config(url), "head")


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _create_pg_database(name: str) -> str:
    admin = create_engine(_admin_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    admin = create_engine(_admin_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database private to this pytest process."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    name = f"rd_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = _create_pg_database(name)
    yield url
    _drop_pg_database(name)


def _reset_pg(url: str) -> Engine:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    create_schema(url)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty database with every table, on each backend; the URL, for code that builds its own engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        create_schema(url)
        yield url
    else:
        url = request.getfixturevalue("pg_database_url")
        _reset_pg(url).dispose()
        yield url


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    """An empty database with every table, on SQLite and (when configured) PostgreSQL."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    """SQLite only, for tests about SQLite itself (locks, files)."""
    create_schema(f"sqlite:///{tmp_path / 'store.db'}")
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, dict]:
    """The demo world built once per run into a SQLite file; tests get their own copy."""
    from review_store.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_schema(f"sqlite:///{path}")
    eng = make_engine(f"sqlite:///{path}")
    summary = build_demo(eng, seed=DEMO_SEED, traces=DEMO_TRACES, password="demo-pass-123")
    eng.dispose()
    return path, summary


@pytest.fixture
def demo_db_url(demo_template, tmp_path) -> str:
    """A private copy of the demo world (SQLite), safe to change."""
    path, _ = demo_template
    target = tmp_path / "demo.db"
    shutil.copy(path, target)
    return f"sqlite:///{target}"


@pytest.fixture
def demo_engine(demo_db_url) -> Iterator[Engine]:
    eng = make_engine(demo_db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_pg_url() -> Iterator[str]:
    """The demo world on PostgreSQL in its own database, built once per run; treat it as read-only."""
    from review_store.demo import build_demo

    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    name = f"rd_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = _create_pg_database(name)
    engine = _reset_pg(url)
    build_demo(engine, seed=DEMO_SEED, traces=DEMO_TRACES, password="demo-pass-123")
    engine.dispose()
    yield url
    _drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_any_url(request, demo_db_url) -> str:
    """The demo world on each backend (the PostgreSQL one is shared: do not change it)."""
    if request.param == "sqlite":
        return demo_db_url
    return request.getfixturevalue("demo_pg_url")
