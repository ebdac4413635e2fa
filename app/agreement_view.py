"""Agreement page pieces: cached reads of the store's judge-vs-human numbers, tiles, charts, drill-down."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import session, widgets
from review_store import judge as judge_store
from review_store.config import database_url
from review_store.db import read_session
from review_store.errors import ReviewStoreError
from review_store.judge import agreement as ja
from review_store.judge import agreement_views as views
from review_store.permissions import Actor

BADGE_COLOURS = {"trusted": "green", "needs calibration": "orange", "untrusted": "red"}


def _read(fn, **kwargs) -> Any:
    with read_session(session.engine()) as db:
        return fn(db, **kwargs)


@st.cache_data(ttl=60, show_spinner="Computing agreement…")
def cached(name: str, url: str, **kwargs) -> Any:
    """Read-only store calls by name, cached per database for a minute (cleared after a judge run)."""
    fn = {
        "configs": judge_store.list_judge_configs,
        "segments": ja.segments,
        "vs_human": ja.judge_vs_human,
        "trend": views.version_trend,
        "by_segment": views.by_segment,
        "disagreements": views.disagreements,
        "compare": views.compare_configs,
        "trust": lambda db, **kw: ja.judge_trust(db, **kw).as_dict(),
    }[name]
    return _read(fn, **kwargs)


def load(name: str, **kwargs) -> Any:
    return cached(name, database_url(), **kwargs)


def questions_for(judge: str) -> list[str]:
    with read_session(session.engine()) as db:
        config = judge_store.get_judge_config(db, judge)
        from review_store import rubrics

        spec = rubrics.spec_of(rubrics.get(db, config.rubric_id))
    return [q.key for q in spec.questions if q.kind in ("rating", "label")]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def tiles(result: dict[str, Any], trust: dict[str, Any]) -> None:
    """Alpha with its CI, kappa, exact/adjacent agreement, the human ceiling and the release gate's verdict."""
    lo, hi = result["ci95"]
    ci = "no interval" if lo is None else f"95% CI [{lo:.3f}, {hi:.3f}]"
    cols = st.columns(6)
    cols[0].metric("Krippendorff's alpha", _fmt(result["krippendorff_alpha"]), help=ci, border=True)
    cols[0].caption(ci)
    cols[1].metric("Cohen's kappa (quadratic)", _fmt(result.get("cohen_kappa")), border=True)
    cols[2].metric("Exact agreement", widgets.format_value(result["percent_agreement"], "%"), border=True)
    cols[3].metric(
        "Adjacent (±1) agreement", widgets.format_value(result.get("adjacent_agreement"), "%"), border=True
    )
    cols[4].metric(
        "Human-human alpha (ceiling)",
        _fmt(result["human_human_alpha"]),
        help="Reviewers' agreement with each other: a judge rarely beats it.",
        border=True,
    )
    cols[5].metric("Verdict", trust["verdict"], border=True)
    limits = result["thresholds"]
    st.badge(trust["verdict"], color=BADGE_COLOURS.get(trust["verdict"], "gray"))
    st.caption(
        f"{result['n_labelled_items']} labelled items with a verdict ({result['n_items']} judge/human pairs). "
        f"Trusted: alpha ≥ {limits['trusted']}; needs calibration: ≥ {limits['calibrate']}; "
        f"at least {limits['min_items']} items (Settings > Thresholds, judge.trust)."
    )


def release_evidence(trust: dict[str, Any]) -> None:
    """The release gate's own answer (judge_agreement.judge_trust), so both screens always agree."""
    left, right = st.columns([1, 3])
    left.metric("Counts as release evidence", "yes" if trust["trusted"] else "no", border=True)
    right.caption(
        f"{trust['reason']}. Rule of the release gate: one human answer per item (adjudicated, else the "
        "median of the labels), all segments; CI lower bound ≥ trusted alpha and enough items."
    )


