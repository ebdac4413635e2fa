"""/api/v1/scores: an external evaluator posts its scores; it is just another rater (a judge config with
model "external"), so agreement, the trust verdict and the gate read its verdicts like the LLM judge's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from review_store.api.auth import ActorDep, DeskDep
from review_store.desk.judge import ExternalScores

router = APIRouter(tags=["scores"])


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=1, max_length=200, description="The trace's external id")
    question: str = Field(min_length=1, max_length=80, description="A rubric question key")
    value: int | float | str | list[str] | None = Field(description="The answer, as the rubric asks")
    confidence: float | None = Field(default=None, ge=0, le=1)
    rationale: str | None = Field(default=None, max_length=10_000)


class Scores(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evaluator: str = Field(min_length=1, max_length=120, description="The rater's name (no '@')")
    scores: list[Score] = Field(min_length=1, max_length=5000)


@router.post(
    "/scores",
    response_model=ExternalScores,
    status_code=status.HTTP_201_CREATED,
    summary="Store an external evaluator's scores (all or nothing; retries are idempotent)",
)
def post_scores(body: Scores, desk: DeskDep, actor: ActorDep) -> ExternalScores:
    rows: list[dict[str, Any]] = [s.model_dump() for s in body.scores]
    return desk.judge.record_external_scores(actor=actor, evaluator=body.evaluator, scores=rows)
