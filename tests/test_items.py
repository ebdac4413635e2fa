"""The item browser's store and facade on SQLite and PostgreSQL: filters, totals and pages; saved views per
user; a lead's assignment, which the queue honours (the assignee first, a slot kept for them)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from review_store import rubrics, sampling
from review_store.db import session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.desk import Desk
from review_store.desk.items import ItemQuery
from review_store.errors import NotFound, PermissionDenied, ValidationFailed
from review_store.models import AuditEvent, JudgeConfig, JudgeVerdict, ReviewItem
from review_store.permissions import SYSTEM
from tests.factories import make_guardrail_event, make_trace, make_user


def _world(engine, *, k: int = 1):
    """12 traces (billing / refunds, r1 / r2), grounding events on the refunds ones, judge scores 1-5,
    every trace sampled into the queue with overlap k; two reviewers and a lead."""
    with session_scope(engine) as session:
        rubric = rubrics.create_rubric(session, actor=SYSTEM, name="support", questions=RUBRIC_QUESTIONS)
        ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
        lead = make_user(session, role="lead", username="lea")
        owner = make_user(session, role="owner", username="own")
        config = JudgeConfig(name="j", model="m", prompt_template="p", rubric_id=rubric.id, content_hash="x")
        session.add(config)
        session.flush()
        for n in range(12):
            refunds = n % 2 == 1
            trace = make_trace(
                session,
                segment="refunds" if refunds else "billing",
                release="r2" if n >= 6 else "r1",
                input=f"Where is my REFUND {n}?" if refunds else f"Invoice question {n}",
            )
            if refunds:
                make_guardrail_event(session, trace, name="grounding")
            session.add(
                JudgeVerdict(
                    trace_id=trace.id,
                    judge_config_id=config.id,
                    question_key="correctness",
                    value=1 + n % 5,
                    score=float(1 + n % 5),
                    segment=trace.segment,
                    release=trace.release,
                )
            )
        sampling.sample(session, actor=SYSTEM, strategy="random", n=12, overlap_k=k)
    return ann, bob, lead, owner


def _desk(db_url):
    return Desk.open(db_url)


def test_browse_filters_totals_and_pages(engine, db_url):
    ann, _, lead, owner = _world(engine)
    items = _desk(db_url).items
    everything = items.browse(actor=ann, query=ItemQuery(), limit=5)
    assert everything.total == 12 and len(everything.items) == 5 and everything.pages == 3
    last = items.browse(actor=ann, query=ItemQuery(), offset=10, limit=5)
    assert len(last.items) == 2
    seen = {i.id for i in everything.items} | {i.id for i in last.items}
    middle = items.browse(actor=ann, query=ItemQuery(), offset=5, limit=5)
    assert len(seen | {i.id for i in middle.items}) == 12  # pages do not overlap
    refunds = items.browse(actor=ann, query=ItemQuery(segment="refunds", release="r2"))
    assert refunds.total == 3 and {(i.segment, i.release) for i in refunds.items} == {("refunds", "r2")}
    grounding = items.browse(actor=ann, query=ItemQuery(guardrail="grounding"))
    assert grounding.total == 6 and all(i.guardrails == ("grounding",) for i in grounding.items)
    text = items.browse(actor=ann, query=ItemQuery(text="refund"))  # case-insensitive, input or output
    assert text.total == 6
    assert items.browse(actor=ann, query=ItemQuery(text="100%_")).total == 0  # wildcards are literal
    scored = items.browse(actor=lead, query=ItemQuery(judge_question="correctness", score_max=2))
    assert scored.total == 6 and all(i.judge_score <= 2 for i in scored.items)
    assert items.browse(actor=ann, query=ItemQuery(status="open", reason="random")).total == 12
    with pytest.raises(ValidationFailed, match="filters.status"):
        items.browse(actor=ann, query=ItemQuery(status="opn"))
    with pytest.raises(ValidationFailed, match="filters.judge_question"):
        items.browse(actor=lead, query=ItemQuery(score_min=3))
    with pytest.raises(ValidationFailed, match="limit"):
        items.browse(actor=ann, query=ItemQuery(), limit=1000)
    with pytest.raises(PermissionDenied):
        items.browse(actor=owner, query=ItemQuery())
    with pytest.raises(PermissionDenied):  # review is blind: no judge scores for reviewers
        items.browse(actor=ann, query=ItemQuery(judge_question="correctness", score_max=2))
    with pytest.raises(PermissionDenied):
        items.save_view(actor=ann, name="low", query=ItemQuery(judge_question="correctness"))
    options = items.options()
    assert options.segments == ("billing", "refunds") and options.guardrails == ("grounding",)
    assert options.reviewers == ("ann", "bob", "lea") and options.judge_questions == ("correctness",)


def test_saved_views_are_per_user_validated_and_replaceable(engine, db_url):
    ann, bob, _, _ = _world(engine)
    items = _desk(db_url).items
    saved = items.save_view(actor=ann, name="refunds r2", query=ItemQuery(segment="refunds", release="r2"))
    assert saved.query == ItemQuery(segment="refunds", release="r2")
    items.save_view(actor=ann, name="refunds r2", query=ItemQuery(segment="refunds"))  # replaces
    assert [(v.name, v.query.segment, v.query.release) for v in items.views(actor=ann)] == [
        ("refunds r2", "refunds", None)
    ]
    assert items.views(actor=bob) == ()
    with pytest.raises(ValidationFailed, match="filters.status"):
        items.save_view(actor=ann, name="bad", query=ItemQuery(status="nope"))
    with pytest.raises(ValidationFailed, match="view name"):
        items.save_view(actor=ann, name="  ", query=ItemQuery())
    items.delete_view(actor=ann, name="refunds r2")
    assert items.views(actor=ann) == ()
    with pytest.raises(NotFound):
        items.delete_view(actor=ann, name="refunds r2")


def test_the_queue_serves_an_assigned_item_to_its_assignee_only(engine, db_url):
    ann, bob, lead, _ = _world(engine, k=1)
    desk = _desk(db_url)
    oldest_last = desk.items.browse(actor=lead, query=ItemQuery(), limit=12).items
    target = oldest_last[0].id  # the newest item: without the assignment it would be served last
    assert desk.items.assign(actor=lead, item_ids=[target], reviewer="bob") == 1
    assert desk.items.assign(actor=lead, item_ids=[target], reviewer="bob") == 0  # unchanged
    assigned = desk.items.browse(actor=lead, query=ItemQuery(assignee="bob"))
    assert [i.id for i in assigned.items] == [target] and assigned.items[0].assignee == "bob"
    assert desk.items.browse(actor=lead, query=ItemQuery(assignee="-")).total == 11
    served_to_ann = set()
    for _ in range(11):  # ann drains everything else and never gets bob's item
        claim = desk.review.claim(actor=ann)
        assert claim.item is not None and claim.item.item.id != target
        served_to_ann.add(claim.item.item.id)
        desk.review.skip(actor=ann, item_id=claim.item.item.id)
    assert desk.review.claim(actor=ann).item is None
    assert desk.review.claim(actor=bob).item.item.id == target  # bob gets it first
    with session_scope(engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity == "review_item")).all()
        assert actions.count("review_item.assign") == 1


def test_with_overlap_two_one_other_reviewer_may_label_beside_the_assignee(engine, db_url):
    ann, bob, lead, _ = _world(engine, k=2)
    desk = _desk(db_url)
    ids = [i.id for i in desk.items.browse(actor=lead, query=ItemQuery(), limit=12).items]
    desk.items.assign(actor=lead, item_ids=ids, reviewer="bob")
    with session_scope(engine) as session:
        assert all(i.assigned_to_id is not None for i in session.exec(select(ReviewItem)).all())
    with session_scope(engine) as session:
        cy = make_user(session, username="cy")
    first = desk.review.claim(actor=ann).item
    assert first is not None  # k=2: one slot kept for bob, the other for anybody
    taken = first.item.id
    for _ in range(11):  # cy never gets ann's item: its second slot is bob's
        claim = desk.review.claim(actor=cy).item
        assert claim is not None and claim.item.id != taken
        desk.review.skip(actor=cy, item_id=claim.item.id)
    assert desk.review.claim(actor=cy).item is None
    assert desk.review.claim(actor=bob).item.item.id in ids
    desk.items.assign(actor=lead, item_ids=ids, reviewer=None)  # unassigned: back to everyone
    assert desk.items.browse(actor=lead, query=ItemQuery(assignee="-")).total == 12


def test_assignment_is_for_leads_open_items_and_active_labellers(engine, db_url):
    ann, bob, lead, owner = _world(engine)
    desk = _desk(db_url)
    item = desk.items.browse(actor=lead, query=ItemQuery(), limit=1).items[0].id
    with pytest.raises(PermissionDenied):
        desk.items.assign(actor=ann, item_ids=[item], reviewer="bob")
    with pytest.raises(ValidationFailed, match="own is a owner"):
        desk.items.assign(actor=lead, item_ids=[item], reviewer="own")
    with pytest.raises(NotFound, match="no user 'zed'"):
        desk.items.assign(actor=lead, item_ids=[item], reviewer="zed")
    with pytest.raises(NotFound, match="no review item 999999"):
        desk.items.assign(actor=lead, item_ids=[item, 999999], reviewer="bob")
    with session_scope(engine) as session:
        row = session.get(ReviewItem, item)
        row.status = "done"
        session.add(row)
    with pytest.raises(ValidationFailed, match="only open items"):
        desk.items.assign(actor=lead, item_ids=[item], reviewer="bob")
    assert desk.items.browse(actor=lead, query=ItemQuery(assignee="bob")).total == 0
