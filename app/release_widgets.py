"""Shared pieces of the Releases page: the gate table, the component diff, and actions run as callbacks.

Actions run in `on_click` callbacks, before the page script reruns: each calls one facade method (which
owns and commits its transaction), and the page then draws everything from a fresh read of committed
state, so the header, the sign-off block and the deploy section always agree.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app import formatting, widgets
from review_store.desk import ReviewStoreError

FLASH = "rel_flash"  # (kind, message) of the last action, shown once


def gate_table(gate, *, key: str) -> None:
    """Evidence vs thresholds, one row per metric; failing rows first so nobody misses them."""
    verdict = "passes" if gate.passed else "FAILS"
    (st.success if gate.passed else st.error)(
        f"Gate {verdict} (policy v{gate.policy_version}, eval run {gate.eval_run_id})"
    )
    if not gate.rows:
        st.info("No gate policy or no evidence yet.")
        return
    columns = [
        "metric",
        "op",
        "threshold",
        "value",
        "result",
        "judge",
        "question",
        "segment",
        "judge_trusted",
        "note",
    ]
    rows = pd.DataFrame([r.to_json() for r in gate.rows])[columns]
    rows = rows.sort_values("result", key=lambda c: c != "fail", kind="stable")
    widgets.table_with_download(rows, key=key, file_name=f"gate-{gate.release}.csv", filter_text=False)


TIER_NAMES = {"checks": "unit checks", "judge": "judge", "human": "human"}
RULE_WORDS = {True: "holds", False: "FAILS", None: "not critical"}  # the store's verdict per question
PAIRWISE_LABELS = {
    "n": "Outcomes",
    "candidate_better": "Candidate better",
    "baseline_better": "Baseline better",
    "win_rate": "Win rate (ties half)",
    "delta": "Delta (wins − losses) / n",
    "sign_p": "Sign test p",
    "margin": "Margin",
    "rule": "Non-inferiority",
}


def _pairwise_rows(report) -> list[dict]:
    """One row per question and source: humans first (what the gate's rule reads), then each judge."""
    rows = []
    for q in report.questions:
        for s in (q.human, *q.judges):
            human = s.source == "human"
            rows.append(
                {
                    "question": q.question,
                    "source": s.source,
                    "n": s.n,
                    "candidate_better": s.wins,
                    "baseline_better": s.losses,
                    "ties": s.ties,
                    "win_rate": s.win_rate,
                    "delta": None if s.delta is None else round(s.delta, 3),
                    "ci": "—" if s.ci_low is None else f"[{s.ci_low:+.3f}, {s.ci_high:+.3f}]",
                    "sign_p": round(s.sign_p, 4),
                    "margin": q.margin if human else None,
                    "rule": RULE_WORDS[q.holds] if human else "not gated (judge)",
                    "note": q.note if human else "",
                }
            )
    return rows


def shadow_run(report, *, key: str) -> None:
    """The release's shadow run against its baseline (desk.pairwise.for_release), per pairwise question:
    outcomes for the candidate, win rate, ties, the CI of delta, the sign test, and the gate's
    non-inferiority verdict (the CI's lower end against -margin) on the critical questions."""
    if report is None:
        st.caption("No shadow run: no shadow trace of this release answers a production trace.")
        return
    head = f"Shadow run against {report.baseline}: {report.pairs} pairs"
    if any(q.critical for q in report.questions):
        if report.passed:
            st.success(f"{head}; every critical question improves or holds within its margin.")
        else:
            st.error(f"{head}; a critical question may be worse than its margin (see Non-inferiority).")
    else:
        st.info(
            f"{head}; no pairwise question is critical in the gate policy (pairwise:<question> >= -margin)."
        )
    if not report.questions:
        return
    frame = pd.DataFrame(_pairwise_rows(report))
    confidence = report.questions[0].human.confidence
    labels = {**PAIRWISE_LABELS, "ci": f"{confidence:.0%} CI of delta"}
    formatting.table(frame, key=key, labels=labels)


def eval_stack(stack, *, key: str) -> None:
    """Unit checks -> judge -> human: one row per tier with its counts, pass rate and cost."""
    rows = [
        {
            "tier": TIER_NAMES[t.tier],
            "count": t.count,
            "passed": t.passed,
            "of": t.scored,
            "pass_rate": t.pass_rate,
            "cost_usd": t.cost_usd,
            "effort": f"{t.count} labels, {(t.seconds or 0) / 60:.1f} min"
            if t.tier == "human"
            else (f"{t.errors} failed calls" if t.errors else ""),
        }
        for t in stack.tiers
    ]
    formatting.table(pd.DataFrame(rows), key=key)
    checks = stack.tier("checks")
    st.caption(
        f"Unit checks: check run {checks.run_id} (cases passing every check of the manifest; cost 0)"
        if checks.run_id is not None
        else "Unit checks: none run yet (`review-desk eval run --release NAME`)"
    )


def component_diff(diff) -> None:
    st.caption(f"What changes from {diff.old} to {diff.new}, per component.")
    for part in diff.components:
        with st.expander(
            f"{part.component}: {part.summary}", expanded=part.changed and part.component == "prompts"
        ):
            if part.text_diff:
                # plain: the diff highlighter greys unchanged lines below 4.5:1 contrast (axe-core)
                st.code(part.text_diff, language=None)
            elif part.changes:
                frame = pd.DataFrame([c.to_json() for c in part.changes]).astype(str)
                formatting.table(frame)
            else:
                st.caption("unchanged")


def run_action(label: str, action: Callable[[], object]) -> None:
    """Callback body: call one facade method; remember its outcome (the store's refusal as it is)."""
    try:
        action()
    except ReviewStoreError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    st.session_state[FLASH] = ("success", label)


def show_flash() -> None:
    """The outcome of the action that triggered this run, once."""
    kind, message = st.session_state.pop(FLASH, (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)


CONFIRM = "rel_confirm"  # the action waiting for confirmation: (title, question, label, done_label)


def ask(title: str, question: str, label: str, done: str, action: Callable[[], object]) -> None:
    """Callback of an action button: nothing happens yet, the page opens a confirmation dialog."""
    st.session_state[CONFIRM] = (title, question, label, done, action)


def _confirmed() -> None:
    _title, _question, _label, done, action = st.session_state.pop(CONFIRM)
    run_action(done, action)


def _dismissed() -> None:
    st.session_state.pop(CONFIRM, None)


def confirmation() -> None:
    """The dialog for the action waiting to be confirmed, if any: Confirm runs it (then the page shows the
    committed outcome), Cancel or closing the dialog drops it and nothing changes."""
    if CONFIRM not in st.session_state:
        return
    title, question, label, _done, _action = st.session_state[CONFIRM]

    def body() -> None:  # a fragment: a click reruns only the dialog, so the whole page is rerun after it
        st.markdown(question)
        left, right = st.columns(2)
        if left.button(label, type="primary", key="rel_confirm_yes"):
            _confirmed()
            st.rerun()
        if right.button("Cancel", key="rel_confirm_no"):
            _dismissed()
            st.rerun()

    st.dialog(title, on_dismiss=_dismissed)(body)()


def proof_downloads(desk, *, actor, name: str, can_bundle: bool) -> None:
    """Release notes (Markdown) and, for those who may read the audit, the signed proof bundle. Both are
    generated on click (deferred), so drawing the page costs nothing extra."""
    left, right = st.columns(2)
    left.download_button(
        "Download release notes (Markdown)",
        lambda: desk.releases.notes(name),
        file_name=f"release-notes-{name}.md",
        mime="text/markdown",
        key="rel_notes_md",
        on_click="ignore",
    )
    if can_bundle:
        right.download_button(
            "Download proof bundle",
            lambda: desk.releases.bundle(actor=actor, release=name).text,
            file_name=f"{name}.bundle",
            mime="application/json",
            key="rel_bundle",
            on_click="ignore",
            help="Signed; check it anywhere with `review-desk release verify-bundle FILE`.",
        )
