"""Settings > API keys: keys for the HTTP API (admins). A key acts as its user, with that user's role;
its secret is shown once, right after it is created, and stored only hashed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import formatting, session, state
from review_store.desk import Actor, ReviewStoreError


def render(actor: Actor) -> None:
    desk = session.desk()
    _flash()
    try:
        keys = desk.apikeys.list(actor=actor)
        people = desk.users.list(actor=actor)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    st.caption(
        "Send a key as `Authorization: Bearer KEY` to the API (`review-desk api`, docs at /docs). "
        "Every call acts as the key's user: their role decides what it may do, and the audit names them."
    )
    rows = [
        {
            "id": k.id,
            "key": f"{k.prefix}…",
            "user": k.username,
            "label": k.label,
            "created (UTC)": k.created_at,
            "created by": k.created_by,
            "last used (UTC)": k.last_used_at,
            "revoked (UTC)": k.revoked_at,
        }
        for k in keys
    ]
    if rows:
        formatting.table(pd.DataFrame(rows))
    else:
        st.info("No API keys yet.")
    _create_form(actor, [u.username for u in people if u.active])
    _revoke_form(actor, [k for k in keys if k.revoked_at is None])


def _flash() -> None:
    created = st.session_state.pop(state.APIKEYS_NEW, None)
    if created:
        username, secret = created
        st.success(f"API key for {username} created. Copy it now: it is shown only this once.")
        st.code(secret, language=None)
    kind, text = st.session_state.pop(state.APIKEYS_FLASH, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def _create_form(actor: Actor, usernames: list[str]) -> None:
    st.subheader("Create a key")
    with st.form("apikeys_create", clear_on_submit=True):
        username = st.selectbox("Acts as user", usernames, key="apikeys_user")
        label = st.text_input("Label (what it is for)", key="apikeys_label", max_chars=200)
        submitted = st.form_submit_button("Create key", disabled=not usernames)
    if submitted and username:
        try:
            issued = session.desk().apikeys.create(actor=actor, username=username, label=label.strip())
        except ReviewStoreError as exc:
            st.session_state[state.APIKEYS_FLASH] = ("error", str(exc))
        else:
            st.session_state[state.APIKEYS_NEW] = (issued.token.username, issued.secret)
        st.rerun()


def _revoke_form(actor: Actor, active) -> None:
    st.subheader("Revoke a key")
    if not active:
        st.caption("No active keys.")
        return
    labels = {k.id: f"{k.id} · {k.prefix}… · {k.username} · {k.label or 'no label'}" for k in active}
    key_id = st.selectbox("Key", list(labels), format_func=labels.get, key="apikeys_revoke_id")
    confirm = st.checkbox("Yes, revoke it: its next request gets 401", key="apikeys_revoke_confirm")
    if st.button("Revoke", key="apikeys_revoke", disabled=not confirm):
        try:
            view = session.desk().apikeys.revoke(actor=actor, key_id=key_id)
        except ReviewStoreError as exc:
            st.session_state[state.APIKEYS_FLASH] = ("error", str(exc))
        else:
            st.session_state[state.APIKEYS_FLASH] = (
                "success",
                f"Revoked key {view.id} ({view.prefix}…) of {view.username}.",
            )
        st.session_state.pop("apikeys_revoke_confirm", None)
        st.rerun()
