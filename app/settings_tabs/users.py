"""Settings > Users: accounts and roles (admins)."""

import pandas as pd
import streamlit as st

from app import session
from review_store import users
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.models import ROLES
from review_store.permissions import Actor


def render(actor: Actor) -> None:
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
        password = st.text_input("Initial password (8+ characters; empty = SSO only)", type="password")
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
