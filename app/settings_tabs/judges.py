"""Settings > Judges: every judge config version with its verdict counts, and a form for the next
version (leads). Configs are immutable: saving changed content creates a new version."""

import json

import pandas as pd
import streamlit as st

from app import formatting, session
from review_store.desk import Actor, ReviewStoreError


def render(actor: Actor) -> None:
    desk = session.desk()
    configs = desk.judge.configs()
    rubric_labels = desk.judge.rubric_choices()
    default_template, placeholders = desk.judge.template_help()
    latest = {c.name: c for c in configs}  # configs are ordered by version: the last one wins
    if configs:
        shown = pd.DataFrame([c.to_json() for c in configs]).drop(columns=["prompt_template"])
        formatting.table(shown)
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
        rubric = c1.selectbox("Rubric", rubric_labels, index=len(rubric_labels) - 1, key="judge_rubric")
        api_base = c2.text_input("api_base (self-hosted, optional)", key="judge_api_base")
        template = st.text_area(
            "Prompt template",
            latest[base].prompt_template if base in latest else default_template,
            height=260,
            key=f"judge_template_{base}",
            help="Placeholders: " + " ".join("{" + p + "}" for p in placeholders),
        )
        params = st.text_area("Parameters (JSON)", '{"temperature": 0}', key="judge_params")
        submitted = st.form_submit_button("Save judge config", type="primary")
    if submitted:
        try:
            parsed = json.loads(params or "{}")
        except json.JSONDecodeError as exc:
            st.error(f"Parameters are not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
            return
        if not isinstance(parsed, dict):
            st.error('Parameters must be a JSON object, e.g. {"temperature": 0}.')
            return
        try:
            saved = desk.judge.create(
                actor=actor,
                name=name,
                model=model,
                rubric=rubric,
                prompt_template=template,
                params=parsed,
                api_base=api_base or None,
            )
        except ReviewStoreError as exc:
            st.error(str(exc))
            return
        st.success(f"Saved {saved.config}.")
