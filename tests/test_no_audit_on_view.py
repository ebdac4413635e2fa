"""Viewing a page is not an action: opening every page a role sees writes no audit event.

A lease the Review page takes on its next item is bookkeeping, not a decision, so it is not audited either
(a submitted label, a skip, a flag or an escalation is: see test_review_pages and test_queue).
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from app import navigation
from review_store.models import Assignment, AuditEvent
from tests.apptest import open_app, page

ROLES = {"reviewer": "rita", "owner": "olivia", "lead": "lena", "admin": "adam"}


def _events(engine) -> tuple[int, int | None]:
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(AuditEvent)).one()
        last = session.exec(select(func.max(AuditEvent.seq))).one()
    return count, last


@pytest.mark.parametrize("role", list(ROLES))
def test_viewing_every_page_writes_no_audit_event(role, monkeypatch, demo_engine, demo_db_url):
    username = ROLES[role]
    specs = navigation.pages_for(role)
    assert specs, f"{role} sees no page"
    at = open_app(monkeypatch, demo_db_url, username)
    at.run()
    assert not at.exception, at.exception
    for spec in specs:
        before = _events(demo_engine)
        at.switch_page(page(spec.file.removesuffix(".py"))).run()
        assert not at.exception, f"{spec.file} as {username}: {at.exception}"
        assert _events(demo_engine) == before, f"viewing {spec.file} as {username} wrote an audit event"


def test_the_review_page_leases_an_item_without_auditing_it(monkeypatch, demo_engine, demo_db_url):
    with Session(demo_engine) as session:
        leases = session.exec(select(func.count()).select_from(Assignment)).one()
    before = _events(demo_engine)
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("review")).run()
    assert not at.exception, at.exception
    at.run()  # a reload keeps the same lease
    with Session(demo_engine) as session:
        assert session.exec(select(func.count()).select_from(Assignment)).one() == leases + 1
    assert _events(demo_engine) == before
    assert at.session_state["review_item_id"] is not None
