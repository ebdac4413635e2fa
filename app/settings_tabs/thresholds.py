"""Settings > Thresholds: team settings as JSON (leads), each change audited by the store."""

import json

import streamlit as st

from app import session
from review_store import settings as team_settings
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.permissions import Actor


def render(actor: Actor) -> None:
    with read_session(session.engine()) as db:
        current = team_settings.all_settings(db)
    key = st.selectbox("Setting", list(current), key="threshold_key")
    text = st.text_area("Value (JSON)", json.dumps(current[key], indent=2), height=220, key=f"setting_{key}")
    if st.button("Save setting", type="primary"):
        try:
            with session_scope(session.engine()) as db:
                team_settings.put(db, actor=actor, key=key, value=json.loads(text))
            st.success(f"Saved {key}.")
        except json.JSONDecodeError as exc:
            st.error(f"Value is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except ReviewStoreError as exc:
            st.error(str(exc))
