"""Shared pieces of the Releases page: the gate table, the component diff, the sign-off block."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import widgets
from review_store.errors import ReviewStoreError


def gate_table(gate: dict, *, key: str) -> None:
    """Evidence vs thresholds, one row per metric; failing rows first so nobody misses them."""
    verdict = "passes" if gate["passed"] else "FAILS"
    (st.success if gate["passed"] else st.error)(
        f"Gate {verdict} (policy v{gate['policy_version']}, eval run {gate['eval_run_id']})"
    )
    rows = pd.DataFrame(gate["rows"])
    if rows.empty:
        st.info("No gate policy or no evidence yet.")
        return
    rows = rows[
        ["metric", "op", "threshold", "value", "result", "judge", "question", "judge_trusted", "note"]
    ]
    rows = rows.sort_values("result", key=lambda c: c != "fail", kind="stable")
    widgets.table_with_download(rows, key=key, file_name=f"gate-{gate['release']}.csv", filter_text=False)


def component_diff(parts: list[dict], *, old: str, new: str) -> None:
    st.caption(f"What changes from {old} to {new}, per component.")
    for part in parts:
        label = f"{part['component']}: {part['summary']}"
        with st.expander(label, expanded=part["changed"] and part["component"] == "prompts"):
            if part["text_diff"]:
                st.code(part["text_diff"], language="diff")
            elif part["changes"]:
                st.dataframe(pd.DataFrame(part["changes"]).astype(str), hide_index=True, width="stretch")
            else:
                st.caption("unchanged")


def run_action(label: str, action) -> bool:
    """Call a store action; show the store's refusal as it is."""
    try:
        action()
    except ReviewStoreError as exc:
        st.error(str(exc))
        return False
    st.success(label)
    return True
