"""Settings: users and roles (admins), team thresholds (leads)."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store import settings as team_settings
from review_store import users
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.models import ROLES

actor = session.require_actor()
st.title("Settings")
tabs = {}
if actor.can("manage_users"):
    tabs["Users"] = "users"
if actor.can("edit_settings"):
    tabs["Thresholds"] = "thresholds"
chosen = st.tabs(list(tabs))

for tab, name in zip(chosen, tabs.values(), strict=True):
    with tab:
        if name == "users":
            with read_session(session.engine()) as db:
                rows = [
                    {
                        "username": u.username,
                        "name": u.display_name,
                        "email": u.email,
                        "role": u.role,
                        "active": u.active,
                    }
                    for u in users.list_users(db)
                ]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            with st.form("add_user", clear_on_submit=True):
                st.subheader("Add a user")
                c1, c2, c3 = st.columns(3)
                username = c1.text_input("Username")
                role = c2.selectbox("Role", ROLES)
                email = c3.text_input("Email (for SSO sign-in)")
                password = st.text_input(
                    "Initial password (8+ characters; empty = SSO only)", type="password"
                )
                if st.form_submit_button("Add user", type="primary"):
                    try:
                        with session_scope(session.engine()) as db:
                            users.add_user(
                                db,
                                actor=actor,
                                username=username,
                                role=role,
                                password=password or None,
                                email=email or None,
                            )
                        st.success(f"Added {username} as {role}.")
                    except ReviewStoreError as exc:
                        st.error(str(exc))
        if name == "thresholds":
            with read_session(session.engine()) as db:
                current = team_settings.all_settings(db)
            key = st.selectbox("Setting", list(current))
            text = st.text_area(
                "Value (JSON)", json.dumps(current[key], indent=2), height=220, key=f"setting_{key}"
            )
            if st.button("Save setting", type="primary"):
                try:
                    with session_scope(session.engine()) as db:
                        team_settings.put(db, actor=actor, key=key, value=json.loads(text))
                    st.success(f"Saved {key}.")
                except json.JSONDecodeError as exc:
                    st.error(f"Value is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
                except ReviewStoreError as exc:
                    st.error(str(exc))
