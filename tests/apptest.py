"""AppTest helpers: open the real entry script on a given database, signed in as a demo user."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from review_store.db import make_engine
from review_store.models import User

ENTRY = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def open_app(monkeypatch, db_url: str, username: str | None = None) -> AppTest:
    """The app on db_url; with a username, signed in as that user (their real role and id)."""
    monkeypatch.setenv("REVIEW_STORE_URL", db_url)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if username:
        engine = make_engine(db_url)
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            at.session_state["actor"] = {"username": user.username, "role": user.role, "id": user.id}
        engine.dispose()
    return at


def page(name: str) -> str:
    """The path AppTest.switch_page wants: relative to the entry script in app/."""
    return f"../pages/{name}.py"


def plotly_figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
