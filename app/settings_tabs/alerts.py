"""Settings > Alerts (leads and admins): the alert rules, add one, edit one, enable or disable, recent
deliveries.
Everything goes through desk.alerts; `review-desk alerts check` (cron) evaluates and notifies."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app import formatting, session, state
from review_store.desk import Actor, ReviewStoreError


def render(actor: Actor) -> None:
    desk = session.desk()
    _flash()
    try:
        rules = desk.alerts.list(actor=actor)
        deliveries = desk.alerts.deliveries(actor=actor, limit=50)
    except ReviewStoreError as exc:
        st.error(str(exc))
        return
    st.caption(
        "Rules are evaluated by `review-desk alerts check` (run it from cron); a subject is notified once "
        "while it keeps firing, a rule at most once per cooldown, each delivery retried and recorded."
    )
    if rules:
        formatting.table(
            pd.DataFrame(
                [
                    {
                        "name": r.name,
                        "kind": r.kind,
                        "enabled": r.enabled,
                        "format": r.payload_format,
                        "cooldown (min)": r.cooldown_minutes,
                        "webhook": r.webhook_url,
                        "params": r.params,
                        "firing": ", ".join(r.firing),
                    }
                    for r in rules
                ]
            ),
            key="alerts_rules",
        )
    else:
        st.info("No alert rules yet.")
    _add_form(actor, desk)
    _edit_form(actor, rules)
    _toggle(actor, rules)
    st.subheader("Recent deliveries")
    if deliveries:
        formatting.table(
            pd.DataFrame(
                [
                    {
                        "time (UTC)": d.attempted_at,
                        "rule": d.rule,
                        "try": d.attempt,
                        "delivered": d.ok,
                        "status": d.status_code,
                        "subjects": ", ".join(d.subjects),
                        "error": d.error,
                    }
                    for d in deliveries
                ]
            ),
            key="alerts_deliveries",
        )
    else:
        st.caption("No deliveries yet.")


def _flash() -> None:
    kind, text = st.session_state.pop(state.ALERTS_FLASH, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def _add_form(actor: Actor, desk) -> None:
    st.subheader("Add a rule")
    kinds = {k.kind: k for k in desk.alerts.kinds()}
    with st.form("alerts_add", clear_on_submit=False):
        name = st.text_input("Name", key="alerts_name", max_chars=120)
        kind = st.selectbox(
            "Kind", list(kinds), key="alerts_kind", format_func=lambda k: f"{k}: {kinds[k].description}"
        )
        url = st.text_input("Webhook URL (http:// or https://)", key="alerts_url", max_chars=500)
        payload_format = st.selectbox("Payload", ["json", "slack"], key="alerts_format")
        cooldown = st.number_input(
            "Cooldown (minutes)", min_value=0, max_value=10080, value=60, key="alerts_cooldown"
        )
        params_text = st.text_input(
            "Parameters (JSON; guardrail_anomaly: days, segment · drift_act: release · budget: trigger)",
            value="{}",
            key="alerts_params",
        )
        submitted = st.form_submit_button("Add rule")
    if not submitted:
        return
    params = _params(params_text)
    try:
        rule = desk.alerts.add(
            actor=actor,
            name=name,
            kind=kind,
            webhook_url=url,
            params=params,
            payload_format=payload_format,
            cooldown_minutes=int(cooldown),
        )
    except ReviewStoreError as exc:
        st.session_state[state.ALERTS_FLASH] = ("error", str(exc))
    else:
        st.session_state[state.ALERTS_FLASH] = ("success", f"Added alert rule {rule.name} ({rule.kind}).")
    st.rerun()


def _params(text: str) -> dict:
    """The form's parameters as JSON; not JSON: the error is flashed and the page reruns."""
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        st.session_state[state.ALERTS_FLASH] = (
            "error",
            f"params: not JSON ({exc.msg} at column {exc.colno})",
        )
        st.rerun()


def _edit_form(actor: Actor, rules) -> None:
    st.subheader("Edit a rule")
    if not rules:
        st.caption("No rules to edit.")
        return
    by_name = {r.name: r for r in rules}
    rule = by_name[st.selectbox("Rule to edit", list(by_name), key="alerts_edit_rule")]
    # the widgets' keys follow the stored values, so after a save the form shows what was stored
    version = (
        f"{rule.id}_{abs(hash((rule.webhook_url, rule.payload_format, rule.cooldown_minutes, rule.params)))}"
    )
    with st.form("alerts_edit", clear_on_submit=False):
        url = st.text_input(
            "Rule's webhook URL", value=rule.webhook_url, max_chars=500, key=f"alerts_edit_url_{version}"
        )
        formats = ["json", "slack"]
        payload_format = st.selectbox(
            "Rule's payload",
            formats,
            index=formats.index(rule.payload_format),
            key=f"alerts_edit_format_{version}",
        )
        cooldown = st.number_input(
            "Rule's cooldown (minutes)", min_value=0, max_value=10080, value=rule.cooldown_minutes,
            key=f"alerts_edit_cooldown_{version}",
        )  # fmt: skip
        params_text = st.text_input(
            f"Rule's parameters, its thresholds (JSON, replaces them; {rule.kind})",
            value=rule.params,
            key=f"alerts_edit_params_{version}",
        )
        submitted = st.form_submit_button("Save changes")
    if not submitted:
        return
    params = _params(params_text)
    try:
        edited = session.desk().alerts.edit(
            actor=actor,
            name=rule.name,
            params=params,
            webhook_url=url,
            cooldown_minutes=int(cooldown),
            payload_format=payload_format,
        )
    except ReviewStoreError as exc:
        st.session_state[state.ALERTS_FLASH] = ("error", str(exc))
    else:
        note = " (audited)." if edited.changes else "."
        st.session_state[state.ALERTS_FLASH] = ("success", f"Saved {edited.summary()}{note}")
    st.rerun()


def _toggle(actor: Actor, rules) -> None:
    st.subheader("Enable or disable")
    if not rules:
        st.caption("No rules to change.")
        return
    enabled = {r.name: r.enabled for r in rules}
    name = st.selectbox(
        "Rule", list(enabled), key="alerts_toggle_rule",
        format_func=lambda n: f"{n} ({'enabled' if enabled[n] else 'disabled'})",
    )  # fmt: skip
    label = "Disable" if enabled[name] else "Enable"
    if st.button(label, key="alerts_toggle"):
        try:
            session.desk().alerts.set_enabled(actor=actor, name=name, enabled=not enabled[name])
        except ReviewStoreError as exc:
            st.session_state[state.ALERTS_FLASH] = ("error", str(exc))
        else:
            st.session_state[state.ALERTS_FLASH] = ("success", f"{label}d {name}.")
        st.rerun()
