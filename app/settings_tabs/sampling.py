"""Settings > Sampling: the versioned sampling policy (strategies with shares, daily quota, overlap k)."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store import sampling
from review_store.db import read_session, session_scope
from review_store.errors import ReviewStoreError
from review_store.permissions import Actor

EXAMPLE = [
    {"strategy": "random", "share": 0.5},
    {"strategy": "low_confidence", "share": 0.2, "threshold": 0.5},
]


def render(actor: Actor) -> None:
    with read_session(session.engine()) as db:
        versions = [
            {
                "version": p.version,
                "daily_quota": p.daily_quota,
                "overlap_k": p.overlap_k,
                "strategies": json.dumps(p.strategies),
                "created_by": p.created_by,
                "created_at": p.created_at,
            }
            for p in sampling.list_policies(db)
        ]
    current = versions[0] if versions else None
    if versions:
        st.dataframe(pd.DataFrame(versions), hide_index=True, width="stretch")
    st.caption(f"Strategies: {', '.join(sampling.STRATEGIES)}. Shares add up to at most 1.")
    c1, c2 = st.columns(2)
    quota = c1.number_input(
        "Daily quota", 0, 100_000, current["daily_quota"] if current else 100, key="sp_quota"
    )
    overlap = c2.number_input(
        "Overlap k (reviewers per item)", 1, 10, current["overlap_k"] if current else 2, key="sp_overlap"
    )
    body = json.dumps(json.loads(current["strategies"]) if current else EXAMPLE, indent=2)
    text = st.text_area("Strategies (JSON list)", body, height=220, key="sp_strategies")
    if st.button("Save policy", type="primary", key="sp_save"):
        try:
            with session_scope(session.engine()) as db:
                policy = sampling.save_policy(
                    db,
                    actor=actor,
                    strategies=json.loads(text),
                    daily_quota=int(quota),
                    overlap_k=int(overlap),
                )
                version = policy.version
            st.success(f"Sampling policy version {version} is current.")
        except json.JSONDecodeError as exc:
            st.error(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except ReviewStoreError as exc:
            st.error(str(exc))
    if actor.can("sample") and st.button("Sample today's quota now", key="sp_run"):
        try:
            with session_scope(session.engine()) as db:
                results = [r.as_dict() for r in sampling.run_policy(db, actor=actor)]
            st.dataframe(pd.DataFrame(results), hide_index=True)
        except ReviewStoreError as exc:
            st.error(str(exc))
