"""desk.items: the item browser. Review items with their traces filtered and paged with a total, each
user's saved views, and a lead's assignment of items to a reviewer (which the queue honours: see
review_store/items/assign.py). Open an item's trace card with desk.review.item(id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from review_store import items as store
from review_store.desk.base import Part, ReadModel
from review_store.permissions import Actor, refresh_actor, require

MAX_LIMIT = store.MAX_LIMIT


class ItemQuery(ReadModel):
    """The browser's filters; None means any. `assignee` "-" selects unassigned items; a judge score range
    needs `judge_question`."""

    segment: str | None = None
    release: str | None = None
    reason: str | None = None
    status: str | None = None
    queue: str | None = None
    assignee: str | None = None
    guardrail: str | None = None
    judge_question: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    text: str | None = None

    def active(self) -> dict[str, Any]:
        """The filters that are set (what a saved view stores)."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


class BrowsedItem(ReadModel):
    id: int
    queue: str
    reason: str
    status: str
    priority: int
    labels_done: int
    overlap_k: int
    created_at: datetime
    assignee: str | None
    trace_id: int
    trace_external_id: str
    ts: datetime
    segment: str
    release: str
    model: str
    input: str  # the first 160 characters
    output: str  # the first 160 characters
    guardrails: tuple[str, ...]
    judge_score: float | None  # on the query's judge_question, when it names one


class ItemPage(ReadModel):
    query: ItemQuery
    total: int  # items matching the query
    offset: int
    limit: int
    items: tuple[BrowsedItem, ...]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


class ItemOptions(ReadModel):
    """The values each filter can take (as they occur), and the users items can be assigned to."""

    segments: tuple[str, ...]
    releases: tuple[str, ...]
    reasons: tuple[str, ...]
    statuses: tuple[str, ...]
    queues: tuple[str, ...]
    guardrails: tuple[str, ...]
    judge_questions: tuple[str, ...]
    reviewers: tuple[str, ...]


class SavedViewModel(ReadModel):
    name: str
    query: ItemQuery
    updated_at: datetime


def _view(row: Any) -> SavedViewModel:
    return SavedViewModel(name=row.name, query=ItemQuery(**row.filters), updated_at=row.updated_at)


class ItemsPart(Part):
    def browse(self, *, actor: Actor, query: ItemQuery, offset: int = 0, limit: int = 50) -> ItemPage:
        """One page of the items matching `query` (newest first) and the total. Reviewers and leads; a judge
        score filter only for leads (review is blind: a reviewer sees no judge verdict before labelling).
        ValidationFailed names a bad filter, offset or limit (1..MAX_LIMIT)."""
        with self._read() as session:
            who = refresh_actor(session, actor)
            require(who, "browse_items")
            if query.judge_question or query.score_min is not None or query.score_max is not None:
                require(who, "browse_judge_scores")
            total, rows = store.browse(
                session, filters=store.ItemFilters.from_dict(query.active()), offset=offset, limit=limit
            )
            return ItemPage(
                query=query,
                total=total,
                offset=offset,
                limit=limit,
                items=tuple(BrowsedItem(**row) for row in rows),
            )

    def options(self) -> ItemOptions:
        """What each filter can be set to."""
        with self._read() as session:
            o = store.filter_options(session)
            return ItemOptions(
                segments=tuple(o["segment"]),
                releases=tuple(o["release"]),
                reasons=tuple(o["reason"]),
                statuses=tuple(o["status"]),
                queues=tuple(o["queue"]),
                guardrails=tuple(o["guardrail"]),
                judge_questions=tuple(o["judge_question"]),
                reviewers=tuple(o["reviewer"]),
            )

    def assign(self, *, actor: Actor, item_ids: Sequence[int], reviewer: str | None) -> int:
        """Assign open items to a reviewer (None: unassign); leads only, audited. The assignee is served
        them first and the others leave them a slot. Returns how many items changed."""
        with self._write(actor) as (session, who):
            return store.assign(session, actor=who, item_ids=item_ids, reviewer=reviewer)

    def views(self, *, actor: Actor) -> tuple[SavedViewModel, ...]:
        """The actor's saved views, by name."""
        with self._read() as session:
            return tuple(_view(row) for row in store.list_views(session, actor=actor))

    def save_view(self, *, actor: Actor, name: str, query: ItemQuery) -> SavedViewModel:
        """Save (or replace) the actor's view `name` (a judge score filter only for leads, as in browse)."""
        with self._write(actor) as (session, who):
            if query.judge_question or query.score_min is not None or query.score_max is not None:
                require(who, "browse_judge_scores")
            return _view(store.save_view(session, actor=who, name=name, filters=query.active()))

    def delete_view(self, *, actor: Actor, name: str) -> None:
        """Delete the actor's view `name` (NotFound when there is none)."""
        with self._write(actor) as (session, who):
            store.delete_view(session, actor=who, name=name)
