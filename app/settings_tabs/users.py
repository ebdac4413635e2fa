"""Settings > Users: accounts, roles, deactivation and sign-in locks (admins), each change confirmed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import formatting, session, state
from review_store.desk import ROLES, Actor, ReviewStoreError

CHANGES = ("Change role", "Deactivate", "Reactivate", "Unlock sign-in")


def render(actor: Actor) -> None:
    _flash()
    try:
        people = session.desk().users.list(actor=actor)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    rows = [
        {
            "username": u.username,
            "name": u.display_name,
            "email": u.email,
            "role": u.role,
            "active": u.active,
            "sign-in locked until (UTC)": u.locked_until,
        }
        for u in people
    ]
    formatting.table(pd.DataFrame(rows))
    _change_form(actor, [u.username for u in people])
    _add_form(actor)
    pending = st.session_state.get(state.USERS_PENDING)
    if pending:
        _confirm(actor, pending)


def _flash() -> None:
    kind, text = st.session_state.pop(state.USERS_FLASH, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def _change_form(actor: Actor, usernames: list[str]) -> None:
    st.subheader("Change a user")
    c1, c2, c3 = st.columns(3)
    username = c1.selectbox("User", usernames, key="users_change_user")
    change = c2.selectbox("Change", CHANGES, key="users_change_kind")
    role = c3.selectbox("New role", ROLES, key="users_change_role", disabled=change != "Change role")
    if st.button("Apply…", key="users_change_apply", disabled=not usernames):
        st.session_state[state.USERS_PENDING] = {"username": username, "change": change, "role": role}


def _describe(pending: dict) -> str:
    who = pending["username"]
    return {
        "Change role": f"Make **{who}** a **{pending['role']}**? Their pages change at their next click.",
        "Deactivate": f"Deactivate **{who}**? They are signed out at their next click and their tokens stop working.",
        "Reactivate": f"Reactivate **{who}**?",
        "Unlock sign-in": f"Lift the sign-in lock on **{who}** and reset their failed attempts?",
    }[pending["change"]]


def _apply(actor: Actor, pending: dict) -> str:
    users = session.desk().users
    who, change = pending["username"], pending["change"]
    if change == "Change role":
        view = users.set_role(actor=actor, username=who, role=pending["role"])
        return f"{view.username} is now a {view.role}."
    if change in ("Deactivate", "Reactivate"):
        view = users.set_active(actor=actor, username=who, active=change == "Reactivate")
        return f"{view.username} is now {'active' if view.active else 'deactivated'}."
    had = users.unlock(actor=actor, username=who)
    return f"Unlocked {who}." if had else f"{who} had no failed sign-ins."


def _cancel() -> None:
    st.session_state.pop(state.USERS_PENDING, None)


@st.dialog("Confirm the change", on_dismiss=_cancel)
def _confirm(actor: Actor, pending: dict) -> None:
    st.markdown(_describe(pending))
    c1, c2 = st.columns(2)
    if c1.button("Confirm", type="primary", key="users_confirm"):
        _cancel()
        try:
            st.session_state[state.USERS_FLASH] = ("success", _apply(actor, pending))
        except ReviewStoreError as exc:
            st.session_state[state.USERS_FLASH] = ("error", str(exc))
        st.rerun()
    if c2.button("Cancel", key="users_cancel"):
        _cancel()
        st.rerun()


def _add_form(actor: Actor) -> None:
    with st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        c1, c2, c3 = st.columns(3)
        username = c1.text_input("Username", max_chars=80)
        role = c2.selectbox("Role", ROLES)
        email = c3.text_input("Email (for SSO sign-in)")
        password = st.text_input("Initial password (empty = SSO only)", type="password")
        if st.form_submit_button("Add user", type="primary"):
            try:
                view = session.desk().users.add(
                    actor=actor, username=username, role=role, password=password or None, email=email or None
                )
                st.session_state[state.USERS_FLASH] = ("success", f"Added {view.username} as {view.role}.")
            except ReviewStoreError as exc:
                st.session_state[state.USERS_FLASH] = ("error", str(exc))
            st.rerun()
