"""Agreement page pieces: cached facade reads (desk.agreement, desk.judge), the verdict, tiles, charts,
drill-down. The verdict shown is desk.agreement's (THE trust verdict, the release gate's own answer)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import formatting, session, widgets
from review_store.desk import Actor, ReadModel, ReviewStoreError

BADGE_COLOURS = {"trusted": "green", "needs calibration": "orange", "untrusted": "red"}
HUMAN_MODES = {
    "item": "one reference answer per item (adjudicated, else median / majority): the verdict's pairing",
    "each": "every label paired with the judge",
    "majority": "the majority of the labels (ties left out)",
}


@st.cache_data(ttl=60, show_spinner="Computing agreement…")
def _cached(part: str, name: str, url: str, **kwargs: Any) -> Any:
    """Read-only facade calls by name, cached per database for a minute (cleared after a judge run)."""
    return getattr(getattr(session.desk(), part), name)(**kwargs)


def load(name: str, **kwargs: Any) -> Any:
    """desk.agreement.<name>(**kwargs), cached."""
    return _cached("agreement", name, session.desk().url, **kwargs)


def judge_load(name: str, **kwargs: Any) -> Any:
    """desk.judge.<name>(**kwargs), cached."""
    return _cached("judge", name, session.desk().url, **kwargs)


def frame(rows: tuple[ReadModel, ...]) -> pd.DataFrame:
    return pd.DataFrame([r.to_json() for r in rows])


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def verdict(trust: Any) -> None:
    """THE trust verdict: badge, whether it counts as release evidence, alpha with CI, the reason.
    Tile labels stay short enough for a narrow column; the full meaning is in each tile's help."""
    cols = st.columns(4)
    cols[0].metric("Verdict", trust.verdict, border=True, help="The release gate's own trust verdict.")
    cols[1].metric(
        "Release evidence",
        "yes" if trust.trusted else "no",
        help="Whether this judge's scores count as release evidence (the gate's rule).",
        border=True,
    )
    ci = "no interval" if trust.ci_low is None else f"95% CI [{trust.ci_low:.3f}, {trust.ci_high:.3f}]"
    cols[2].metric(
        "Reference alpha",
        _fmt(trust.alpha),
        help=f"Krippendorff's alpha against one reference answer per item (what the verdict uses); {ci}.",
        border=True,
    )
    cols[2].caption(ci)
    cols[3].metric("Items", trust.n_items, help="Labelled items with a judge verdict.", border=True)
    st.badge(trust.verdict, color=BADGE_COLOURS.get(trust.verdict, "gray"))
    scope = f"segment {trust.segment}" if trust.segment else "all segments"
    st.caption(
        f"{trust.reason}. One rule everywhere (this page, `review-desk agreement`, the release gate), "
        f"here for {scope}: trusted when the CI lower bound ≥ {trust.trusted_alpha} with at least "
        f"{trust.min_items} items; needs calibration when alpha ≥ {trust.calibrate_alpha} "
        "(Settings > Thresholds, judge.trust)."
    )


def tiles(result: Any) -> None:
    """The descriptive statistics for the chosen pairing: alpha, kappa, exact/adjacent, human ceiling.
    Short labels (never cut in five columns); the full names are in the help."""
    lo, hi = result.ci95
    ci = "no interval" if lo is None else f"95% CI [{lo:.3f}, {hi:.3f}]"
    cols = st.columns(5)
    cols[0].metric(
        "Alpha",
        _fmt(result.krippendorff_alpha),
        help=f"Krippendorff's alpha (judge vs humans); {ci}.",
        border=True,
    )
    cols[0].caption(ci)
    cols[1].metric("Kappa", _fmt(result.cohen_kappa), help="Cohen's kappa, quadratic weights.", border=True)
    cols[2].metric(
        "Exact",
        formatting.percent(result.percent_agreement),
        help="Share of pairs where the judge gave exactly the human answer.",
        border=True,
    )
    cols[3].metric(
        "Within ±1",
        formatting.percent(result.adjacent_agreement),
        help="Share of pairs at most one scale step apart (adjacent agreement).",
        border=True,
    )
    cols[4].metric(
        "Human ceiling",
        _fmt(result.human_human_alpha),
        help="Human-human alpha: reviewers' agreement with each other; a judge rarely beats it.",
        border=True,
    )
    st.caption(
        f"{result.n_labelled_items} labelled items with a verdict ({result.n_items} judge/human pairs, "
        f"pairing: {HUMAN_MODES[result.human]})."
    )


