"""The shared trace card. Every model or user text (input, output, context, ids) is shown inert with
st.text / st.code, never as markdown or HTML: a trace may carry `<script>` and it must stay text.

An item with a shadow pair is drawn blind wherever its card appears (app/pair_view.py): Output A and
Output B, no release, so no page shows which output came from which release before the reveal.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import formatting, pair_view
from review_store.desk.review_views import ItemCard


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "usd":
        return formatting.money(value)
    return str(value)


def render(card: ItemCard) -> None:
    """Draw one item's trace: metadata, input, output, retrieved chunks, guardrail events; an item with a
    shadow pair as its blind A/B card."""
    if card.pair is not None:
        pair_view.blind_card(card)
        return
    trace, item = card.trace, card.item
    with st.container(border=True):
        st.text(
            f"Trace {trace.external_id} · segment {trace.segment or '—'} · release {trace.release or '—'}"
            f" · model {trace.model or '—'} · prompt {trace.prompt_version or '—'}"
        )
        st.text(
            f"Latency {_fmt(trace.latency_ms, 'ms')} · cost {_fmt(trace.cost_usd, 'usd')} · tokens "
            f"{_fmt(trace.tokens_in)}/{_fmt(trace.tokens_out)} · feedback {_fmt(trace.user_feedback)}"
            f" · sampled because: {item.reason}"
        )
        if item.escalation_reason:
            st.text(f"Escalated: {item.escalation_reason}")
        st.caption("User input")
        st.code(trace.input or "", language=None, wrap_lines=True)
        st.caption("Model output")
        st.code(trace.output or "", language=None, wrap_lines=True)
        chunks = trace.context
        with st.expander(f"Retrieved context ({len(chunks)} chunks)", expanded=False):
            for chunk in chunks:
                score = chunk.score
                st.text(f"{chunk.id} · score {score if score is not None else '—'}")
                st.code(chunk.text, language=None, wrap_lines=True)
        events = card.guardrails
        if events:
            st.caption("Guardrail events")
            for e in events:
                st.text(f"{e.stage}: {e.name} {e.action} (score {_fmt(e.score)})")
        else:
            st.caption("No guardrail events")
