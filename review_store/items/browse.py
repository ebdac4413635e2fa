"""Browse review items with their traces: filter by segment, release, reason (sampling strategy or
escalation), status, queue, assignee, guardrail, judge score and text; newest first; offset paging with a
total.

Every filter is a condition on indexed columns or a correlated EXISTS on an indexed foreign key
(guardrailevent.trace_id, judgeverdict.trace_id); the page itself is bounded (MAX_LIMIT rows) and ordered
along ix_reviewitem_created. The text filter is a case-insensitive substring match of the trace's input
and output (a scan of the filtered items, so it is applied last and the page stays bounded).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from review_store.errors import ValidationFailed
from review_store.models import GuardrailEvent, JudgeVerdict, ReviewItem, Trace, User

MAX_LIMIT = 200
STATUSES = ("open", "done", "adjudication", "escalated", "resolved")
TEXT_MAX = 200


@dataclass(frozen=True)
class ItemFilters:
    """What the browser filters on; None (or "") means any."""

    segment: str | None = None
    release: str | None = None
    reason: str | None = None
    status: str | None = None
    queue: str | None = None
    assignee: str | None = None  # a username, or "-" for unassigned items
    guardrail: str | None = None  # items whose trace triggered this guardrail
    judge_question: str | None = None  # with min/max: a judge verdict score on this question
    score_min: float | None = None
    score_max: float | None = None
    text: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemFilters:
        """From stored or submitted JSON; unknown keys and wrong types are refused by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationFailed(f"filters: unknown field(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if value in (None, ""):
                continue
            if key in ("score_min", "score_max"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValidationFailed(f"filters.{key}: {value!r} is not a number")
                values[key] = float(value)
            elif not isinstance(value, str):
                raise ValidationFailed(f"filters.{key}: {value!r} is not text")
            else:
                values[key] = value.strip()
        out = cls(**values)
        out.validate()
        return out

    def validate(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValidationFailed(f"filters.status: {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.text is not None and len(self.text) > TEXT_MAX:
            raise ValidationFailed(f"filters.text: longer than {TEXT_MAX} characters")
        if (self.score_min is not None or self.score_max is not None) and not self.judge_question:
            raise ValidationFailed("filters.judge_question: a judge score range needs the question it scores")
        if self.score_min is not None and self.score_max is not None and self.score_min > self.score_max:
            raise ValidationFailed(
                f"filters.score_min: {self.score_min:g} is above score_max {self.score_max:g}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def _score_range(f: ItemFilters) -> list[Any]:
    """The judge score range on a verdict (any judge config's verdict on the question may match)."""
    out = []
    if f.score_min is not None:
        out.append(col(JudgeVerdict.score) >= f.score_min)
    if f.score_max is not None:
        out.append(col(JudgeVerdict.score) <= f.score_max)
    return out


def _conditions(session: Session, f: ItemFilters) -> list[Any]:
    out: list[Any] = []
    for column, value in (
        (Trace.segment, f.segment),
        (Trace.release, f.release),
        (ReviewItem.reason, f.reason),
        (ReviewItem.status, f.status),
        (ReviewItem.queue, f.queue),
    ):
        if value:
            out.append(column == value)
    if f.assignee == "-":
        out.append(col(ReviewItem.assigned_to_id).is_(None))
    elif f.assignee:
        user_id = session.exec(select(User.id).where(func.lower(User.username) == f.assignee.lower())).first()
        if user_id is None:
            raise ValidationFailed(f"filters.assignee: no user {f.assignee!r}")
        out.append(ReviewItem.assigned_to_id == user_id)
    if f.guardrail:
        out.append(
            exists().where(GuardrailEvent.trace_id == ReviewItem.trace_id, GuardrailEvent.name == f.guardrail)
        )
    if f.judge_question:
        scored = [
            JudgeVerdict.trace_id == ReviewItem.trace_id,
            JudgeVerdict.question_key == f.judge_question,
            col(JudgeVerdict.error).is_(None),
        ]
        out.append(exists().where(and_(*scored, *_score_range(f))))
    if f.text:
        pattern = "%" + f.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        out.append(
            or_(
                func.lower(Trace.input).like(pattern, escape="\\"),
                func.lower(Trace.output).like(pattern, escape="\\"),
            )
        )
    return out


def browse(
    session: Session, *, filters: ItemFilters, offset: int = 0, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page of rows), newest item first. Each row: the item (id, queue, reason,
    status, priority, labels done / k, created_at, assignee) and its trace (id, external id, ts, segment,
    release, model, the first 160 characters of input and output), guardrails triggered, and with a judge
    question the highest score among the verdicts that match the filter's range."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit: {limit} is not between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationFailed(f"offset: {offset} is negative")
    filters.validate()
    where = _conditions(session, filters)
    joined = select(func.count()).select_from(ReviewItem).join(Trace, col(Trace.id) == ReviewItem.trace_id)
    total = session.exec(joined.where(*where)).one()
    assignee = User.__table__.alias("assignee")
    rows = session.exec(
        select(
            ReviewItem.id,
            ReviewItem.queue,
            ReviewItem.reason,
            ReviewItem.status,
            ReviewItem.priority,
            ReviewItem.labels_done,
            ReviewItem.overlap_k,
            ReviewItem.created_at,
            assignee.c.username,
            Trace.id,
            Trace.external_id,
            Trace.ts,
            Trace.segment,
            Trace.release,
            Trace.model,
            func.substr(Trace.input, 1, 160),
            func.substr(Trace.output, 1, 160),
        )
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .outerjoin(assignee, assignee.c.id == ReviewItem.assigned_to_id)
        .where(*where)
        .order_by(col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    trace_ids = [r[9] for r in rows]
    guardrails: dict[int, set[str]] = {}
    if trace_ids:
        for trace_id, name in session.exec(
            select(GuardrailEvent.trace_id, GuardrailEvent.name).where(
                col(GuardrailEvent.trace_id).in_(trace_ids)
            )
        ).all():
            guardrails.setdefault(trace_id, set()).add(name)
    scores: dict[int, float] = {}
    if trace_ids and filters.judge_question:
        for trace_id, score in session.exec(
            select(JudgeVerdict.trace_id, func.max(JudgeVerdict.score))
            .where(
                col(JudgeVerdict.trace_id).in_(trace_ids),
                JudgeVerdict.question_key == filters.judge_question,
                col(JudgeVerdict.error).is_(None),
                *_score_range(filters),
            )
            .group_by(JudgeVerdict.trace_id)
        ).all():
            if score is not None:
                scores[trace_id] = float(score)
    keys = (
        "id", "queue", "reason", "status", "priority", "labels_done", "overlap_k", "created_at", "assignee",
        "trace_id", "trace_external_id", "ts", "segment", "release", "model", "input", "output",
    )  # fmt: skip
    page = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["guardrails"] = tuple(sorted(guardrails.get(item["trace_id"], ())))
        item["judge_score"] = scores.get(item["trace_id"])
        item["input"], item["output"] = item["input"] or "", item["output"] or ""
        page.append(item)
    return total, page


def filter_options(session: Session) -> dict[str, list[str]]:
    """The values each filter can take, as they occur among review items (and the guardrails, judge
    questions and reviewers that exist)."""

    def distinct(column: Any, *, join_trace: bool = False) -> list[str]:
        query = select(column).select_from(ReviewItem)
        if join_trace:
            query = query.join(Trace, col(Trace.id) == ReviewItem.trace_id)
        return sorted(v for v in session.exec(query.distinct()).all() if v)

    return {
        "segment": distinct(Trace.segment, join_trace=True),
        "release": distinct(Trace.release, join_trace=True),
        "reason": distinct(ReviewItem.reason),
        "status": list(STATUSES),
        "queue": distinct(ReviewItem.queue),
        "guardrail": sorted(v for v in session.exec(select(GuardrailEvent.name).distinct()).all() if v),
        "judge_question": sorted(
            v for v in session.exec(select(JudgeVerdict.question_key).distinct()).all() if v
        ),
        "reviewer": sorted(
            session.exec(
                select(User.username).where(col(User.role).in_(("reviewer", "lead")), User.active == True)  # noqa: E712
            ).all()
        ),
    }
