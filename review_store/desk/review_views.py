"""The read models of desk.review: the trace card, a claim, labels, progress, escalations, adjudication."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from review_store.desk.base import ReadModel
from review_store.desk.rubrics import RubricView

AnswerValue = int | float | str | tuple[str, ...] | None


class Answer(ReadModel):
    key: str
    value: AnswerValue


def answers_of(answers: Mapping[str, Any] | None) -> tuple[Answer, ...]:
    """Stored answers (a JSON object) as a tuple of Answer, in the stored key order."""
    out = []
    for key, value in (answers or {}).items():
        out.append(Answer(key=key, value=tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def answers_dict(answers: tuple[Answer, ...]) -> dict[str, AnswerValue]:
    """Back to a plain mapping (for a table or a form's initial values)."""
    return {a.key: a.value for a in answers}


class ItemInfo(ReadModel):
    id: int
    queue: str
    reason: str
    priority: int
    status: str
    overlap_k: int
    labels_done: int
    escalation_reason: str | None


class ContextChunk(ReadModel):
    id: str
    score: float | None
    text: str


class GuardrailHit(ReadModel):
    name: str
    stage: str
    action: str
    score: float | None


class TraceView(ReadModel):
    """One trace as the card shows it. Every text here is untrusted: draw it inert (st.text / st.code)."""

    id: int
    external_id: str
    ts: datetime
    app: str | None
    segment: str | None
    release: str | None
    model: str | None
    prompt_version: str | None
    input: str
    output: str
    context: tuple[ContextChunk, ...]
    # the retrieved chunk ids, in rank order, a "chunks" question may mark relevant (retrieval.chunk_ids)
    markable: tuple[str, ...] = ()
    latency_ms: float | None
    cost_usd: float | None
    tokens_in: int | None
    tokens_out: int | None
    user_feedback: str | None


class ItemCard(ReadModel):
    item: ItemInfo
    trace: TraceView
    guardrails: tuple[GuardrailHit, ...]


class Claim(ReadModel):
    """What the Review page shows: the item leased to the reviewer (None: nothing left) and the rubric."""

    item: ItemCard | None
    rubric: RubricView


class Progress(ReadModel):
    done_today: int
    left_in_queue: int


class LabelView(ReadModel):
    item_id: int
    reviewer: str
    rubric_id: int
    answers: tuple[Answer, ...]
    correction: str | None
    seconds_spent: float | None
    created_at: datetime


class JudgeComparison(ReadModel):
    question: str
    your_answer: str
    judge: str
    judge_answer: str
    confidence: float | None
    agreement: str  # agree | disagree | — (the store's disagreement rule)
    rationale: str


class AfterSubmit(ReadModel):
    """Shown once the reviewer's label is stored: their answers beside every judge verdict on the trace."""

    item_id: int
    trace: str
    rubric_version: int
    answers: tuple[Answer, ...]
    judge: tuple[JudgeComparison, ...]


class ReviewerProgress(ReadModel):
    reviewer: str
    done: int
    pending: int
    escalated: int


class QueueProgress(ReadModel):
    queue: str
    done: int
    pending: int
    escalated: int


class TeamProgress(ReadModel):
    reviewers: tuple[ReviewerProgress, ...]
    queues: tuple[QueueProgress, ...]


class EscalationRow(ReadModel):
    item_id: int
    trace_id: int
    trace: str
    segment: str | None
    release: str | None
    queue: str
    reason: str
    status: str
    age_hours: float
    sla: str  # green | amber | red while open; resolved
    resolution: str | None
    resolution_note: str | None
    resolved_by: str | None


class Escalations(ReadModel):
    warn_hours: float
    breach_hours: float
    rows: tuple[EscalationRow, ...]


class AdjudicationCase(ReadModel):
    item_id: int
    trace: str
    rubric: RubricView
    labels: tuple[LabelView, ...]
    disagree: tuple[str, ...]  # the question keys the labels disagree on


class ItemSummary(ReadModel):
    """One review item in a list (GET /api/v1/items)."""

    id: int
    trace_id: int
    trace_external_id: str
    segment: str
    queue: str
    strategy: str  # why it was sampled: random | stratified | low_score | ...
    status: str
    priority: int
    overlap_k: int
    labels_done: int
    created_at: datetime


class ItemPage(ReadModel):
    items: tuple[ItemSummary, ...]
    next_cursor: str | None  # pass it back as `cursor` for the next page; None on the last page
