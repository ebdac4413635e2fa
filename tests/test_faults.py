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


def _one_item_world(engine):
    """A reviewer, a two-question rubric and one open item with overlap 1."""
    from review_store import rubrics
    from review_store.models import ReviewItem
    from tests.factories import make_trace, make_user

    with session_scope(engine) as session:
        reviewer = make_user(session, role="reviewer")
        rubric = rubrics.create_rubric(
            session,
            actor=SYSTEM,
            name="r",
            questions=[{"key": "correctness", "kind": "rating", "min": 1, "max": 5}],
        )
        trace = make_trace(session)
        item = ReviewItem(trace_id=trace.id, overlap_k=1, status="open")
        session.add(item)
        session.flush()
        return reviewer, rubric.id, item.id


def _labels(engine) -> int:
    from sqlmodel import func, select

    from review_store.models import Label

    with read_session(engine) as session:
        return session.exec(select(func.count()).select_from(Label)).one()


def test_postgres_connection_lost_while_submitting_then_resubmit_saves_once(pg_database_url):
    """What a server restart does to an open transaction (its backend is terminated) in the middle of a
    submit: the reviewer is told to resubmit, nothing half-written stays, and the resubmit saves once."""
    from sqlalchemy import create_engine, text

    from review_store import queue
    from review_store.errors import DatabaseUnavailable
    from tests.conftest import _reset_pg

    engine = _reset_pg(pg_database_url)
    reviewer, rubric_id, item_id = _one_item_world(engine)
    with session_scope(engine) as session:
        assert queue.next_item(session, actor=reviewer).id == item_id
    killer = create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    with pytest.raises(DatabaseUnavailable, match="resubmit"), session_scope(engine) as session:
        queue.submit_label(
            session, actor=reviewer, item_id=item_id, rubric_id=rubric_id, answers={"correctness": 4}
        )
        pid = session.exec(text("SELECT pg_backend_pid()")).one()[0]
        with killer.connect() as conn:  # the "restart" hits before the commit
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    assert _labels(engine) == 0
    for _ in range(2):  # the resubmit, and a double click after it: one label
        with session_scope(engine) as session:
            queue.submit_label(
                session, actor=reviewer, item_id=item_id, rubric_id=rubric_id, answers={"correctness": 4}
            )
    assert _labels(engine) == 1
    engine.dispose()


def test_judge_provider_down_records_errors_and_pages_still_work(monkeypatch, demo_db_url):
    """Every judge call fails fast (nothing listens on the port): each is stored as a verdict error, the
    run finishes, and the Agreement page still renders from the verdicts that exist."""
    import socket

    from review_store import judge
    from review_store.models import JudgeVerdict
    from tests.apptest import open_app, page

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # closed again: connections are refused
    engine = make_engine(demo_db_url)
    with session_scope(engine) as session:
        base = judge.get_judge_config(session, "acme-judge@1")
        config = judge.create_judge_config(
            session,
            actor=SYSTEM,
            name="down-judge",
            model="openai/test-judge",
            rubric_id=base.rubric_id,
            api_base=f"http://127.0.0.1:{dead_port}/v1",
        )
        name = f"{config.name}@{config.version}"
    report = judge.run_judge(
        engine, actor=SYSTEM, config=name, limit=2, timeout_s=2, max_retries=1, backoff_s=0.01, api_key="x"
    )
    assert report.n_ok == 0 and report.n_error == report.n_calls > 0
    from sqlmodel import select

    with read_session(engine) as session:
        errors = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge_config_id == config.id)).all()
        assert len(errors) == report.n_calls and all(v.error and v.value is None for v in errors)
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("agreement")).run()
    assert not at.exception
    at.switch_page(page("overview")).run()
    assert not at.exception
    engine.dispose()


def test_a_pooled_postgres_connection_dropped_while_idle_is_replaced_before_use(pg_database_url, monkeypatch):
    """The pool pings a connection idle for PING_AFTER_IDLE_S or more before handing it out (db.py): one
    whose backend the server terminated meanwhile is replaced, and the caller never sees the loss."""
    from sqlalchemy import create_engine, text

    from review_store import db

    engine = make_engine(pg_database_url)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # the connection counts as idle long enough
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()
