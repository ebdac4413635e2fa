"""Escalations (with SLA ages), adjudication of disagreeing labels, the human side for agreement, progress.

The adjudicated answer is kept in its own table, apart from the individual labels, which are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from review_store import audit, retrieval, rubrics
from review_store import settings as team_settings
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.models import (
    Adjudication,
    Assignment,
    GoldenExample,
    Label,
    ReviewItem,
    Trace,
    User,
    utcnow,
)
from review_store.pairwise.answers import check_item_answers
from review_store.permissions import Actor, require
from review_store.queue import ESCALATION_PRIORITY
from review_store.reference import disagreeing_questions

DECISIONS = ("return_to_queue", "confirmed_problem", "no_problem")


def sla_colour(age_hours: float, sla: team_settings.EscalationSla) -> str:
    """green below the warn age, amber up to the breach age, red beyond."""
    if age_hours >= sla.breach:
        return "red"
    if age_hours >= sla.warn:
        return "amber"
    return "green"


def escalations(
    session: Session, *, include_resolved: bool = False, now: datetime | None = None
) -> list[dict]:
    """Escalated items, oldest first, with age in hours and the SLA colour from `escalation.sla_hours`."""
    now = now or utcnow()
    sla = team_settings.get(session, "escalation.sla_hours")
    statuses = ["escalated", "resolved"] if include_resolved else ["escalated"]
    query = (
        select(ReviewItem, Trace.external_id, Trace.segment, Trace.release)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(col(ReviewItem.status).in_(statuses), col(ReviewItem.escalated_at).is_not(None))
        .order_by(col(ReviewItem.escalated_at), col(ReviewItem.id))
    )
    rows = []
    for item, external_id, segment, release in session.exec(query).all():
        age = (now - (item.escalated_at or item.created_at)).total_seconds() / 3600
        rows.append(
            {
                "item_id": item.id,
                "trace_id": item.trace_id,
                "trace": external_id,
                "segment": segment,
                "release": release,
                "queue": item.queue,
                "reason": item.escalation_reason or item.reason,
                "status": item.status,
                "age_hours": round(age, 1),
                "sla": sla_colour(age, sla) if item.status == "escalated" else "resolved",
                "resolution": item.resolution,
                "resolution_note": item.resolution_note,
                "resolved_by": item.resolved_by,
            }
        )
    return rows


def resolve_escalation(
    session: Session, *, actor: Actor, item_id: int, decision: str, note: str, now: datetime | None = None
) -> ReviewItem:
    """Close an escalation with a decision and a note; "return_to_queue" puts it back for labelling, first."""
    require(actor, "resolve_escalation")
    if decision not in DECISIONS:
        raise ValidationFailed(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    if not note.strip():
        raise ValidationFailed("note: say why (it goes into the audit trail)")
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    if item.status != "escalated":
        raise ConflictError(f"item {item_id} is not escalated (status {item.status})")
    item.resolution, item.resolution_note = decision, note.strip()
    item.resolved_by, item.resolved_at = actor.username, now or utcnow()
    if decision == "return_to_queue":
        item.status, item.priority = "open", max(item.priority, ESCALATION_PRIORITY)
        if item.labels_done >= item.overlap_k:
            item.overlap_k = item.labels_done + 1
    else:
        item.status = "resolved"
    session.add(item)
    audit.record(
        session,
        actor=actor,
        action="escalation.resolve",
        entity="review_item",
        entity_id=item_id,
        payload={"decision": decision, "note": item.resolution_note},
    )
    return item


def adjudication_list(session: Session) -> list[dict]:
    """Items whose reviewers disagreed and have no adjudication yet, each with every answer side by side."""
    items = session.exec(
        select(ReviewItem, Trace.external_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(ReviewItem.status == "adjudication")
        .order_by(col(ReviewItem.created_at), col(ReviewItem.id))
    ).all()
    ids = [item.id for item, _ in items]
    labels: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        for label, username in session.exec(
            select(Label, User.username)
            .join(User, col(User.id) == Label.reviewer_id)
            .where(col(Label.item_id).in_(ids))
            .order_by(col(Label.created_at))
        ).all():
            labels[label.item_id].append(
                {
                    "reviewer": username,
                    "rubric_id": label.rubric_id,
                    "answers": label.answers,
                    "correction": label.correction,
                }
            )
    return [
        {"item_id": item.id, "trace_id": item.trace_id, "trace": ext, "labels": labels[item.id]}
        for item, ext in items
    ]


def adjudicate(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    answers: dict[str, Any],
    note: str = "",
    rubric_id: int | None = None,
) -> Adjudication:
    """Record the final label for a disagreeing item (leads). Individual labels stay as they were.

    The rubric version defaults to the one the item's labels answered. A golden example already made
    from this item takes the adjudicated labels, so the golden set always holds the final answer.
    """
    require(actor, "adjudicate")
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    if session.exec(select(Adjudication).where(Adjudication.item_id == item_id)).first() is not None:
        raise ConflictError(f"item {item_id} is already adjudicated")
    if item.status != "adjudication":
        raise ConflictError(f"item {item_id} is not waiting for adjudication (status {item.status})")
    if rubric_id is None:
        rubric_id = session.exec(
            select(Label.rubric_id).where(Label.item_id == item_id).order_by(col(Label.id).desc())
        ).first()
        if rubric_id is None:
            raise ConflictError(f"item {item_id} has no labels to adjudicate")
    spec = rubrics.spec_of(rubrics.get(session, rubric_id))
    clean = check_item_answers(session, spec, answers, trace_id=item.trace_id)
    if any(q.kind == rubrics.CHUNKS for q in spec.questions):
        retrieval.check_marks(spec, clean, session.get(Trace, item.trace_id).context)
    row = Adjudication(
        item_id=item_id,
        adjudicator_id=actor.id,
        rubric_id=rubric_id,
        answers=clean,
        note=note.strip() or None,
    )
    session.add(row)
    item.status = "done"
    session.add(item)
    golden = session.exec(select(GoldenExample).where(GoldenExample.trace_id == item.trace_id)).first()
    if golden is not None:
        golden.expected_labels = _labels_for_golden(clean)
        session.add(golden)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="adjudication.create",
        entity="review_item",
        entity_id=item_id,
        payload={"rubric_id": rubric_id, "golden_updated": golden is not None},
    )
    return row


def _labels_for_golden(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if v is not None and v != ""}


@dataclass(frozen=True)
class HumanAnswer:
    item_id: int
    trace_id: int
    rater: str  # reviewer username, or "adjudicated"
    value: Any
    adjudicated: bool


def human_answers(
    session: Session,
    *,
    question_key: str,
    item_ids: Iterable[int] | None = None,
    trace_ids: Iterable[int] | None = None,
) -> list[HumanAnswer]:
    """The human side of agreement for one question: per item the adjudicated answer when there is one
    (a single row, rater "adjudicated"), otherwise every reviewer's label (one row each).

    Items whose answer to the question is missing (None / "") are left out. Ordered by item, then rater.
    """
    items = select(ReviewItem.id, ReviewItem.trace_id)
    if item_ids is not None:
        items = items.where(col(ReviewItem.id).in_(list(item_ids)))
    if trace_ids is not None:
        items = items.where(col(ReviewItem.trace_id).in_(list(trace_ids)))
    scope = items.subquery()
    out: list[HumanAnswer] = []
    adjudicated: set[int] = set()
    for adj_item, trace_id, answers in session.exec(
        select(Adjudication.item_id, scope.c.trace_id, Adjudication.answers).join(
            scope, scope.c.id == Adjudication.item_id
        )
    ).all():
        adjudicated.add(adj_item)
        value = (answers or {}).get(question_key)
        if value is not None and value != "":
            out.append(HumanAnswer(adj_item, trace_id, "adjudicated", value, True))
    for item_id, trace_id, username, answers in session.exec(
        select(Label.item_id, scope.c.trace_id, User.username, Label.answers)
        .join(scope, scope.c.id == Label.item_id)
        .join(User, col(User.id) == Label.reviewer_id)
    ).all():
        if item_id in adjudicated:
            continue
        value = (answers or {}).get(question_key)
        if value is not None and value != "":
            out.append(HumanAnswer(item_id, trace_id, username, value, False))
    out.sort(key=lambda a: (a.item_id, a.rater))
    return out


def progress_by_reviewer(session: Session, *, since: datetime | None = None) -> list[dict]:
    """Per reviewer: labels given, items leased now (pending), items they escalated; SQL aggregates."""
    now = utcnow()
    labels = select(Label.reviewer_id, func.count().label("n")).group_by(Label.reviewer_id)
    if since is not None:
        labels = labels.where(col(Label.created_at) >= since)
    done = dict(session.exec(labels).all())
    pending = dict(
        session.exec(
            select(Assignment.reviewer_id, func.count())
            .where(Assignment.status == "active", col(Assignment.expires_at) > now)
            .group_by(Assignment.reviewer_id)
        ).all()
    )
    escalated = dict(
        session.exec(
            select(Assignment.reviewer_id, func.count())
            .where(Assignment.status == "escalated")
            .group_by(Assignment.reviewer_id)
        ).all()
    )
    people = session.exec(
        select(User).where(col(User.role).in_(["reviewer", "lead"])).order_by(User.username)
    ).all()
    return [
        {
            "reviewer": u.username,
            "done": int(done.get(u.id, 0)),
            "pending": int(pending.get(u.id, 0)),
            "escalated": int(escalated.get(u.id, 0)),
        }
        for u in people
    ]


def progress_by_queue(session: Session) -> list[dict]:
    """Per queue: items done, pending (open or waiting for adjudication), escalated."""
    rows = session.exec(
        select(
            ReviewItem.queue,
            func.sum(case((col(ReviewItem.status).in_(["done", "resolved"]), 1), else_=0)),
            func.sum(case((col(ReviewItem.status).in_(["open", "adjudication"]), 1), else_=0)),
            func.sum(case((ReviewItem.status == "escalated", 1), else_=0)),
        ).group_by(ReviewItem.queue)
    ).all()
    return [
        {"queue": q, "done": int(d or 0), "pending": int(p or 0), "escalated": int(e or 0)}
        for q, d, p, e in rows
    ]


def disagreement_of(session: Session, *, item_id: int) -> list[str]:
    """The question keys on which an item's labels disagree."""
    labels = session.exec(select(Label).where(Label.item_id == item_id)).all()
    if not labels:
        return []
    spec = rubrics.spec_of(rubrics.get(session, labels[-1].rubric_id))
    return disagreeing_questions(spec, [label.answers for label in labels])
