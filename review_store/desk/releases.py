"""desk.releases: the Releases page and `review-desk release ...` through one door.

Every method owns its transaction; state changes re-read the actor from the database. Sign-off refusals
come from `releases.signoff.sign_off_blockers` (the one rule), trust from `judge_trust` (per segment),
hashes from `hashing.content_hash`. After an action, callers re-read (`board`, `get`, `gate`, ...):
nothing returned here is bound to a session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from review_store.desk import release_builders as build
from review_store.desk import release_views as views
from review_store.desk.base import Part, read_text_file
from review_store.desk.release_bundles import BundleMethods
from review_store.errors import ValidationFailed
from review_store.permissions import SYSTEM, Actor, refresh_actor
from review_store.releases import (
    catalog,
    deployments,
    manifests,
    rollback_rule,
    serving,
    signoff,
    watch,
)
from review_store.releases.gate import (
    GateResult,
    create_gate_policy,
    current_gate_policy,
    parse_eval_json,
    parse_thresholds,
)
from review_store.releases.manifests import ComponentDiff


def _detail(session: Session, name: str) -> views.ReleaseDetail:
    row = catalog.get_release(session, name=name)
    parent = session.get(type(row), row.parent_id) if row.parent_id else None
    return build.detail(
        row,
        author=catalog.author_of(session, row),
        parent=parent.name if parent else None,
        stage_pct=serving.current_stage(session, release_id=row.id),
    )


def _listing(session: Session) -> views.ReleaseList:
    live, good = serving.live_release(session), serving.known_good_release(session)
    return views.ReleaseList(
        releases=tuple(build.summary(r, author) for r, author in catalog.list_releases(session)),
        live=live.name if live else None,
        known_good=good.name if good else None,
    )


def _diff_vs_known_good(session: Session, name: str) -> views.ReleaseDiff | None:
    good = serving.known_good_release(session)
    if good is None or good.name == name:
        return None
    parts: list[ComponentDiff] = catalog.diff_releases(session, a=good.name, b=name)
    return build.diff(good.name, name, parts)


def _sign_off(
    session: Session, actor: Actor, name: str, override_reason: str | None, result: GateResult
) -> views.SignOffStatus:
    common: dict[str, Any] = {"session": session, "actor": actor, "release": name}
    approve = signoff.sign_off_blockers(
        **common, decision="approve", override_reason=override_reason, gate_result=result
    )
    reject = signoff.sign_off_blockers(**common, decision="reject")
    return build.sign_off(name, actor.username, approve, reject)


def _approvals(session: Session, name: str) -> tuple[views.ApprovalView, ...]:
    return tuple(
        build.approval(a, release=name, approver=who) for a, who in signoff.approvals(session, release=name)
    )


class ReleasesPart(BundleMethods, Part):
    """Releases; proof bundles and notes come from `BundleMethods` (desk/release_bundles.py)."""

    # --- reading -------------------------------------------------------------------------------------

    def list(self) -> views.ReleaseList:
        """Every release (newest first) with its author and status, and the live and known-good names."""
        with self._read() as session:
            return _listing(session)

    def get(self, name: str) -> views.ReleaseDetail:
        """One release: status, author, manifest (canonical JSON) and hashes, canary stage. NotFound."""
        with self._read() as session:
            return _detail(session, name)

    def diff(self, *, old: str, new: str) -> views.ReleaseDiff:
        """What changes from release `old` to `new`, per manifest component (prompts as a text diff)."""
        with self._read() as session:
            return build.diff(old, new, catalog.diff_releases(session, a=old, b=new))

    def diff_vs_known_good(self, name: str) -> views.ReleaseDiff | None:
        """The release against the last known-good one; None when there is none or it is that release."""
        with self._read() as session:
            catalog.get_release(session, name=name)
            return _diff_vs_known_good(session, name)

    def eval_runs(self, release: str) -> tuple[views.EvalRunView, ...]:
        """The release's eval runs, oldest first (the newest is the gate's evidence)."""
        with self._read() as session:
            return tuple(
                build.eval_run(r, release=release) for r in catalog.eval_runs(session, release=release)
            )

    def gate(self, release: str) -> views.GateView:
        """Evidence vs the newest gate policy, one row per threshold; judge-scored rows count only when
        the judge is trusted for that question (in the metric's segment when it has one)."""
        with self._read() as session:
            return build.gate(catalog.gate(session, release=release))

    def gate_policy(self) -> views.GatePolicyView | None:
        """The newest gate policy version, or None before the first."""
        with self._read() as session:
            row = current_gate_policy(session)
            return build.policy(row) if row is not None else None

    def sign_off_status(
        self, *, actor: Actor, release: str, override_reason: str | None = None
    ) -> views.SignOffStatus:
        """May `actor` approve / reject `release` now, and if not, why (the store's own rule)."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            return _sign_off(session, who, release, override_reason, catalog.gate(session, release=release))

    def approvals(self, release: str) -> tuple[views.ApprovalView, ...]:
        """The release's sign-offs, oldest first."""
        with self._read() as session:
            return _approvals(session, release)

    def timeline(self, release: str) -> tuple[views.TimelineEntry, ...]:
        """The release's history, oldest first: its audit events and deployment steps."""
        with self._read() as session:
            return build.timeline(deployments.timeline(session, release=release))

    def routing(self) -> views.Routing:
        """Where traffic goes now: the live release, a deploying canary and its share, the known-good name."""
        with self._read() as session:
            return _routing(session)

    def rollback_rule(self) -> views.RuleStatusView:
        """The rollback rule's verdict on the live release against the known-good one (reads only)."""
        with self._read() as session:
            return build.rule(rollback_rule.evaluate(session))

    def board(
        self, *, actor: Actor, release: str | None = None, override_reason: str | None = None
    ) -> views.ReleaseBoard:
        """Everything the Releases page shows, from one snapshot. Without `release`: the newest candidate,
        else the newest release. Sign-off state is for `actor` as the database knows them now."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            listing = _listing(session)
            name = release or next((r.name for r in listing.releases if r.status == "candidate"), None)
            name = name or (listing.releases[0].name if listing.releases else None)
            rule = build.rule(rollback_rule.evaluate(session))
            if name is None:
                return views.ReleaseBoard(
                    listing=listing,
                    rule=rule,
                    release=None,
                    gate=None,
                    diff=None,
                    sign_off=None,
                    approvals=(),
                    timeline=(),
                    can_deploy=who.can("deploy_release"),
                    can_bundle=who.can("view_audit"),
                )
            result = catalog.gate(session, release=name)
            return views.ReleaseBoard(
                listing=listing,
                rule=rule,
                release=_detail(session, name),
                gate=build.gate(result),
                diff=_diff_vs_known_good(session, name),
                sign_off=_sign_off(session, who, name, override_reason, result),
                approvals=_approvals(session, name),
                timeline=build.timeline(deployments.timeline(session, release=name)),
                can_deploy=who.can("deploy_release"),
                can_bundle=who.can("view_audit"),
            )

    # --- registering and evidence --------------------------------------------------------------------

    def create(
        self,
        *,
        actor: Actor,
        manifest_text: str,
        source: str = "manifest",
        name: str | None = None,
        parent: str | None = None,
        notes: str | None = None,
    ) -> views.ReleaseDetail:
        """Register a candidate from manifest text (YAML or JSON). The release is named `name`, else the
        manifest's own `name:`; ValidationFailed names the source, line and field."""
        own, manifest = manifests.read_manifest(manifest_text, source=source)
        release_name = (name or "").strip() or own
        if not release_name:
            raise ValidationFailed(f"{source}: no release name: pass one or put `name:` in the manifest")
        with self._write(actor) as (session, who):
            catalog.create_release(
                session, actor=who, name=release_name, manifest=manifest, parent=parent, notes=notes
            )
            return _detail(session, release_name)

    def create_from_file(
        self,
        *,
        actor: Actor,
        path: Path,
        name: str | None = None,
        parent: str | None = None,
        notes: str | None = None,
    ) -> views.ReleaseDetail:
        """Register a candidate from a manifest file, named `name`, else its `name:`, else the file name."""
        text = read_text_file(path)
        own, _ = manifests.read_manifest(text, source=str(path))
        return self.create(
            actor=actor,
            manifest_text=text,
            source=str(path),
            name=(name or "").strip() or own or path.stem,
            parent=parent,
            notes=notes,
        )

    def record_eval(
        self,
        *,
        actor: Actor,
        release: str,
        metrics: Mapping[str, Any],
        golden_set_version: str = "",
        source: str = "",
    ) -> views.EvalRunView:
        """Attach one eval run ({metric: number | {value, judge?, question?, segment?}}) as evidence."""
        with self._write(actor) as (session, who):
            run = catalog.record_eval_run(
                session,
                actor=who,
                release=release,
                metrics=dict(metrics),
                golden_set_version=golden_set_version,
                source=source,
            )
            return build.eval_run(run, release=release)

    def import_evals(
        self, *, actor: Actor, text: str, source: str = "eval.json"
    ) -> tuple[views.EvalRunView, ...]:
        """Attach the eval job's JSON (one run or a list) to their releases, all or nothing."""
        runs = parse_eval_json(text, source=source)
        with self._write(actor) as (session, who):
            return tuple(
                build.eval_run(catalog.record_eval_run(session, actor=who, **run), release=run["release"])
                for run in runs
            )

    def create_gate_policy(
        self, *, actor: Actor, thresholds: Sequence[Mapping[str, Any]]
    ) -> views.GatePolicyView:
        """Publish a new gate policy version (unchanged thresholds return the newest version as it is)."""
        with self._write(actor) as (session, who):
            rows = [dict(t) if isinstance(t, Mapping) else t for t in thresholds]
            return build.policy(create_gate_policy(session, actor=who, thresholds=rows))

    def create_gate_policy_from_text(
        self, *, actor: Actor, text: str, source: str = "thresholds"
    ) -> views.GatePolicyView:
        """Same, from YAML/JSON text: a list of {metric, op, threshold}."""
        return self.create_gate_policy(actor=actor, thresholds=parse_thresholds(text, source=source))

    # --- sign-off --------------------------------------------------------------------------------------

    def approve(
        self,
        *,
        actor: Actor,
        release: str,
        comment: str,
        override_reason: str | None = None,
        seen_evidence_hash: str | None = None,
    ) -> views.ApprovalView:
        """Approve a candidate (owners only, never its author); a failing gate needs `override_reason`,
        recorded as an exception; refused when the evidence no longer hashes to `seen_evidence_hash`."""
        with self._write(actor) as (session, who):
            row = signoff.approve_release(
                session,
                actor=who,
                release=release,
                comment=comment,
                override_reason=override_reason,
                seen_evidence_hash=seen_evidence_hash,
            )
            return build.approval(row, release=release, approver=who.username)

    def reject(self, *, actor: Actor, release: str, comment: str) -> views.ApprovalView:
        """Reject a candidate (owners only, never its author); it can never be promoted afterwards."""
        with self._write(actor) as (session, who):
            row = signoff.reject_release(session, actor=who, release=release, comment=comment)
            return build.approval(row, release=release, approver=who.username)

    # --- rollout ---------------------------------------------------------------------------------------

    def promote(self, *, actor: Actor, release: str) -> views.DeploymentStepView:
        """Advance an approved release to its next canary stage (5 -> 25 -> 50 -> 100 %)."""
        with self._write(actor) as (session, who):
            return build.step(
                deployments.promote_release(session, actor=who, release=release), release=release
            )

    def health_check(
        self, *, actor: Actor, release: str, healthy: bool | None = None, note: str = ""
    ) -> views.DeploymentStepView:
        """Post-deploy check at 100 %; passing makes the release known-good. Without `healthy` the
        rollback rule decides."""
        with self._write(actor) as (session, who):
            row = watch.health_check(session, actor=who, release=release, healthy=healthy, note=note)
            return build.step(row, release=release)

    def rollback(self, *, actor: Actor, reason: str = "") -> views.RollbackView:
        """Put the last known-good release back in one step (whatever was live or deploying is rolled back)."""
        with self._write(actor) as (session, who):
            good, away = deployments.rollback(session, actor=who, reason=reason)
            return views.RollbackView(
                live=good.name, manifest_hash=good.manifest_hash, rolled_back=tuple(away)
            )

    def apply_rollback_rule(self, *, actor: Actor = SYSTEM) -> views.RuleStatusView:
        """Evaluate the rollback rule and act as configured: mode "auto" rolls a flagged release back."""
        with self._write(actor) as (session, who):
            return build.rule(watch.apply_rollback_rule(session, actor=who or SYSTEM))


def _routing(session: Session) -> views.Routing:
    from sqlmodel import col, select

    from review_store.models import Release

    live = serving.live_release(session)
    good = serving.known_good_release(session)
    deploying = session.exec(
        select(Release).where(Release.status == "deploying").order_by(col(Release.id).desc())
    ).first()
    pct = serving.current_stage(session, release_id=deploying.id) if deploying is not None else 0
    canary = (
        views.RoutedRelease(
            name=deploying.name,
            status=deploying.status,
            manifest_hash=deploying.manifest_hash,
            traffic_pct=pct,
        )
        if deploying is not None
        else None
    )
    return views.Routing(
        live=views.RoutedRelease(
            name=live.name, status=live.status, manifest_hash=live.manifest_hash, traffic_pct=100 - pct
        )
        if live is not None
        else None,
        canary=canary,
        known_good=good.name if good is not None else None,
    )
