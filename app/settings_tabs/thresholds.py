"""Settings > Thresholds: one form per team setting (numbers as number inputs, modes as selectboxes).

The store validates the whole value (desk.settings.put): a bad one is refused with `key.field: reason`
and nothing is stored. After a save the form is rebuilt from the committed value.
"""

from __future__ import annotations

import streamlit as st

from app import session
from review_store.desk import Actor, ReviewStoreError
from review_store.desk.settings import SettingField, SettingView

_SAVED = "thresholds_saved"  # session_state: the key saved last, shown as a success after the rerun


def _step(field: SettingField) -> float | int:
    if field.kind == "integer":
        return 1
    top = field.maximum
    return 0.01 if top is not None and top <= 1 else 0.05 if top is not None and top <= 10 else 1.0


def _input(view: SettingView, field: SettingField, version: str, disabled: bool) -> float | int | str:
    label = f"{field.name.replace('_', ' ')}"
    key = f"setting_{view.key}_{field.name}_{version}"  # a new version (after a save) re-reads the store
    if field.kind == "choice":
        return st.selectbox(
            label,
            field.choices,
            index=field.choices.index(str(field.value)),
            key=key,
            help=field.description,
            disabled=disabled,
        )
    integer = field.kind == "integer"
    cast = int if integer else float
    return st.number_input(
        label,
        value=cast(field.value),
        min_value=None if field.minimum is None else cast(field.minimum),
        max_value=None if field.maximum is None else cast(field.maximum),
        step=_step(field),
        format="%d" if integer else "%g",
        key=key,
        help=f"{field.description} Default: {field.default}.",
        disabled=disabled,
    )


def _form(actor: Actor, view: SettingView) -> None:
    version = view.updated_at.isoformat() if view.updated_at else "default"
    can_edit = actor.can("edit_settings")
    with st.form(f"setting_form_{view.key}", border=True):
        st.markdown(f"**{view.key}** — {view.description}")
        st.caption(
            "default value"
            if view.is_default
            else f"changed by {view.updated_by} at {view.updated_at:%Y-%m-%d %H:%M} UTC"
        )
        cols = st.columns(min(3, len(view.fields)))
        picked = {}
        for i, field in enumerate(view.fields):
            with cols[i % len(cols)]:
                picked[field.name] = _input(view, field, version, not can_edit)
        submitted = st.form_submit_button(f"Save {view.key}", type="primary", disabled=not can_edit)
    if submitted:
        try:
            session.desk().settings.put(actor=actor, key=view.key, value=picked)
        except ReviewStoreError as exc:
            st.error(str(exc))  # nothing was stored; the form keeps what was typed, to fix it
        else:
            st.session_state[_SAVED] = view.key
            st.rerun()
    if st.session_state.get(_SAVED) == view.key:
        st.session_state.pop(_SAVED)
        st.success(f"Saved {view.key} (audited).")


def render(actor: Actor) -> None:
    st.caption("Team thresholds. Each save is validated whole and audited; a bad value is refused.")
    try:
        views = session.desk().settings.all()
    except ReviewStoreError as exc:  # a stored value edited in the database no longer validates
        st.error(str(exc))
        return
    for view in views:
        _form(actor, view)
