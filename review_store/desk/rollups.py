"""desk.rollups: rebuild the hourly rollups from the raw rows, and compare them with the raw rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from review_store import audit, clock, settings
from review_store.desk.base import Part, ReadModel
from review_store.errors import ValidationFailed
from review_store.permissions import Actor, require
from review_store.rollups import prune as pruner
from review_store.rollups import rebuild as rebuilder
from review_store.rollups import retention


class RollupRebuild(ReadModel):
    """What a rebuild recomputed: the hours [start, end) (None: unbounded) and the raw rows it read."""

    start: datetime | None
    end: datetime | None
    traces: int
    guardrail_events: int
    verdicts: int
    rollup_rows: int


class KeptReason(ReadModel):
    """Traces before the cut-off kept for one reason (see review_store/rollups/prune.py for each)."""

    reason: str
    traces: int


class PruneReport(ReadModel):
    """What a prune deleted (or, dry run, would delete) and what it kept and why.

    `kept` counts distinct traces; `kept_by_reason` counts a trace under every reason that holds."""

    dry_run: bool
    older_than_hours: int
    cutoff: datetime
    pruned_before: datetime | None  # the cut-off in force afterwards (a dry run changes nothing)
    candidates: int  # raw traces before the cut-off
    deleted_traces: int
    deleted_guardrail_events: int
    deleted_verdicts: int
    deleted_review_items: int
    kept: int
    kept_by_reason: tuple[KeptReason, ...]


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    lo = datetime(start.year, start.month, start.day) if start else None
    hi = datetime(end.year, end.month, end.day) + timedelta(days=1) if end else None
    if lo and hi and hi <= lo:
        raise ValidationFailed(f"--to {end} is before --from {start}")
    return lo, hi


class RollupsPart(Part):
    def rebuild(self, *, actor: Actor, start: date | None = None, end: date | None = None) -> RollupRebuild:
        """Recompute the rollups of the days start..end (inclusive; both optional) from the raw rows, in one
        transaction (audited). Refused when the range reaches before the oldest raw trace still kept after
        a prune: those hours' raw rows are gone and their rollups are the only record left."""
        lo, hi = _bounds(start, end)
        with self._write(actor) as (session, who):
            assert who is not None
            require(who, "maintain_rollups")
            pruned_before = _pruned_before(session)
            if pruned_before is not None and (lo is None or lo < pruned_before):
                raise ValidationFailed(
                    f"--from: raw traces before {pruned_before:%Y-%m-%d %H:%M} were pruned; a rebuild must "
                    f"start at or after it (their rollups are the only record left)"
                )
            counts = rebuilder.rebuild(session.connection(), start=lo, end=hi)
            payload = {"start": lo, "end": hi, "traces": counts.traces, "rows": counts.rows}
            audit.record(session, actor=who, action="rollup.rebuild", entity="rollup", payload=payload)
            return RollupRebuild(
                start=lo, end=hi, traces=counts.traces, guardrail_events=counts.events,
                verdicts=counts.verdicts, rollup_rows=counts.rows,
            )  # fmt: skip

    def prune(
        self, *, actor: Actor, older_than: str | timedelta | None = None, dry_run: bool = False
    ) -> PruneReport:
        """Delete raw traces older than `older_than` ('90d', '36h', '12w'; default: the
        retention.raw_traces setting) before the desk clock's now, with their guardrail events, verdicts
        and unreviewed review items, in one transaction (audited). Never deletes a trace under review,
        labelled, adjudicated, escalated, in the golden set, possibly in an eval run's golden set, or named
        by an audit event. The rollups keep the pruned hours; the cut-off (a whole hour) is recorded so a
        rebuild refuses them. `dry_run`: report only, write nothing. ValidationFailed for a bad age."""
        age = retention.parse_age(older_than) if isinstance(older_than, str) else older_than
        if age is not None and age < retention.MIN_AGE:
            raise ValidationFailed(f"older_than: {age} is under {retention.MIN_AGE}")
        with self._write(actor) as (session, who):
            assert who is not None
            require(who, "prune_traces")
            if age is None:
                age = timedelta(days=settings.get(session, "retention.raw_traces").days)
            cutoff = retention.cutoff_for(clock.now(), age)
            plan = pruner.plan(session, cutoff=cutoff)
            if dry_run:
                done, after = pruner.count(session, plan.doomed), retention.pruned_before(session)
            else:
                done = pruner.delete_traces(session, plan.doomed)
                after = retention.record_cutoff(session, cutoff=cutoff, by=who.username)
            report = PruneReport(
                dry_run=dry_run, older_than_hours=int(age.total_seconds() // 3600), cutoff=cutoff,
                pruned_before=after, candidates=plan.candidates, deleted_traces=done.traces,
                deleted_guardrail_events=done.guardrail_events, deleted_verdicts=done.verdicts,
                deleted_review_items=done.review_items, kept=len(plan.kept_ids),
                kept_by_reason=tuple(KeptReason(reason=r, traces=len(plan.kept[r])) for r in pruner.REASONS),
            )  # fmt: skip
            if not dry_run:
                payload = report.to_json()
                audit.record(
                    session, actor=who, action="trace.prune", entity="trace",
                    entity_id=f"before {cutoff.isoformat()}", payload=payload,
                )  # fmt: skip
            return report


def _pruned_before(session: Session) -> datetime | None:
    """The newest cut-off of a prune (raw traces before it may be gone), else None."""
    return retention.pruned_before(session)
