"""Read models of desk.releases (built from store rows by `release_builders`).

Every model is frozen and holds tuples; manifests cross the boundary as canonical JSON text (the exact
bytes their hash covers), changed values as scalars or canonical JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from review_store.desk.base import ReadModel

Scalar = str | int | float | bool | None


class ReleaseSummary(ReadModel):
    name: str
    status: str
    author: str
    created_at: datetime
    manifest_hash: str
    prompt_version: str


class ReleaseList(ReadModel):
    """Every release, newest first, and what serves traffic now."""

    releases: tuple[ReleaseSummary, ...]
    live: str | None
    known_good: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.releases)


class PromptHash(ReadModel):
    name: str
    sha256: str


class ReleaseDetail(ReadModel):
    name: str
    status: str
    author: str
    parent: str | None
    notes: str | None
    created_at: datetime
    manifest_hash: str
    manifest_json: str  # canonical JSON of the manifest: sha256 of it is manifest_hash
    prompt_hashes: tuple[PromptHash, ...]
    warnings: tuple[str, ...]  # unpinned model aliases
    stage_pct: int  # highest canary stage reached (0 before the first)


class FieldChange(ReadModel):
    field: str
    old: Scalar
    new: Scalar


class ComponentChange(ReadModel):
    component: str
    changed: bool
    summary: str
    changes: tuple[FieldChange, ...]
    text_diff: str


class ReleaseDiff(ReadModel):
    old: str
    new: str
    components: tuple[ComponentChange, ...]


class EvalMetric(ReadModel):
    name: str
    value: float
    judge: str | None
    question: str | None
    segment: str | None


class EvalRunView(ReadModel):
    id: int
    release: str
    golden_set_version: str
    source: str
    created_by: str
    created_at: datetime
    metrics: tuple[EvalMetric, ...]


class GateRowView(ReadModel):
    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    result: Literal["pass", "fail"]
    judge: str | None
    question: str | None
    segment: str | None
    judge_trusted: bool | None
    note: str


class GateView(ReadModel):
    """A release's latest evidence against the newest gate policy; `evidence_hash` is what an approval
    records (and what the approver must have seen)."""

    release: str
    passed: bool
    policy_version: int | None
    eval_run_id: int | None
    evidence_hash: str
    rows: tuple[GateRowView, ...]

    @property
    def failing(self) -> tuple[GateRowView, ...]:
        return tuple(r for r in self.rows if not r.passed)


class Threshold(ReadModel):
    metric: str
    op: str
    threshold: float


class GatePolicyView(ReadModel):
    version: int
    thresholds: tuple[Threshold, ...]
    content_hash: str
    created_by: str
    created_at: datetime


class SignOffBlocker(ReadModel):
    rule: str  # role | author | status | comment | evidence | gate
    message: str


class SignOffStatus(ReadModel):
    """What `sign_off_blockers` says about this actor signing off this release now."""

    release: str
    actor: str
    can_approve: bool
    can_reject: bool
    approve_blockers: tuple[SignOffBlocker, ...]
    reject_blockers: tuple[SignOffBlocker, ...]

    @property
    def approve_reason(self) -> str | None:
        return self.approve_blockers[0].message if self.approve_blockers else None

    @property
    def reject_reason(self) -> str | None:
        return self.reject_blockers[0].message if self.reject_blockers else None


class ApprovalView(ReadModel):
    release: str
    approver: str
    decision: str  # approved | rejected
    comment: str
    exception: bool  # approved over a failing gate, with an override reason
    override_reason: str | None
    evidence_hash: str
    created_at: datetime


class DeploymentStepView(ReadModel):
    release: str
    kind: str  # canary | health_check | rollback
    stage_pct: int
    healthy: bool | None
    known_good: bool
    actor: str
    note: str | None
    created_at: datetime


class RollbackView(ReadModel):
    live: str  # the known-good release, serving again
    manifest_hash: str
    rolled_back: tuple[str, ...]


class TimelineEntry(ReadModel):
    ts: datetime
    source: str  # audit | deployment
    seq: int | None
    actor: str
    what: str
    detail: str


class RuleCheckView(ReadModel):
    metric: str
    live: float | None
    baseline: float | None
    ratio: float | None
    max_ratio: float
    flagged: bool
    p_value: float | None
    note: str


class RuleWindowSide(ReadModel):
    start: datetime
    end: datetime
    traces: int


class RuleWindow(ReadModel):
    hours: float
    live: RuleWindowSide
    baseline: RuleWindowSide


class RuleStatusView(ReadModel):
    """The rollback rule's verdict on the live release against the known-good baseline."""

    mode: str  # suggest | auto
    live: str | None
    baseline: str | None
    window: RuleWindow | None
    flagged: bool
    summary: str
    action: str  # none | suggest_rollback | rolled_back
    checks: tuple[RuleCheckView, ...]


class ReleaseBoard(ReadModel):
    """Everything the Releases page shows, read in one snapshot so every section agrees."""

    listing: ReleaseList
    rule: RuleStatusView
    release: ReleaseDetail | None
    gate: GateView | None
    diff: ReleaseDiff | None  # against the known-good release (None when it is the known-good one)
    sign_off: SignOffStatus | None
    approvals: tuple[ApprovalView, ...]
    timeline: tuple[TimelineEntry, ...]
    can_deploy: bool
    can_bundle: bool = False  # may download the signed proof bundle (it carries audit events)


class RoutedRelease(ReadModel):
    name: str
    status: str
    manifest_hash: str
    traffic_pct: int  # share of traffic this release should get now


class Routing(ReadModel):
    """What the serving layer should route to now: the live release and, during a canary, the candidate
    with its share. After a rollback `live` is the known-good release again (a pointer flip)."""

    live: RoutedRelease | None
    canary: RoutedRelease | None
    known_good: str | None
