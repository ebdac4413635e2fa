"""Releases: candidate vs known-good, evidence vs thresholds, four-eyes sign-off, canary, rollback."""

import pandas as pd
import streamlit as st

from app import release_widgets, session, widgets
from review_store import releases
from review_store.db import read_session, session_scope
from review_store.releases import deployments, rollback_rule

actor = session.require_actor()
engine = session.engine()
st.title("Releases")


def _load(name: str | None) -> dict:
    with read_session(engine) as db:
        listing = releases.list_releases(db)
        name = name or next((r["name"] for r in listing if r["status"] == "candidate"), None)
        name = name or (listing[0]["name"] if listing else None)
        good, live = deployments.known_good_release(db), deployments.live_release(db)
        data = {
            "listing": listing,
            "known_good": good.name if good else None,
            "live": live.name if live else None,
            "rule": rollback_rule.evaluate(db).as_dict(),
        }
        if name:
            row = releases.get_release(db, name=name)
            base = data["known_good"] if data["known_good"] != name else None
            data.update(
                name=name,
                status=row.status,
                stage=deployments.current_stage(db, release_id=row.id),
                gate=releases.gate(db, release=name).as_dict(),
                diff=[d.as_dict() for d in releases.diff_releases(db, a=base, b=name)] if base else [],
                blocker=releases.sign_off_blocker(db, actor=actor, release=name),
                approvals=releases.approvals(db, release=name),
                timeline=deployments.timeline(db, release=name),
            )
    return data


first = _load(st.session_state.get("rel_name"))
names = [r["name"] for r in first["listing"]]
if not names:
    st.info("No releases yet: `review-desk release create --manifest FILE --as USER`.")
    st.stop()
name = st.selectbox("Release", names, index=names.index(first["name"]), key="rel_name")
data = first if name == first["name"] else _load(name)
st.caption(f"Live: **{data['live']}** · known-good: **{data['known_good']}**")
widgets.table_with_download(pd.DataFrame(data["listing"]), key="rel_list", file_name="releases.csv")

rule = data["rule"]
(st.warning if rule["flagged"] else st.info)(f"Rollback rule ({rule['mode']}): {rule['summary']}")

st.subheader(f"{name} · {data['status']}" + (f" · {data['stage']} %" if data["stage"] else ""))
if data["diff"]:
    release_widgets.component_diff(data["diff"], old=data["known_good"], new=name)
st.markdown("**Evidence vs thresholds**")
release_widgets.gate_table(data["gate"], key="rel_gate")

st.markdown("**Sign-off**")
comment = st.text_area("Comment (required)", key="rel_comment")
override = ""
if not data["gate"]["passed"]:
    override = st.text_input(
        "Override reason (approving a failing gate is recorded as an exception)", key="rel_override"
    )
reason = data["blocker"]
if reason is None and not data["gate"]["passed"] and not override.strip():
    reason = "the gate fails: approving needs an override reason, recorded as an exception"
left, right = st.columns(2)
approve = left.button("Approve", type="primary", disabled=reason is not None, help=reason, key="rel_approve")
reject = right.button("Reject", disabled=data["blocker"] is not None, help=data["blocker"], key="rel_reject")
if reason:
    st.caption(f"Approve is disabled: {reason}")
if approve or reject:
    with session_scope(engine) as db:
        if release_widgets.run_action(
            f"{name} {'approved' if approve else 'rejected'}",
            lambda: (
                releases.approve_release(
                    db,
                    actor=actor,
                    release=name,
                    comment=comment,
                    override_reason=override or None,
                    seen_evidence_hash=data["gate"]["evidence_hash"],
                )
                if approve
                else releases.reject_release(db, actor=actor, release=name, comment=comment)
            ),
        ):
            data = _load(name)
if data["approvals"]:
    st.dataframe(pd.DataFrame(data["approvals"]), hide_index=True, width="stretch")

st.markdown("**Deploy**")
can_deploy = actor.can("deploy_release")
cols = st.columns(3)
if cols[0].button("Promote to next stage", disabled=not can_deploy, key="rel_promote"):
    with session_scope(engine) as db:
        release_widgets.run_action(
            "promoted", lambda: deployments.promote_release(db, actor=actor, release=name)
        )
    data = _load(name)
if cols[1].button("Health check", disabled=not can_deploy, key="rel_health"):
    with session_scope(engine) as db:
        release_widgets.run_action(
            "health check recorded", lambda: deployments.health_check(db, actor=actor, release=name)
        )
    data = _load(name)
if cols[2].button("Roll back to known-good", disabled=not can_deploy, key="rel_rollback"):
    with session_scope(engine) as db:
        release_widgets.run_action(
            "rolled back", lambda: deployments.rollback(db, actor=actor, reason=rule["summary"])
        )
    data = _load(name)
st.caption(f"Stage now: {data['stage']} % of traffic · status {data['status']}")

st.markdown("**Timeline**")
timeline = pd.DataFrame(data["timeline"])
if not timeline.empty:
    timeline["detail"] = timeline["detail"].astype(str)
widgets.table_with_download(timeline, key="rel_timeline", file_name=f"timeline-{name}.csv", filter_text=False)
