"""Release notes in Markdown, written from the proof bundle's own sections (releases.bundle.collect).

One source of facts: the notes say what the bundle proves (changes against known-good, gate rows, the
dataset hash, judge trust, sign-offs, where a rollback goes), so the two cannot disagree. Text that
users or manifests supply (comments, prompts, change values) is put in code spans or a fenced block, so
it reads as data, not as Markdown.
"""

from __future__ import annotations

import json
from typing import Any


def _code(value: Any) -> str:
    """An inline code span that survives backticks inside the value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    ticks = 1
    while "`" * ticks in text:
        ticks += 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _num(value: Any) -> str:
    return "—" if value is None else (f"{value:g}" if isinstance(value, int | float) else str(value))


def _changes(diff: dict[str, Any]) -> list[str]:
    if diff.get("against") is None:
        return ["## Changes", "", f"No comparison: {diff.get('reason') or 'no known-good release'}.", ""]
    lines = ["## Changes against known-good " + _code(diff["against"]), ""]
    changed = [c for c in diff.get("components", []) if c.get("changed")]
    if not changed:
        lines.append("No component changed.")
    for part in changed:
        lines.append(f"- **{part['component']}**")
        for change in part.get("changes", []):
            if part["component"] == "prompts":
                lines.append(f"  - {_code(change['field'])} changed")
            else:
                lines.append(
                    f"  - {_code(change['field'])}: {_code(change.get('from'))} → {_code(change.get('to'))}"
                )
    prompt_diff = "".join(c.get("text_diff", "") for c in changed if c["component"] == "prompts")
    if prompt_diff:
        lines += ["", "```diff", prompt_diff.replace("```", "` ` `").rstrip("\n"), "```"]
    return lines + [""]


def _gate(evals: dict[str, Any]) -> list[str]:
    gate = evals.get("gate") or {}
    verdict = "PASS" if gate.get("passed") else "FAIL"
    policy = gate.get("policy_version")
    lines = [
        "## Gate results",
        "",
        f"**{verdict}** against gate policy v{_num(policy)} · evidence hash {_code(gate.get('evidence_hash'))}",
        f"· dataset (golden set) hash {_code(evals.get('dataset_hash') or 'none recorded')}",
        "",
    ]
    now = evals.get("golden_set_hash_now")
    if evals.get("dataset_hash") and now and now != evals.get("dataset_hash"):
        lines += [f"The golden set today hashes differently ({_code(now[:12])}): the evaluation ran on "
                  "another version.", ""]  # fmt: skip
    tier1 = evals.get("tier1_check_run")
    if tier1:
        lines += [
            f"Tier-1 checks (run {tier1['id']}): {tier1['n_cases_passed']} of {tier1['n_cases']} cases pass "
            f"every check, {tier1['n_results_failed']} failed results, dataset hash "
            f"{_code(tier1['dataset_hash'] or 'none')}.",
            "",
        ]
    rows = gate.get("rows") or []
    if not rows:
        lines += ["No gate rows: no policy or no eval run.", ""]
        return lines
    lines += ["| metric | op | threshold | value | result | note |", "|---|---|---|---|---|---|"]
    for row in rows:
        note = (row.get("note") or "").replace("|", "\\|")
        lines.append(
            f"| {row['metric']} | {row['op']} | {_num(row['threshold'])} | {_num(row.get('value'))} "
            f"| {row.get('result', 'fail')} | {note} |"
        )
    return lines + [""]


def _trust(trust: dict[str, Any]) -> list[str]:
    rows = trust.get("questions") or []
    if not rows:
        return ["## Judge trust", "", "No judge-scored evidence.", ""]
    lines = ["## Judge trust", "", "| judge | question | segment | verdict | alpha (95% CI) | items |"]
    lines.append("|---|---|---|---|---|---|")
    for row in rows:
        ci = f"{_num(row.get('alpha'))} ({_num(row.get('ci_low'))}–{_num(row.get('ci_high'))})"
        lines.append(
            f"| {row['judge']} | {row['question']} | {row.get('segment') or 'all'} | {row['verdict']} "
            f"| {ci} | {row.get('n_items')} |"
        )
    return lines + [""]


def _approvals(approvals: dict[str, Any]) -> list[str]:
    rows = approvals.get("approvals") or []
    lines = ["## Sign-off", ""]
    if not rows:
        return lines + ["Not signed off yet.", ""]
    for row in rows:
        stale = "" if row.get("evidence_current") else " (evidence changed since)"
        exception = f" as an exception: {_code(row.get('override_reason'))}" if row.get("exception") else ""
        lines.append(
            f"- {row['decision']} by **{row['approver']}** on {row['created_at'][:10]}{exception}; "
            f"evidence {_code(row['evidence_hash'][:12])}{stale}: {_code(row.get('comment') or '')}"
        )
    return lines + [""]


def _rollback(rollback: dict[str, Any]) -> list[str]:
    def name(ref: dict[str, Any] | None) -> str:
        return _code(ref["release"]) if ref else "none"

    return [
        "## Rollout",
        "",
        f"Live: {name(rollback.get('live'))} · known-good: {name(rollback.get('known_good'))} "
        f"· a rollback would route to {name(rollback.get('rollback_to'))}.",
        "",
    ]


def release_notes(sections: dict[str, Any]) -> str:
    """Markdown notes for one release from `bundle.collect` output (or a bundle's parsed sections)."""
    man = sections["manifest"]
    lines = [f"# Release {man['release']}", ""]
    meta = (
        f"Status **{man['status']}** · author {man['author']} · manifest {_code(man['manifest_hash'][:12])}"
    )
    lines += [meta + (f" · parent {_code(man['parent'])}" if man.get("parent") else ""), ""]
    if man.get("notes"):
        lines += [f"Notes: {_code(man['notes'])}", ""]
    if man.get("warnings"):
        lines += [f"- warning: {_code(w)}" for w in man["warnings"]] + [""]
    lines += _changes(sections["diff"])
    lines += _gate(sections["evals"])
    lines += _trust(sections["trust"])
    lines += _approvals(sections["approvals"])
    lines += _rollback(sections["rollback"])
    events = sections["audit_events"]["events"]
    lines += ["## Audit", "", f"{len(events)} audit events about this release"]
    if events:
        lines[-1] += f", seq {events[0]['seq']} to {events[-1]['seq']}."
    return "\n".join(lines).rstrip() + "\n"
