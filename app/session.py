"""Engine, migrations at start, sign-in (local accounts or Streamlit's OIDC) and the current actor."""

from __future__ import annotations

import os

import streamlit as st

from app import state
from review_store.desk import Actor, Desk, SignInLocked


@st.cache_resource(show_spinner="Preparing the database…")
def _desk_for(url: str | None) -> Desk:
    return Desk.open(url, migrate=True)  # idempotent: the app always runs on the newest schema


def desk() -> Desk:
    """The process-wide facade for REVIEW_STORE_URL, upgraded to the newest schema once."""
    return _desk_for(os.environ.get("REVIEW_STORE_URL") or None)


def engine():
    """Transitional: the engine, for pages not yet moved to the facade (to be removed)."""
    return desk().engine


def current_actor() -> Actor | None:
    """The signed-in actor as the database knows it now (a role change or deactivation applies at once)."""
    data = st.session_state.get(state.ACTOR)
    if not data:
        return None
    actor = desk().users.current(Actor(**data))
    if actor is None:
        st.session_state.pop(state.ACTOR, None)
        return None
    if actor.role != data.get("role"):
        sign_in_as(actor)
    return actor


def require_actor() -> Actor:
    """The signed-in actor; stops the page when nobody is signed in (deep links before sign-in)."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in first.")
        st.stop()
    return actor


def sign_in_as(actor: Actor) -> None:
    st.session_state[state.ACTOR] = {"username": actor.username, "role": actor.role, "id": actor.id}


def sign_out() -> None:
    st.session_state.pop(state.ACTOR, None)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # a malformed secrets.toml must not lock everybody out of local sign-in
        return False


def _client_address() -> str | None:
    """The browser's address as Streamlit sees it (behind a proxy: the proxy's), for sign-in throttling."""
    try:
        address = st.context.ip_address
    except Exception:  # no request context (bare mode)
        return None
    return address if isinstance(address, str) and address else None  # AppTest has no real request


def _sso_identity() -> str | None:
    """The email of the provider's signed-in identity, or None when nobody is signed in through SSO."""
    if not _oidc_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    return st.user.get("email") or ""


def _try_oidc() -> bool:
    """Map the SSO identity (by email) to an active local user; False when it maps to nobody."""
    email = _sso_identity()
    if email is None:
        return True
    actor = desk().users.actor_for_email(email=email)
    if actor is None:
        return False
    sign_in_as(actor)
    return True


def _refused_sso() -> None:
    """An SSO identity no active user matches: say so, and let it sign out at the provider."""
    email = _sso_identity() or "(no email)"
    st.error(
        f"{email} signed in through SSO, but no active Review Desk user has that email "
        "(or the account was deactivated). Ask an admin to add or reactivate you."
    )
    st.button("Sign out", on_click=st.logout, type="primary", key="sso_sign_out")


def sign_in_form() -> None:
    """The sign-in screen: local username and password, plus SSO when [auth] is configured."""
    st.title("LLMOps Review Desk")
    st.caption("Sign in to review, approve releases and watch your LLM features in production.")
    if _oidc_configured():
        if not _try_oidc():
            _refused_sso()
            return
        if current_actor():
            st.rerun()
        st.button("Sign in with SSO", on_click=st.login, type="secondary")
    with st.form("sign_in", enter_to_submit=True):
        username = st.text_input("Username", key="sign_in_username", max_chars=80)
        password = st.text_input("Password", type="password", key="sign_in_password", max_chars=1024)
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = desk().users.sign_in(username=username, password=password, address=_client_address())
        except SignInLocked as exc:
            st.error(str(exc))
            return
        if actor is None:
            st.error("Unknown user or wrong password.")
        else:
            sign_in_as(actor)
            st.rerun()
