"""Agreement: may the LLM judge be trusted? THE trust verdict per question and segment (the release
gate's own answer), the statistics behind it, and the human ceiling beside it."""

import streamlit as st

from app import agreement_view as view
from app import session, widgets
from app.agreement_view import frame, judge_load, load

actor = session.require_actor()
st.title("Agreement")
configs = judge_load("configs")
if not configs:
    st.info("No judge config yet: create one in Settings > Judges.")
    st.stop()
labels = [c.config for c in configs]
with_verdicts = [c.config for c in configs if c.verdicts_ok]
c1, c2, c3, c4 = st.columns(4)
default = labels.index(with_verdicts[0]) if with_verdicts else 0
judge = c1.selectbox("Judge config", labels, index=default, key="agreement_judge")
question = c2.selectbox("Question", judge_load("questions", config=judge), key="agreement_question")
segment_pick = c3.selectbox("Segment", ["All", *load("segments")], key="agreement_segment")
human = c4.selectbox(
    "Human answer",
    list(view.HUMAN_MODES),
    key="agreement_human",
    help="; ".join(f"{k}: {v}" for k, v in view.HUMAN_MODES.items())
    + ". An adjudicated answer always wins. The verdict always uses 'item'.",
)
segment = None if segment_pick == "All" else segment_pick
result = load("judge_vs_human", judge=judge, question=question, segment=segment, human=human)
view.verdict(result.trust)
if result.n_labelled_items == 0:
    st.info(
        f"{judge} has no verdicts on labelled traces for {question!r} yet, so there is nothing to compare. "
        "A lead can run it on sampled traces below."
    )
else:
    view.tiles(result)
    st.plotly_chart(view.confusion_figure(result), key="agreement_confusion")

trend, disagree, compare, per_segment, quality = st.tabs(
    ["Trend across versions", "Disagreements", "Compare two configs", "Per segment", "Reviewer quality"]
)
with trend:  # every version's agreement and cost per 1k verdicts: computed when asked for
    if st.toggle("Compute the trend across versions", key="agreement_trend_on"):
        view.trend(judge=judge, question=question, segment=segment, human=human)
with disagree:
    gaps = load("disagreements", judge=judge, question=question, segment=segment, limit=100)
    if not gaps:
        st.info("No disagreements of a full scale step or more.")
    else:
        widgets.table_with_download(frame(gaps), key="agreement_gaps", file_name="disagreements.csv")
        options = {f"trace {g.trace_id} · gap {g.gap:.0f} · {g.human_labels}": g for g in gaps}
        picked = st.selectbox("Open a disagreement", list(options), key="agreement_trace")
        view.side_by_side(judge, options[picked].trace_id)
with compare:
    others = [c for c in labels if c != judge]
    if not others:
        st.info("Only one judge config exists: create another version in Settings > Judges.")
    else:
        other = st.selectbox("Compare with", others, key="agreement_compare_b")
        if st.toggle("Compare them", key="agreement_compare_on"):
            view.compare(a=judge, b=other, question=question, segment=segment, human=human)
with per_segment:
    st.caption(
        "Each segment's verdict is the trust verdict in that segment (what a segment gate metric gets)."
    )
    rows = frame(load("by_segment", judge=judge, question=question, human=human))
    widgets.table_with_download(rows, key="agreement_segments", file_name="segments.csv")
with quality:
    if not actor.can("view_reviewer_quality"):
        st.info("Reviewer quality is for leads.")
    else:
        st.caption("Each reviewer against the consensus of the others: low agreement = guidelines again.")
        rows = view.reviewer_quality(actor, question=question, segment=segment)
        widgets.table_with_download(rows, key="agreement_quality", file_name="reviewers.csv")

if actor.can("run_judge"):
    with st.expander("Run the judge"):
        view.run_judge_button(actor, judge)
