"""Settings > Rubrics: edit the questions as JSON (leads). A used version is never changed: saving it
creates the next version, so existing labels keep pointing at the version they answered."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store.desk import Actor, ReviewStoreError


def render(actor: Actor) -> None:
    desk = session.desk()
    versions = desk.rubrics.list()
    latest = {r.name: r for r in versions}  # ordered by version: the last one wins
    if versions:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "version": r.version,
                        "questions": len(r.questions),
                        "used": r.used,
                        "created_by": r.created_by,
                        "created_at": r.created_at,
                    }
                    for r in versions
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    names = [*latest, "(new rubric)"]
    name = st.selectbox("Rubric", names, key="rubric_name")
    current = latest.get(name)
    if current is None:
        name = st.text_input("New rubric name", key="rubric_new_name")
    elif current.used:
        st.info(f"Version {current.version} has answers: saving creates version {current.version + 1}.")
    st.caption(
        "Question kinds: rating (min, max, optional anchors: what a point means, e.g. "
        '`"anchors": {"1": "Unsupported", "5": "Fully supported"}`, up to 120 characters each), '
        "label and multi_label (options), text; each with guidelines."
    )
    body = json.dumps(current.questions_json() if current else [], indent=2)
    text = st.text_area("Questions (JSON list)", body, height=320, key=f"rubric_json_{name}")
    if st.button("Save rubric", type="primary", key="rubric_save"):
        try:
            questions = json.loads(text)
        except json.JSONDecodeError as exc:
            st.error(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
            return
        try:
            if current is None:
                saved = desk.rubrics.create(actor=actor, name=name or "", questions=questions)
            else:
                saved = desk.rubrics.edit(actor=actor, rubric_id=current.id, questions=questions)
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.success(f"Saved {saved.label}.")
