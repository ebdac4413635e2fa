"""The desk, sign-in (local accounts or Streamlit's OIDC), the browser session cookie, and the current actor.

A local sign-in starts a server-side browser session (desk.users.start_session): its random secret goes into
the `review_desk_session` cookie (written by extra-streamlit-components' CookieManager, read back from the
request through `st.context.cookies`), so a reload or a new tab resumes it until sign-out (which revokes
it) or expiry. The cookie carries no name and no role: the actor is re-read from the database every run.
An SSO sign-in rides on Streamlit's own identity cookie instead.
"""

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


COOKIE = "review_desk_session"


def current_actor() -> Actor | None:
    """The signed-in actor as the database knows it now (a role change or deactivation applies at once).

    With nobody signed in in this browser session, a live session cookie (a reload, a new tab) signs in.
    """
    data = st.session_state.get(state.ACTOR)
    if not data:
        return _resume_from_cookie()
    actor = desk().users.current(Actor(**data))
    if actor is None:
        st.session_state.pop(state.ACTOR, None)
        _forget_session()
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
    """Revoke the browser session (a copied cookie stops working), clear the cookie, leave the provider."""
    st.session_state.pop(state.ACTOR, None)
    _forget_session()
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _start_session(actor: Actor) -> None:
    started = desk().users.start_session(actor=actor, address=_client_address())
    st.session_state[state.SESSION_SECRET] = started.secret
    _queue_cookie(
        method="set",
        value=started.secret,
        options={
            "path": "/",
            "maxAge": int(started.seconds),  # relative: the browser's clock does not matter
            "expires": started.expires_at.replace(microsecond=0).isoformat()
            + "Z",  # the store's times are naive UTC
            "sameSite": "lax",  # sent on a link followed from elsewhere (a deep link in a chat)
            "secure": _served_over_https(),
        },
    )


def _forget_session() -> None:
    secret = st.session_state.pop(state.SESSION_SECRET, None)
    if secret:
        desk().users.end_session(secret=secret)
    if secret:
        _queue_cookie(method="delete")


def _resume_from_cookie() -> Actor | None:
    """The user of a live session cookie, tried once per cookie value and browser session."""
    secret = _cookie()
    if not secret or st.session_state.get(state.COOKIE_TRIED) == secret:
        return None
    st.session_state[state.COOKIE_TRIED] = secret
    actor = desk().users.resume_session(secret=secret)
    if actor is None:
        return None  # revoked or expired: worthless, and tried once per browser session only
    st.session_state[state.SESSION_SECRET] = secret
    sign_in_as(actor)
    return actor


def _cookie() -> str | None:
    """The session cookie the browser sent when this browser session connected (None in bare/AppTest runs)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request context
        return None
    return value if isinstance(value, str) and value else None


def _served_over_https() -> bool:
    try:
        return str(st.context.url or "").startswith("https://")
    except Exception:
        return False


def _queue_cookie(**write) -> None:
    """A cookie write for the browser; sync_cookie() renders it until the browser confirms it."""
    st.session_state[state.COOKIE_WRITES] = st.session_state.get(state.COOKIE_WRITES, 0) + 1
    st.session_state[state.COOKIE_WRITE] = write


def sync_cookie() -> None:
    """Hand a pending cookie write to the browser (extra-streamlit-components' CookieManager).

    The component answers True once the cookie is written; until then the write is rendered again on
    every run, so a rerun right after sign-in cannot lose it. It draws nothing (a zero-height frame).
    """
    write = st.session_state.get(state.COOKIE_WRITE)
    if not write:
        return
    import extra_streamlit_components as stx

    st.html("<style>.stElementContainer:has(iframe[height='0']) {display: none;}</style>")
    manager = stx.CookieManager(key="cookie_manager")
    done = manager.cookie_manager(
        cookie=COOKIE, key=f"cookie_write_{st.session_state[state.COOKIE_WRITES]}", default=False, **write
    )
    if done:
        st.session_state.pop(state.COOKIE_WRITE, None)


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
            _start_session(actor)
            st.rerun()
