"""Settings > Sampling: the versioned sampling policy (strategies with shares, daily quota, overlap k)."""

import json

import pandas as pd
import streamlit as st

from app import session
from review_store.desk import Actor, ReviewStoreError
from review_store.desk.sampling import STRATEGIES

EXAMPLE = [
    {"strategy": "random", "share": 0.5},
    {"strategy": "low_confidence", "share": 0.2, "threshold": 0.5},
]


def render(actor: Actor) -> None:
    desk = session.desk()
    versions = desk.sampling.policies()
    current = versions[0] if versions else None
    if versions:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "version": p.version,
                        "daily_quota": p.daily_quota,
                        "overlap_k": p.overlap_k,
                        "strategies": p.strategies_json,
                        "created_by": p.created_by,
                        "created_at": p.created_at,
                    }
                    for p in versions
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    st.caption(f"Strategies: {', '.join(STRATEGIES)}. Shares add up to at most 1.")
    c1, c2 = st.columns(2)
    quota = c1.number_input(
        "Daily quota", 0, 100_000, current.daily_quota if current else 100, key="sp_quota"
    )
    overlap = c2.number_input(
        "Overlap k (reviewers per item)", 1, 10, current.overlap_k if current else 2, key="sp_overlap"
    )
    body = json.dumps(json.loads(current.strategies_json) if current else EXAMPLE, indent=2)
    text = st.text_area("Strategies (JSON list)", body, height=220, key="sp_strategies")
    if st.button("Save policy", type="primary", key="sp_save"):
        try:
            strategies = json.loads(text)
        except json.JSONDecodeError as exc:
            st.error(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
            strategies = None
        if strategies is not None:
            try:
                policy = desk.sampling.save_policy(
                    actor=actor, strategies=strategies, daily_quota=int(quota), overlap_k=int(overlap)
                )
            except ReviewStoreError as exc:
                st.error(str(exc))
            else:
                st.success(f"Sampling policy version {policy.version} is current.")
    if actor.can("sample") and st.button("Sample today's quota now", key="sp_run"):
        try:
            results = desk.sampling.run_policy(actor=actor)
        except ReviewStoreError as exc:
            st.error(str(exc))
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"strategy": r.strategy, "requested": r.requested, "created": r.created}
                        for r in results
                    ]
                ),
                hide_index=True,
            )
