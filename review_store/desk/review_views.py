"""The read models of desk.review: the trace card, a claim, labels, progress, escalations, adjudication."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from review_store.desk.base import ReadModel
from review_store.desk.rubrics import RubricView


class PairwiseAnswer(ReadModel):
    """A pairwise question's answer as given on screen: the position picked (a, b or tie) and why."""

    choice: str  # a | b | tie: positions, not releases (PairReveal names them after submit)
    reason: str

    def __str__(self) -> str:
        return f"{self.choice} · {self.reason}" if self.reason else self.choice


AnswerValue = int | float | str | tuple[str, ...] | PairwiseAnswer | None


class Answer(ReadModel):
    key: str
    value: AnswerValue


def _answer_value(value: Any) -> AnswerValue:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict) and "choice" in value:
        return PairwiseAnswer(choice=str(value["choice"]), reason=str(value.get("reason") or ""))
    return value


def answers_of(answers: Mapping[str, Any] | None) -> tuple[Answer, ...]:
    """Stored answers (a JSON object) as a tuple of Answer, in the stored key order."""
    return tuple(Answer(key=key, value=_answer_value(value)) for key, value in (answers or {}).items())


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


class PairView(ReadModel):
    """The two outputs a pairwise question compares, in their positions, with no release named.

    The item's trace is the baseline's production trace, so `ItemCard.trace.output` is one of the two
    outputs: a page that shows the pair blind should show `input`, `output_a` and `output_b` (and the
    context) rather than the card's output and release while the pairwise question is open. Which release
    was A and which B is read after submit (desk.review.pair_reveal)."""

    item_id: int
    questions: tuple[str, ...]  # the rubric's pairwise question keys (empty when the rubric has none)
    input: str
    output_a: str
    output_b: str


class ItemCard(ReadModel):
    item: ItemInfo
    trace: TraceView
    guardrails: tuple[GuardrailHit, ...]
    pair: PairView | None = None  # set when the item's trace has a shadow pair (a pairwise question applies)


class Claim(ReadModel):
    """What the Review page shows: the item leased to the reviewer (None: nothing left) and the rubric.
    `asked`: the keys of the rubric questions this item asks, in rubric order; the form draws only these
    (on a shadow pair only the pairwise question, elsewhere all but it: pairwise.answers.asked_questions)."""

    item: ItemCard | None
    rubric: RubricView
    asked: tuple[str, ...]


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


class PairOutcome(ReadModel):
    """One pairwise answer with the releases named: what the choice means for the candidate."""

    question: str
    choice: str  # a | b | tie, as picked on screen
    reason: str
    winner: str  # the release picked, or "tie"
    outcome: str  # the candidate's outcome: a (candidate better) | b (baseline better) | tie


class PairReveal(ReadModel):
    """After submit: which release was shown as A and which as B, and the reviewer's answers mapped."""

    item_id: int
    release_a: str
    release_b: str
    candidate: str
    baseline: str
    answers: tuple[PairOutcome, ...]


class AfterSubmit(ReadModel):
    """Shown once the reviewer's label is stored: their answers beside every judge verdict on the trace."""

    item_id: int
    trace: str
    rubric_version: int
    answers: tuple[Answer, ...]
    judge: tuple[JudgeComparison, ...]
    pair: PairReveal | None = None  # the releases behind A and B, when the item has a shadow pair


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
    asked: tuple[str, ...]  # the rubric questions this item asks (see Claim.asked)


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
