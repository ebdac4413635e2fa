"""Entry point: page config, sign-in, and a navigation holding only the signed-in role's pages.

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

st.set_page_config(page_title="LLMOps Review Desk", page_icon=":material/fact_check:", layout="wide")

# Team mode without the audit key: every change would be refused, so say why and how to fix it up front.
key_problem = session.desk().audit.key_status().problem
if key_problem:
    st.error(key_problem)
    st.stop()

actor = session.current_actor()
if actor is None:
    page = st.navigation([st.Page(session.sign_in_form, title="Sign in", icon=":material/login:")])
else:
    sections: dict[str, list] = {}
    for spec in navigation.pages_for(actor.role):
        sections.setdefault(spec.section, []).append(
            st.Page(navigation.PAGES_DIR / spec.file, title=spec.title, icon=spec.icon)
        )
    if not sections:
        sections = {"": [st.Page(lambda: st.info("Your role has no pages yet."), title="Welcome")]}
    page = st.navigation(sections, expanded=True)  # a lead sees all 13 pages, never "View 3 more"
    with st.sidebar:
        st.caption(f"Signed in as **{actor.username}** ({actor.role})")
        st.button("Sign out", on_click=session.sign_out, icon=":material/logout:")
page.run()
