"""Entry point: page config, sign-in, and a navigation showing only the signed-in role's pages.

Every page is registered on every run (the ones a visitor may not open are hidden), so a deep link such as
`/releases` never meets Streamlit's "Page not found": signed out, it shows the sign-in form and lands on
the page after sign-in; signed in with a role that may not open it, it says so and links the role's pages.

Run from the repository root (`streamlit run app/main.py`) so `.streamlit/config.toml` applies. The
entry lives in app/, away from pages/, so Streamlit never auto-discovers pages/ on a deep link.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import navigation, session  # noqa: E402

st.set_page_config(page_title="LLMOps Review Desk", page_icon=str(navigation.PAGE_ICON), layout="wide")

# Team mode without the audit key: every change would be refused, so say why and how to fix it up front.
key_problem = session.desk().audit.key_status().problem
if key_problem:
    st.error(key_problem)
    st.stop()

actor = session.current_actor()
if actor is None:
    sign_in = st.Page(session.sign_in_form, title="Sign in", icon=":material/login:", default=True)
    hidden = [
        st.Page(navigation.PAGES_DIR / spec.file, title=spec.title, icon=spec.icon, visibility="hidden")
        for spec in navigation.PAGES
    ]
    page = st.navigation([sign_in, *hidden], position="hidden")
    session.sign_in_form()  # on a deep link too: the URL keeps the page, shown once signed in
    session.sync_cookie()  # after the form: the cookie's invisible frame never moves the form's fields
    st.stop()

allowed = navigation.pages_for(actor.role)
ordered = sorted(allowed, key=lambda spec: navigation.SECTIONS.index(spec.section))  # related pages together
pages = []
specs = {}
for spec in ordered + [s for s in navigation.PAGES if s not in allowed]:
    may = spec in allowed
    entry = st.Page(
        navigation.PAGES_DIR / spec.file,
        title=spec.title,
        icon=spec.icon,
        default=bool(ordered) and spec == ordered[0],
        visibility="visible" if may else "hidden",
    )
    specs[entry.url_path] = spec
    pages.append(entry)
if not allowed:
    pages.insert(0, st.Page(navigation.no_pages, title="Welcome", default=True))
# One flat list: Streamlit's sectioned menu puts <div>s inside its <ul> (axe-core: list, listitem).
page = st.navigation(pages, expanded=True)  # every page listed, no "View more"
with st.sidebar:
    st.caption(f"Signed in as **{actor.username}** ({actor.role})")
    st.button("Sign out", on_click=session.sign_out, icon=":material/logout:")
    session.sync_cookie()
spec = specs.get(page.url_path)
if spec is not None and spec not in allowed:
    navigation.not_for_role(spec, actor.role)
else:
    page.run()
