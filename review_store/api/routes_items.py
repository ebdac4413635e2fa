"""/api/v1/items: list (filters, cursor paging), get one, claim the next, and submit labels.

A label needs the item leased to the key's user (`POST /items/next`), like the Review page. Submitting
is idempotent: send an `Idempotency-Key` header (or `client_key`); a retry with the same key and answers
returns the stored label, the same key for another item or other answers is a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status
from pydantic import BaseModel, ConfigDict, Field

from review_store.api.auth import ActorDep, Caller, DeskDep
from review_store.desk import ValidationFailed
from review_store.desk.review_views import Claim, ItemCard, ItemPage, LabelView

router = APIRouter(tags=["items"])


class SubmitLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="{question key: answer} as the rubric asks")
    rubric_id: int | None = Field(default=None, description="Default: the rubric reviewers answer now.")
    correction: str | None = Field(default=None, max_length=100_000)
    seconds_spent: float | None = Field(default=None, ge=0)
    client_key: str | None = Field(default=None, max_length=120, description="Or the Idempotency-Key header.")


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


@router.get("/items", response_model=ItemPage, summary="Review items, filtered, in pages")
def list_items(
    desk: DeskDep,
    _: Caller,
    segment: str | None = None,
    status_: Annotated[str | None, Query(alias="status", description="open|done|adjudication|...")] = None,
    queue: Annotated[str | None, Query(description="sampled | escalation")] = None,
    strategy: Annotated[str | None, Query(description="why it was sampled: random, low_score, ...")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ItemPage:
    return desk.review.items(
        segment=segment, status=status_, queue=queue, strategy=strategy, cursor=cursor, limit=limit
    )


@router.post("/items/next", response_model=Claim, summary="Lease the next item to the key's user")
def claim(desk: DeskDep, actor: ActorDep) -> Claim:
    """The item this user should label now (the same one while the lease holds); `item` is null when
    nothing is left for them."""
    return desk.review.claim(actor=actor)


@router.get("/items/{item_id}", response_model=ItemCard, summary="One item's trace card")
def get_item(item_id: int, desk: DeskDep, _: Caller) -> ItemCard:
    return desk.review.item(item_id)


@router.post(
    "/items/{item_id}/labels",
    response_model=LabelView,
    status_code=status.HTTP_201_CREATED,
    summary="Submit the key's user's label (idempotent)",
)
def submit_label(
    item_id: int,
    body: SubmitLabel,
    desk: DeskDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(max_length=120)] = None,
) -> LabelView:
    if idempotency_key and body.client_key and idempotency_key != body.client_key:
        raise ValidationFailed("client_key: differs from the Idempotency-Key header (send one of them)")
    rubric_id = body.rubric_id
    if rubric_id is None:
        rubric_id = desk.rubrics.active().id
    return desk.review.submit(
        actor=actor,
        item_id=item_id,
        rubric_id=rubric_id,
        answers=body.answers,
        correction=body.correction,
        seconds_spent=body.seconds_spent,
        client_key=idempotency_key or body.client_key,
        source="api",
    )


@router.post("/items/{item_id}/skip", status_code=status.HTTP_204_NO_CONTENT, summary="Give the item back")
def skip(item_id: int, desk: DeskDep, actor: ActorDep) -> None:
    desk.review.skip(actor=actor, item_id=item_id)


@router.post("/items/{item_id}/flag", status_code=status.HTTP_204_NO_CONTENT, summary="Flag for escalation")
def flag(item_id: int, body: Note, desk: DeskDep, actor: ActorDep) -> None:
    desk.review.flag(actor=actor, item_id=item_id, note=body.note)


@router.post("/items/{item_id}/escalate", status_code=status.HTTP_204_NO_CONTENT, summary="Escalate")
def escalate(item_id: int, body: Reason, desk: DeskDep, actor: ActorDep) -> None:
    desk.review.escalate(actor=actor, item_id=item_id, reason=body.reason)
