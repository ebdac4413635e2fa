"""Settings > Rubrics: edit the questions as JSON (leads). A used version is never changed: saving it
creates the next version, so existing labels keep pointing at the version they answered."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store import rubrics
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.permissions import Actor


def render(actor: Actor) -> None:
    with read_session(session.engine()) as db:
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "version": r.version,
                "questions": len(r.questions),
                "used": rubrics.is_used(db, r.id),
                "created_by": r.created_by,
                "created_at": r.created_at,
                "body": r.questions,
            }
            for r in rubrics.list_rubrics(db)
        ]
    latest = {r["name"]: r for r in rows}  # list is ordered by version: the last one wins
    if rows:
        st.dataframe(pd.DataFrame(rows).drop(columns=["body"]), hide_index=True, width="stretch")
    names = [*latest, "(new rubric)"]
    name = st.selectbox("Rubric", names, key="rubric_name")
    current = latest.get(name)
    if current is None:
        name = st.text_input("New rubric name", key="rubric_new_name")
    elif current["used"]:
        st.info(f"Version {current['version']} has answers: saving creates version {current['version'] + 1}.")
    st.caption(
        "Question kinds: rating (min, max), label and multi_label (options), text; each with guidelines."
    )
    body = json.dumps(current["body"] if current else [], indent=2)
    text = st.text_area("Questions (JSON list)", body, height=320, key=f"rubric_json_{name}")
    if st.button("Save rubric", type="primary", key="rubric_save"):
        try:
            questions = json.loads(text)
            with session_scope(session.engine()) as db:
                if current is None:
                    saved = rubrics.create_rubric(db, actor=actor, name=name or "", questions=questions)
                else:
                    saved = rubrics.edit_rubric(db, actor=actor, rubric_id=current["id"], questions=questions)
                label = f"{saved.name} v{saved.version}"
            st.success(f"Saved {label}.")
        except json.JSONDecodeError as exc:
            st.error(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except ReviewStoreError as exc:
            st.error(str(exc))