def confusion_figure(result: dict[str, Any]) -> go.Figure:
    confusion = result["confusion"]
    labels = [str(v) for v in confusion["labels"]]
    figure = go.Figure(
        go.Heatmap(
            z=confusion["matrix"],
            x=labels,
            y=labels,
            colorscale="Blues",
            text=confusion["matrix"],
            texttemplate="%{text}",
            hovertemplate="human %{y}, judge %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Confusion: human (rows) vs judge (columns)",
        xaxis_title="judge",
        yaxis_title="human",
        yaxis_autorange="reversed",
        height=380,
    )
    return figure


def trend_figure(rows: list[dict[str, Any]]) -> go.Figure:
    frame = pd.DataFrame(rows)
    figure = go.Figure(
        go.Scatter(
            x=frame["config"],
            y=frame["krippendorff_alpha"],
            mode="lines+markers",
            name="alpha",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (frame["ci_high"] - frame["krippendorff_alpha"]).tolist(),
                "arrayminus": (frame["krippendorff_alpha"] - frame["ci_low"]).tolist(),
            },
        )
    )
    figure.update_layout(
        title="Alpha (95% CI) across judge config versions", yaxis_range=[-0.2, 1], height=320
    )
    return figure


def trend(*, judge: str, question: str, segment: str | None) -> None:
    """Alpha per config version with its CI, and the table (with cost per 1k verdicts)."""
    rows = load("trend", judge=judge, question=question, segment=segment)
    if any(r["krippendorff_alpha"] is not None for r in rows):
        st.plotly_chart(trend_figure(rows), key="agreement_trend")
    widgets.table_with_download(pd.DataFrame(rows), key="agreement_trend_table", file_name="trend.csv")


def compare(*, a: str, b: str, question: str, segment: str | None, human: str) -> None:
    """Two configs on the labelled items both judged, measure by measure."""
    side = load("compare", a=a, b=b, question=question, segment=segment, human=human)
    st.caption(f"{side['n_common_items']} labelled items judged by both configs.")
    if side["n_common_items"] == 0:
        st.info("The two configs have no labelled items in common yet; run the missing one first.")
    frame = pd.DataFrame(side["configs"]).set_index("config").T.reset_index(names="measure")
    st.dataframe(frame.astype(str), hide_index=True, width="stretch")


def side_by_side(judge: str, trace_id: int) -> None:
    """The trace, this config's verdicts with rationale, and the human labels, in two columns."""
    detail = _read(views.trace_side_by_side, trace_id=trace_id, judge=judge)
    trace = detail["trace"]
    st.caption(f"trace {trace['external_id']} · {trace['segment']} · release {trace['release']}")
    widgets.untrusted_text("Customer input", trace["input"], height=120)
    widgets.untrusted_text("Assistant output", trace["output"], height=160)
    left, right = st.columns(2)
    with left:
        st.subheader(f"Judge {detail['judge']}")
        for verdict in detail["verdicts"]:
            widgets.untrusted_text(
                f"{verdict['question']}: {verdict['value']} (confidence {verdict['confidence']})",
                verdict["error"] or verdict["rationale"],
            )
    with right:
        st.subheader("Human labels")
        for label in detail["labels"]:
            st.caption(label["reviewer"])
            st.json(label["answers"], expanded=True)
        for adj in detail["adjudications"]:
            st.caption(f"adjudicated by {adj['adjudicator']}")
            st.json(adj["answers"], expanded=True)


def run_judge_button(actor: Actor, judge: str) -> None:
    """For leads: judge N sampled traces (labelled ones first); explains the env var when no key is set."""
    with read_session(session.engine()) as db:
        config = judge_store.get_judge_config(db, judge)
        ready, message = judge_store.provider_ready(config)
    n = st.number_input("Traces to judge", 1, 1000, 20, key="agreement_run_n")
    if not ready:
        st.warning(f"The judge cannot run yet: {message}. Restart the app with it set, then try again.")
    if st.button(f"Run judge on {n} sampled traces", disabled=not ready, key="agreement_run"):
        with read_session(session.engine()) as db:
            ids = views.sample_unjudged_traces(db, judge=judge, n=int(n))
        try:
            with st.spinner(f"Judging {len(ids)} traces with {judge}…"):
                report = judge_store.run_judge(session.engine(), actor=actor, config=judge, trace_ids=ids)
        except ReviewStoreError as exc:
            st.error(str(exc))
            return
        cached.clear()
        st.success(f"{report.n_ok} verdicts, {report.n_error} errors, ${report.cost_usd:.4f}.")


def reviewer_quality(actor: Actor, *, question: str, segment: str | None) -> list[dict[str, Any]]:
    return _read(views.reviewer_quality, actor=actor, question=question, segment=segment)
