"""Releases: candidate vs known-good, evidence vs thresholds, four-eyes sign-off, canary, rollback."""

import pandas as pd
import streamlit as st

from app import formatting, release_widgets, session, widgets

actor = session.require_actor()
desk = session.desk()
st.title("Releases")

# Actions run in callbacks (before this rerun) through the facade; everything below reads committed state.
board = desk.releases.board(
    actor=actor,
    release=st.session_state.get("rel_name"),
    override_reason=st.session_state.get("rel_override") or None,
)
names = list(board.listing.names)
if board.release is None:
    st.info("No releases yet: `review-desk release create --manifest FILE --as USER`.")
    st.stop()
release, gate, sign_off = board.release, board.gate, board.sign_off
name = st.selectbox("Release", names, index=names.index(release.name), key="rel_name")
st.caption(f"Live: **{board.listing.live}** · known-good: **{board.listing.known_good}**")
listing = pd.DataFrame([r.model_dump() for r in board.listing.releases])
widgets.table_with_download(listing, key="rel_list", file_name="releases.csv")

rule = board.rule
(st.warning if rule.flagged else st.info)(f"Rollback rule ({rule.mode}): {rule.summary}")
release_widgets.show_flash()

st.subheader(f"{name} · {release.status}" + (f" · {release.stage_pct} %" if release.stage_pct else ""))
if board.diff is not None:
    release_widgets.component_diff(board.diff)
st.markdown("**Evidence vs thresholds**")
release_widgets.gate_table(gate, key="rel_gate")
st.markdown("**Shadow run** (pairwise review: A/B blind, candidate against the release it shadowed)")
release_widgets.shadow_run(desk.pairwise.for_release(name), key="rel_pairwise")
st.markdown("**Eval stack** (unit checks → judge → human)")
release_widgets.eval_stack(desk.evals.stack(name), key="rel_eval_stack")
release_widgets.proof_downloads(desk, actor=actor, name=name, can_bundle=board.can_bundle)


def _approve() -> None:
    override = st.session_state.get("rel_override") or None

    def act() -> object:
        return desk.releases.approve(
            actor=actor,
            release=name,
            comment=st.session_state.get("rel_comment", ""),
            override_reason=override,
            seen_evidence_hash=gate.evidence_hash,
        )

    if gate.passed or override is None:  # the store refuses a failing gate without a reason: no dialog
        release_widgets.run_action(f"{name} approved", act)
        return
    release_widgets.ask(
        "Approve over a failing gate?",
        f"**{name}** fails its gate. Approving it is recorded as an exception with your reason:\n\n"
        f"> {override}",
        "Approve as exception",
        f"{name} approved as an exception",
        act,
    )


def _reject() -> None:
    release_widgets.run_action(
        f"{name} rejected",
        lambda: desk.releases.reject(
            actor=actor, release=name, comment=st.session_state.get("rel_comment", "")
        ),
    )


st.markdown("**Sign-off**")
st.text_area("Comment (required)", key="rel_comment")
if not gate.passed and release.status == "candidate":
    st.text_input(
        "Override reason (approving a failing gate is recorded as an exception)", key="rel_override"
    )
left, right = st.columns(2)
left.button(
    "Approve",
    type="primary",
    disabled=not sign_off.can_approve,
    help=sign_off.approve_reason,
    key="rel_approve",
    on_click=_approve,
)
right.button(
    "Reject",
    disabled=not sign_off.can_reject,
    help=sign_off.reject_reason,
    key="rel_reject",
    on_click=_reject,
)
if sign_off.approve_reason:
    st.caption(f"Approve is disabled: {sign_off.approve_reason}")
if board.approvals:
    approvals = pd.DataFrame([a.model_dump() for a in board.approvals]).drop(columns=["release"])
    formatting.table(approvals, key="rel_approvals")

st.markdown("**Deploy**")
cols = st.columns(3)
disabled = not board.can_deploy
cols[0].button(
    "Promote to next stage",
    disabled=disabled,
    key="rel_promote",
    on_click=release_widgets.ask,
    args=(
        f"Promote {name}?",
        f"Move **{name}** to the next canary stage (now {release.stage_pct} % of traffic, "
        f"status {release.status}).",
        "Promote",
        "promoted",
        lambda: desk.releases.promote(actor=actor, release=name),
    ),
)
cols[1].button(
    "Health check",
    disabled=disabled,
    key="rel_health",
    on_click=release_widgets.run_action,
    args=("health check recorded", lambda: desk.releases.health_check(actor=actor, release=name)),
)
cols[2].button(
    "Roll back to known-good",
    disabled=disabled,
    key="rel_rollback",
    on_click=release_widgets.ask,
    args=(
        "Roll back?",
        f"Serve the known-good release **{board.listing.known_good}** again instead of "
        f"**{board.listing.live}**. Reason recorded: {rule.summary}",
        "Roll back",
        "rolled back",
        lambda: desk.releases.rollback(actor=actor, reason=rule.summary),
    ),
)
release_widgets.confirmation()
st.caption(f"Stage now: {release.stage_pct} % of traffic · status {release.status}")

st.markdown("**Timeline**")
timeline = pd.DataFrame([t.model_dump() for t in board.timeline])
widgets.table_with_download(timeline, key="rel_timeline", file_name=f"timeline-{name}.csv", filter_text=False)