def confusion_figure(result: Any) -> go.Figure:
    labels = [str(v) for v in result.confusion.labels]
    matrix = [list(row) for row in result.confusion.matrix]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            colorscale="Blues",
            text=matrix,
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


def trend_figure(rows: pd.DataFrame) -> go.Figure:
    figure = go.Figure(
        go.Scatter(
            x=rows["config"],
            y=rows["krippendorff_alpha"],
            mode="lines+markers",
            name="alpha",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (rows["ci_high"] - rows["krippendorff_alpha"]).tolist(),
                "arrayminus": (rows["krippendorff_alpha"] - rows["ci_low"]).tolist(),
            },
        )
    )
    figure.update_layout(
        title="Alpha (95% CI) across judge config versions", yaxis_range=[-0.2, 1], height=320
    )
    return figure


def trend(*, judge: str, question: str, segment: str | None, human: str) -> None:
    """Alpha per config version with its CI, and the table (with cost per 1k verdicts)."""
    rows = frame(load("version_trend", judge=judge, question=question, segment=segment, human=human))
    if rows["krippendorff_alpha"].notna().any():
        st.plotly_chart(trend_figure(rows.astype({"ci_low": float, "ci_high": float})), key="agreement_trend")
    widgets.table_with_download(rows, key="agreement_trend_table", file_name="trend.csv")


def compare(*, a: str, b: str, question: str, segment: str | None, human: str) -> None:
    """Two configs on the labelled items both judged, measure by measure."""
    side = load("compare", a=a, b=b, question=question, segment=segment, human=human)
    st.caption(f"{side.n_common_items} labelled items judged by both configs.")
    if side.n_common_items == 0:
        st.info("The two configs have no labelled items in common yet; run the missing one first.")
    table = frame(side.configs).set_index("config").T.reset_index(names="measure")
    formatting.table(table.astype(str))


def side_by_side(judge: str, trace_id: int) -> None:
    """The trace, this config's verdicts with rationale, and the human labels, in two columns."""
    detail = session.desk().agreement.side_by_side(judge=judge, trace_id=trace_id)
    trace = detail.trace
    st.caption(f"trace {trace.external_id} · {trace.segment} · release {trace.release}")
    widgets.untrusted_text("Customer input", trace.input, height=120)
    widgets.untrusted_text("Assistant output", trace.output, height=160)
    left, right = st.columns(2)
    with left:
        st.subheader(f"Judge {detail.judge}")
        for v in detail.verdicts:
            widgets.untrusted_text(
                f"{v.question}: {v.value} (confidence {v.confidence})", v.error or v.rationale
            )
    with right:
        st.subheader("Human labels")
        for label in detail.labels:
            who = f"adjudicated by {label.reviewer}" if label.adjudicated else label.reviewer
            st.caption(who)
            formatting.table(frame(label.answers).astype(str))


def run_judge_button(actor: Actor, judge: str) -> None:
    """For leads: judge N sampled traces (labelled ones first); explains the env var when no key is set."""
    readiness = session.desk().judge.provider_ready(config=judge)
    n = st.number_input("Traces to judge", 1, 1000, 20, key="agreement_run_n")
    if not readiness.ready:
        st.warning(
            f"The judge cannot run yet: {readiness.message}. Restart the app with it set, then try again."
        )
    if st.button(f"Run judge on {n} sampled traces", disabled=not readiness.ready, key="agreement_run"):
        try:
            with st.spinner(f"Judging up to {n} traces with {judge}…"):
                report = session.desk().judge.run(actor=actor, config=judge, sample=int(n))
        except ReviewStoreError as exc:
            st.error(str(exc))
            return
        _cached.clear()
        st.success(f"{report.n_ok} verdicts, {report.n_error} errors, {formatting.money(report.cost_usd)}.")


def reviewer_quality(actor: Actor, *, question: str, segment: str | None) -> pd.DataFrame:
    rows = session.desk().agreement.reviewer_quality(actor=actor, question=question, segment=segment)
    return frame(rows)
