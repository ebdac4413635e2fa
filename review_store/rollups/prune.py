"""Pruning raw traces older than a cut-off, keeping every trace something else still points at.

The rollups are not touched: they keep the pruned hours (writers only add to them; a prune deletes raw rows
without taking them back), and `retention.pruned_before` records the cut-off so a rebuild refuses those
hours. Every deleted trace's external id (and time) goes to the prunedtrace table, in the same transaction:
an import that meets such an id again skips the record (`pruned` in its report; with or without --update),
since its numbers are already in the rollups and retention deleted its raw row on purpose. One row per
pruned trace (~60 bytes with its key) rather than a watermark, because a watermark cannot tell a pruned
trace from a late one that was never imported. The cut-off is a whole hour, so a dashboard range over pruned time that starts and ends on whole
hours reads only rollups.

A trace older than the cut-off is KEPT (with its guardrail events and verdicts) when any of these holds
(REASONS, counted per reason; a trace may have several):
  review        a review item of it is open or awaiting adjudication, or has labels
  label         a label was given on one of its review items
  adjudication  one of its review items was adjudicated
  escalation    one of its review items is (or was) an escalation
  golden        it is in the golden set (or a golden example points at one of its review items)
  eval_run      it was promoted to the golden set before an eval run was recorded, so it may be part of
                the golden-set version that run scored
  audit         an audit event names it (golden_example by external id, review_item by item id)
Every other trace before the cut-off is deleted with its guardrail events, judge verdicts and any review
item left on it (sampled, never labelled, closed) with that item's assignments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlmodel import Session, col

from review_store.models import (
    Adjudication,
    Assignment,
    AuditEvent,
    EvalRun,
    GoldenExample,
    GuardrailEvent,
    JudgeVerdict,
    Label,
    PrunedTrace,
    ReviewItem,
    Trace,
)

REASONS = ("review", "label", "adjudication", "escalation", "golden", "eval_run", "audit")
CHUNK = 500


@dataclass
class Plan:
    """What a prune at `cutoff` deletes and keeps (trace ids)."""

    cutoff: datetime
    candidates: int = 0
    doomed: list[int] = field(default_factory=list)
    kept: dict[str, set[int]] = field(default_factory=dict)

    @property
    def kept_ids(self) -> set[int]:
        return set().union(*self.kept.values()) if self.kept else set()


@dataclass
class Deleted:
    traces: int = 0
    guardrail_events: int = 0
    verdicts: int = 0
    review_items: int = 0


def _chunks(ids: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _ids(session: Session, stmt) -> set[int]:
    return {row[0] for row in session.execute(stmt).all()}


def _old_items(cutoff: datetime):
    """(item id, trace id) of the review items on traces before the cut-off."""
    return (
        select(ReviewItem.id, ReviewItem.trace_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(col(Trace.ts) < cutoff)
    )


def _by_external_ids(session: Session, cutoff: datetime, external_ids: Iterable[str]) -> set[int]:
    ids = sorted(set(external_ids))
    out: set[int] = set()
    for part in _chunks(ids):
        out |= _ids(session, select(Trace.id).where(col(Trace.external_id).in_(part), col(Trace.ts) < cutoff))
    return out


def _by_item_ids(session: Session, cutoff: datetime, item_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(item_ids))
    out: set[int] = set()
    for part in _chunks(ids):
        out |= _ids(
            session,
            _old_items(cutoff).with_only_columns(ReviewItem.trace_id).where(col(ReviewItem.id).in_(part)),
        )
    return out


def _audited(session: Session, cutoff: datetime) -> set[int]:
    rows = session.execute(
        select(AuditEvent.entity, AuditEvent.entity_id).where(
            col(AuditEvent.entity).in_(("review_item", "golden_example")), AuditEvent.entity_id != ""
        )
    ).all()
    items = [int(eid) for entity, eid in rows if entity == "review_item" and eid.isdigit()]
    external = [eid for entity, eid in rows if entity != "review_item"]
    return _by_item_ids(session, cutoff, items) | _by_external_ids(session, cutoff, external)


def _in_eval_runs(session: Session, cutoff: datetime) -> set[int]:
    last_run = session.execute(select(func.max(EvalRun.created_at))).scalar()
    if last_run is None:
        return set()
    promoted = session.execute(
        select(AuditEvent.entity_id).where(
            AuditEvent.entity == "golden_example",
            AuditEvent.action == "golden.promote",
            col(AuditEvent.ts) <= last_run,
        )
    ).scalars()
    return _by_external_ids(session, cutoff, promoted)


def plan(session: Session, *, cutoff: datetime) -> Plan:
    """Which traces before `cutoff` a prune deletes, and which it keeps and why."""
    result = Plan(cutoff=cutoff)
    old_items = _old_items(cutoff).subquery()
    item_trace = select(old_items.c.trace_id)
    result.kept = {
        "review": _ids(
            session,
            item_trace.join(ReviewItem, col(ReviewItem.id) == old_items.c.id).where(
                or_(
                    col(ReviewItem.status).in_(("open", "adjudication")),
                    select(Label.id).where(Label.item_id == ReviewItem.id).exists(),
                )
            ),
        ),
        "label": _ids(session, item_trace.join(Label, Label.item_id == old_items.c.id)),
        "adjudication": _ids(session, item_trace.join(Adjudication, Adjudication.item_id == old_items.c.id)),
        "escalation": _ids(
            session,
            item_trace.join(ReviewItem, col(ReviewItem.id) == old_items.c.id).where(
                or_(ReviewItem.queue == "escalation", col(ReviewItem.escalated_at).is_not(None))
            ),
        ),
        "golden": _ids(
            session,
            select(GoldenExample.trace_id)
            .join(Trace, col(Trace.id) == GoldenExample.trace_id)
            .where(col(Trace.ts) < cutoff),
        )
        | _by_item_ids(
            session,
            cutoff,
            session.execute(
                select(GoldenExample.item_id).where(col(GoldenExample.item_id).is_not(None))
            ).scalars(),
        ),
        "eval_run": _in_eval_runs(session, cutoff),
        "audit": _audited(session, cutoff),
    }
    keep = result.kept_ids
    old = session.execute(select(Trace.id).where(col(Trace.ts) < cutoff).order_by(Trace.id)).scalars().all()
    result.candidates = len(old)
    result.doomed = [tid for tid in old if tid not in keep]
    return result


def count(session: Session, doomed: Sequence[int]) -> Deleted:
    """What deleting these traces would delete (dry run)."""
    out = Deleted(traces=len(doomed))
    for part in _chunks(doomed):
        out.guardrail_events += _count(session, GuardrailEvent, col(GuardrailEvent.trace_id).in_(part))
        out.verdicts += _count(session, JudgeVerdict, col(JudgeVerdict.trace_id).in_(part))
        out.review_items += _count(session, ReviewItem, col(ReviewItem.trace_id).in_(part))
    return out


def _count(session: Session, model, condition) -> int:
    return session.execute(select(func.count()).select_from(model).where(condition)).scalar_one()


def delete_traces(session: Session, doomed: Sequence[int]) -> Deleted:
    """Delete these traces with their guardrail events, verdicts and review items (with assignments), in
    the session's transaction. The rollups are left as they are (they keep the pruned hours); the traces'
    external ids are recorded in prunedtrace so a re-import does not count them again."""
    out, conn = Deleted(), session.connection()
    for part in _chunks(doomed):
        conn.execute(
            insert(PrunedTrace).from_select(
                ["external_id", "ts"], select(Trace.external_id, Trace.ts).where(col(Trace.id).in_(part))
            )
        )
        items = select(ReviewItem.id).where(col(ReviewItem.trace_id).in_(part))
        conn.execute(delete(Assignment).where(col(Assignment.item_id).in_(items)))
        out.review_items += conn.execute(
            delete(ReviewItem).where(col(ReviewItem.trace_id).in_(part))
        ).rowcount
        out.guardrail_events += conn.execute(
            delete(GuardrailEvent).where(col(GuardrailEvent.trace_id).in_(part))
        ).rowcount
        out.verdicts += conn.execute(
            delete(JudgeVerdict).where(col(JudgeVerdict.trace_id).in_(part))
        ).rowcount
        out.traces += conn.execute(delete(Trace).where(col(Trace.id).in_(part))).rowcount
    return out
