"""Releases: manifests, diffs, eval evidence, the versioned gate policy, four-eyes sign-off, rollout.

The package is split by concern, and the modules import downwards only:

    manifests      parse, validate, hash and diff manifests (pure functions)
    gate           the versioned gate policy and the gate rule (evidence vs thresholds, judge trust)
    catalog        releases as records: get, create, list, diff, eval runs, a release's gate
    signoff        `sign_off_blockers` (THE sign-off rule), approve, reject, approvals
    serving        what is serving: canary stage, live and known-good releases (read-only)
    deployments    promote through canary stages, health check, rollback, timeline
    rollback_rule  is the live release worse than known-good, as rates over a window (read-only)
    watch          the rule's verdict driving the rollout (rule-decided health check, auto rollback)
    bundle_check   the proof bundle's format and its offline check (hashes, ed25519 signature, pinned key)
    bundle         collect a release's proof sections from the modules above, checkpoint the chain, sign
    notes          release notes in Markdown from the bundle's sections

Every rule is enforced here, whatever the UI shows: only owners sign off, never the release's author;
approval needs a passing gate or a written override (recorded as an exception); an approval carries the
hash of the evidence it was given, so a release whose evidence changed afterwards cannot be promoted on
the old approval. The facade (`review_store.desk.releases`) is the door the UI and the CLI use.
"""

from __future__ import annotations

from review_store.releases.catalog import (
    create_release,
    diff_releases,
    eval_runs,
    gate,
    get_release,
    list_releases,
    record_eval_run,
)
from review_store.releases.gate import (
    OPS,
    GateResult,
    GateRow,
    create_gate_policy,
    current_gate_policy,
    normalize_metrics,
    parse_eval_json,
)
from review_store.releases.signoff import (
    SIGNABLE,
    Blocker,
    approvals,
    approve_release,
    latest_approval,
    reject_release,
    sign_off_blockers,
)

__all__ = [
    "OPS",
    "SIGNABLE",
    "Blocker",
    "GateResult",
    "GateRow",
    "approvals",
    "approve_release",
    "create_gate_policy",
    "create_release",
    "current_gate_policy",
    "diff_releases",
    "eval_runs",
    "gate",
    "get_release",
    "latest_approval",
    "list_releases",
    "normalize_metrics",
    "parse_eval_json",
    "record_eval_run",
    "reject_release",
    "sign_off_blockers",
]
