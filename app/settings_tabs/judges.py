"""Settings > Judges: every judge config version with its verdict counts, and a form for the next
version (leads). Configs are immutable: saving changed content creates a new version."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store import judge, rubrics
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.permissions import Actor


def render(actor: Actor) -> None:
    with read_session(session.engine()) as db:
        configs = judge.list_judge_configs(db)
        rubric_labels = {f"{r.name}@{r.version}": r.id for r in rubrics.list_rubrics(db)}
        latest = {}
        for row in configs:
            latest[row["config"].split("@")[0]] = row["config"]
        templates = {
            name: judge.get_judge_config(db, label).prompt_template for name, label in latest.items()
        }
    if configs:
        frame = pd.DataFrame(configs).drop(columns=["id"])
        st.dataframe(frame.astype({"params": str}), hide_index=True, width="stretch")
    else:
        st.info("No judge config yet.")
    if not rubric_labels:
        st.warning("Create a rubric first: a judge answers a rubric's questions.")
        return
    st.subheader("New judge config (or the next version of one)")
    base = st.selectbox("Start from", ["(new)", *latest], key="judge_base")
    with st.form("judge_config"):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", "" if base == "(new)" else base, key=f"judge_name_{base}")
        model = c2.text_input("litellm model", "openai/gpt-4o-mini", key="judge_model")
        rubric = c1.selectbox("Rubric", list(rubric_labels), index=len(rubric_labels) - 1, key="judge_rubric")
        api_base = c2.text_input("api_base (self-hosted, optional)", key="judge_api_base")
        template = st.text_area(
            "Prompt template",
            templates.get(base, judge.DEFAULT_TEMPLATE),
            height=260,
            key=f"judge_template_{base}",
            help="Placeholders: " + " ".join("{" + p + "}" for p in judge.PLACEHOLDERS),
        )
        params = st.text_area("Parameters (JSON)", '{"temperature": 0}', key="judge_params")
        submitted = st.form_submit_button("Save judge config", type="primary")
    if submitted:
        try:
            with session_scope(session.engine()) as db:
                config = judge.create_judge_config(
                    db,
                    actor=actor,
                    name=name,
                    model=model,
                    prompt_template=template,
                    rubric_id=rubric_labels[rubric],
                    params=json.loads(params or "{}"),
                    api_base=api_base or None,
                )
                saved = judge.label_of(config)
            st.success(f"Saved {saved}.")
        except json.JSONDecodeError as exc:
            st.error(f"Parameters are not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except ReviewStoreError as exc:
            st.error(str(exc))
