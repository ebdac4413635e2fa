"""desk.rollups: rebuild the hourly rollups from the raw rows, and compare them with the raw rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from review_store import audit
from review_store.desk.base import Part, ReadModel
from review_store.errors import ValidationFailed
from review_store.permissions import Actor, require
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


def _pruned_before(session: Session) -> datetime | None:
    """The newest cut-off of a prune (raw traces before it may be gone), else None."""
    return retention.pruned_before(session)
