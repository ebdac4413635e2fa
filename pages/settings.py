"""Settings: one tab per area the signed-in role may change (see app/settings_tabs)."""

import streamlit as st

from app import session
from app.settings_tabs import TABS, module

actor = session.require_actor()
st.title("Settings")
visible = [(title, name) for title, permission, name in TABS if actor.can(permission)]
if not visible:
    st.info("Your role has nothing to configure here.")
for tab, (_, name) in zip(st.tabs([title for title, _ in visible]), visible, strict=True):
    with tab:
        module(name).render(actor)
