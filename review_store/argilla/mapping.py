"""Pure mapping between the store and Argilla 2.x objects (no database, no HTTP of its own).

rubric question -> rg.RatingQuestion / LabelQuestion / MultiLabelQuestion / TextQuestion (guidelines and
the rating scale's anchors as description); trace -> rg.TextField values (input, output, context as text)
and metadata (segment, release, model); judge verdict -> rg.Suggestion (agent = judge config name@version,
score = confidence); overlap k -> rg.TaskDistribution(min_submitted=k); submitted rg.Response values ->
label answers. A pairwise question (two outputs side by side) has no Argilla record shape here: it is
left out of the dataset and answered on the desk's Review page; a pulled label leaves it blank.

The SDK looks up a client even to build a field or a question, so the builders take one explicitly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from review_store.errors import ValidationFailed
from review_store.rubrics import PAIRWISE, Question, RubricSpec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import argilla as rg

RECORD_PREFIX = "trace-"
FIELDS = ("input", "output", "context")
VISIBLE_METADATA = ("segment", "release", "model")
HIDDEN_METADATA = ("queue", "rubric")
NO_CONTEXT = "(no retrieved context)"


def record_id(external_id: str) -> str:
    return f"{RECORD_PREFIX}{external_id}"


def external_id_of(record_id_: str) -> str | None:
    """The trace's external id, or None when the record was not pushed by us."""
    text = str(record_id_)
    return text[len(RECORD_PREFIX) :] if text.startswith(RECORD_PREFIX) else None


def description_of(question: Question) -> str | None:
    """The guidelines, then the rating scale's anchors one per line ("1 = Wrong or harmful"): Argilla's
    rating question has no anchors of its own, so reviewers there read them in the description."""
    lines = [question.guidelines] if question.guidelines else []
    lines += [f"{point} = {text}" for point, text in question.anchors]
    return "\n".join(lines) or None


def question_for(question: Question, *, client: rg.Argilla) -> Any:
    """One rubric question as the matching Argilla question class."""
    common = {
        "name": question.key,
        "title": question.prompt or question.key,
        "description": description_of(question),
        "required": question.required,
        "client": client,
    }
    if question.kind == "rating":
        if question.min < 0 or question.max > 10:
            raise ValidationFailed(
                f"{question.key}: Argilla ratings go from 0 to 10; {question.min}..{question.max} does not fit"
            )
        return rg.RatingQuestion(values=list(range(question.min, question.max + 1)), **common)
    if question.kind == "label":
        return rg.LabelQuestion(labels=list(question.options), **common)
    if question.kind == "multi_label":
        return rg.MultiLabelQuestion(labels=list(question.options), **common)
    return rg.TextQuestion(**common)


def build_settings(
    spec: RubricSpec, *, overlap_k: int, client: rg.Argilla, guidelines: str | None = None
) -> rg.Settings:
    """Dataset settings for a rubric: three text fields, the rubric's questions, metadata, overlap."""
    if overlap_k < 1:
        raise ValidationFailed(f"overlap must be at least 1, not {overlap_k}")
    fields = [
        rg.TextField(name="input", title="Customer input", client=client),
        rg.TextField(name="output", title="Assistant answer", client=client),
        rg.TextField(name="context", title="Retrieved context", required=False, client=client),
    ]
    metadata = [rg.TermsMetadataProperty(name=n, client=client) for n in VISIBLE_METADATA] + [
        rg.TermsMetadataProperty(name=n, visible_for_annotators=False, client=client) for n in HIDDEN_METADATA
    ]
    return rg.Settings(
        fields=fields,
        questions=[question_for(q, client=client) for q in spec.questions if q.kind != PAIRWISE],
        metadata=metadata,
        guidelines=guidelines or f"Rubric {spec.name}: answer every question; guidelines are under each one.",
        distribution=rg.TaskDistribution(min_submitted=overlap_k),
        allow_extra_metadata=False,
    )


def render_context(context: list[dict[str, Any]] | None) -> str:
    """Retrieved chunks as plain text: `[id] (score 0.81)` then the chunk's text."""
    if not context:
        return NO_CONTEXT
    parts = []
    for i, chunk in enumerate(context, 1):
        head = f"[{chunk.get('id', i)}]"
        if chunk.get("score") is not None:
            head += f" (score {float(chunk['score']):.2f})"
        parts.append(f"{head}\n{chunk.get('text', '')}".rstrip())
    return "\n\n".join(parts)


@dataclass(frozen=True)
class VerdictView:
    """What a suggestion needs from a JudgeVerdict row and its config."""

    question_key: str
    value: Any
    confidence: float | None
    agent: str  # judge config name@version


def suggestion_for(spec: RubricSpec, verdict: VerdictView) -> rg.Suggestion | None:
    """A model suggestion, or None when the verdict does not fit the question (or it has no value)."""
    try:
        question = spec.question(verdict.question_key)
        value = question.check_answer(verdict.value)
    except Exception:  # noqa: BLE001 (a verdict that does not fit is simply not suggested)
        return None
    if value is None:
        return None
    score = None if verdict.confidence is None else max(0.0, min(1.0, float(verdict.confidence)))
    return rg.Suggestion(
        question_name=question.key, value=value, score=score, agent=verdict.agent, type="model"
    )


def record_for(
    trace: dict[str, Any],
    *,
    spec: RubricSpec,
    verdicts: list[VerdictView] = (),  # type: ignore[assignment]
    queue: str = "sampled",
    rubric_label: str = "",
) -> rg.Record:
    """One trace (a dict with the Trace columns) as an Argilla record, id = trace-<external id>."""
    suggestions = [s for s in (suggestion_for(spec, v) for v in verdicts) if s is not None]
    metadata = {n: str(trace.get(n) or "") or "unknown" for n in VISIBLE_METADATA}
    metadata.update(queue=queue, rubric=rubric_label or spec.name)
    return rg.Record(
        id=record_id(trace["external_id"]),
        fields={
            "input": trace.get("input") or "",
            "output": trace.get("output") or "",
            "context": render_context(trace.get("context")),
        },
        metadata=metadata,
        suggestions=suggestions,
    )


@dataclass
class PulledResponse:
    """One user's submitted answers on one record, checked against the rubric."""

    record_id: str
    user_id: UUID
    answers: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def responses_from_record(record: rg.Record, spec: RubricSpec) -> list[PulledResponse]:
    """Submitted responses grouped by user; drafts and discarded ones are left out."""
    by_user: dict[UUID, dict[str, Any]] = {}
    for response in record.responses:
        status = getattr(response.status, "value", response.status)
        if status != "submitted":
            continue
        by_user.setdefault(response.user_id, {})[response.question_name] = response.value
    out = []
    for user_id, values in by_user.items():
        pulled = PulledResponse(record_id=str(record.id), user_id=user_id)
        try:
            pulled.answers = spec.check_answers(values)
        except ValidationFailed as exc:
            pulled.problem = str(exc)
        out.append(pulled)
    return out
