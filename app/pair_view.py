"""The Review page's A/B view of an item with a shadow pair, and the reveal after submit.

Before submit the two outputs are shown as "Output A" and "Output B" (side by side; Streamlit stacks the
columns on a narrow screen) with nothing that tells the releases apart: no release, model or prompt
version, and none of the production trace's own numbers (latency, cost, tokens, feedback, output-stage
guardrail events), which belong to one of the two outputs. The store decides the positions; the page
draws `PairView` as it comes. After submit `PairReveal` names the release behind each position.
Every model or user text is drawn inert (st.text / st.code), as on the trace card.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.review_form import PAIR_LABELS
from review_store.desk.review_views import ItemCard, PairReveal

OUTCOME_WORDS = {"a": "candidate better", "b": "baseline better", "tie": "tie"}  # the candidate's outcome


def blind_card(card: ItemCard) -> None:
    """The input once, then Output A and Output B, with no release named; context and input-stage
    guardrail events below."""
    pair, trace, item = card.pair, card.trace, card.item
    with st.container(border=True, key="review_pair"):
        st.text(
            f"Trace {trace.external_id} · segment {trace.segment or '—'} · sampled because: {item.reason}"
        )
        if item.escalation_reason:
            st.text(f"Escalated: {item.escalation_reason}")
        st.caption(
            "Two releases answered this input. Which release gave which output is shown after you submit."
        )
        st.caption("User input")
        st.code(pair.input or "", language=None, wrap_lines=True)
        left, right = st.columns(2, border=True)
        for column, name, text in ((left, "A", pair.output_a), (right, "B", pair.output_b)):
            with column:
                st.markdown(f"**Output {name}**")
                st.code(text or "", language=None, wrap_lines=True)
        chunks = trace.context
        with st.expander(f"Retrieved context ({len(chunks)} chunks)", expanded=False):
            for chunk in chunks:
                st.text(f"{chunk.id} · score {chunk.score if chunk.score is not None else '—'}")
                st.code(chunk.text, language=None, wrap_lines=True)
        inputs = [e for e in card.guardrails if e.stage == "input"]
        for e in inputs:
            st.text(f"{e.stage}: {e.name} {e.action}")
        if len(inputs) < len(card.guardrails):
            st.caption("Output guardrail events are shown after you submit (they belong to one output).")


def _role(release: str, reveal: PairReveal) -> str:
    return "candidate" if release == reveal.candidate else "baseline"


def reveal(shown: PairReveal) -> None:
    """After submit: the release behind A and behind B, and what each pairwise answer means for the
    candidate (the store maps positions to releases)."""
    st.subheader("Releases revealed")
    for column, name, release in zip(st.columns(2), "AB", (shown.release_a, shown.release_b), strict=True):
        column.metric(f"Output {name} was", release, help=f"the {_role(release, shown)} release", border=True)
    st.caption(f"Candidate {shown.candidate} against baseline {shown.baseline}.")
    if not shown.answers:
        return
    rows = [
        {
            "question": a.question,
            "your choice": PAIR_LABELS.get(a.choice, a.choice),
            "preferred": a.winner,
            "for the candidate": OUTCOME_WORDS.get(a.outcome, a.outcome),
            "reason": a.reason,
        }
        for a in shown.answers
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="review_pair_table")
