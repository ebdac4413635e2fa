"""The pairwise question kind and the review screen's blind A/B read model, on SQLite and PostgreSQL: the
rubric validates and versions it; it is answered on items whose trace has a shadow pair and left blank on
the others; the card shows the outputs at their positions with no release named; after submit the reveal
names the releases and maps the screen answer to the candidate."""

from __future__ import annotations

import pytest
from sqlmodel import select

from review_store import rubrics, sampling
from review_store.db import session_scope
from review_store.desk import Desk
from review_store.desk.review_views import PairView
from review_store.errors import ConflictError, ValidationFailed
from review_store.models import ReviewItem, Trace
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.permissions import SYSTEM
from tests.factories import make_trace, make_user

QUESTIONS = [
    {"key": "correct", "kind": "rating", "min": 1, "max": 5},
    {"key": "better", "kind": "pairwise", "prompt": "Which answer is better?", "guidelines": "Facts first."},
]


def test_the_pairwise_kind_validates_round_trips_and_versions(engine):
    spec = rubrics.RubricSpec.from_dicts("mig", QUESTIONS)
    q = spec.question("better")
    assert q.required  # where it applies (an item with a shadow pair)
    assert q.to_dict() == {
        "key": "better",
        "kind": "pairwise",
        "prompt": "Which answer is better?",
        "guidelines": "Facts first.",
        "required": True,
    }
    assert rubrics.Question.from_dict(q.to_dict()) == q
    assert q.check_answer({"choice": " A ", "reason": " shorter, cites the policy "}) == {
        "choice": "a",
        "reason": "shorter, cites the policy",
    }
    assert q.check_answer(None) is None and q.check_answer({}) is None  # blank: checked with the trace
    bad = [
        ("a", r"a pairwise answer is \{'choice'"),
        ({"choice": "left", "reason": "x"}, r"choice 'left' is not one of a \(A is better\), b .*tie"),
        ({"choice": "b"}, "give a reason"),
        ({"choice": "b", "reason": "   "}, "give a reason"),
        ({"choice": "b", "reason": "x" * 2001}, "the reason has 2001 characters; keep it to 2000"),
        ({"choice": "b", "reason": "x", "winner": "r3"}, "unknown field.*winner"),
    ]
    for value, message in bad:
        with pytest.raises(ValidationFailed, match=f"better: {message}"):
            q.check_answer(value)
    with pytest.raises(ValidationFailed, match="kind 'pair' is not one of .*chunks, pairwise"):
        rubrics.RubricSpec.from_dicts("mig", [{"key": "x", "kind": "pair"}])
    with pytest.raises(ValidationFailed, match="only rating questions have scale anchors"):
        rubrics.RubricSpec.from_dicts("mig", [{"key": "x", "kind": "pairwise", "anchors": {"1": "bad"}}])

    with session_scope(engine) as s:  # versioning as every kind: a used version is immutable
        lead = make_user(s, role="lead")
        v1 = rubrics.create_rubric(s, actor=lead, name="mig", questions=QUESTIONS[:1])
        v1_id = v1.id
        edited = rubrics.edit_rubric(s, actor=lead, rubric_id=v1_id, questions=QUESTIONS)
        assert (edited.id, edited.version) == (v1_id, 1)  # unused: changed in place
        again = rubrics.create_rubric(s, actor=lead, name="mig", questions=QUESTIONS)
        assert again.id == v1_id  # unchanged content keeps the version
        changed = [QUESTIONS[0], {**QUESTIONS[1], "guidelines": "Tone second."}]
        assert rubrics.create_rubric(s, actor=lead, name="mig", questions=changed).version == 2


def _world(engine) -> dict:
    """r2 production traces p0..p5 (each sampled into the queue, k=2) and r3 shadows of p0..p3; a shadow of
    p0 from r4 stored later (the first stored shadow is the pair); two reviewers."""
    with session_scope(engine) as s:
        rubric = rubrics.create_rubric(s, actor=SYSTEM, name="mig", questions=QUESTIONS)
        ann, bob = make_user(s, username="ann"), make_user(s, username="bob")
        prod = [
            make_trace(s, external_id=f"p{i}", release="r2", input=f"input {i}", output=f"r2 says {i}")
            for i in range(6)
        ]
        for i in range(4):
            make_trace(s, external_id=f"s{i}", release="r3", shadow_of=f"p{i}", input=f"input {i}",
                       output=f"r3 says {i}")  # fmt: skip
        make_trace(s, external_id="x0", release="r4", shadow_of="p0", output="r4 says 0")
        taken = sampling.sample(s, actor=SYSTEM, strategy="random", n=50, overlap_k=2)
        assert taken.created == 6  # shadow traces are never sampled on their own
        items = {
            ext: item_id
            for item_id, ext in s.exec(
                select(ReviewItem.id, Trace.external_id).join(Trace, Trace.id == ReviewItem.trace_id)
            ).all()
        }
        return {"rubric": rubric.id, "ann": ann, "bob": bob, "items": items, "prod": [p.id for p in prod]}


def _claim_until(desk, actor, item_id):
    """Claim until `item_id` is served (skipping the others), returning its card."""
    for _ in range(10):
        claim = desk.review.claim(actor=actor)
        assert claim.item is not None
        if claim.item.item.id == item_id:
            return claim
        desk.review.skip(actor=actor, item_id=claim.item.item.id)
    raise AssertionError(f"item {item_id} was never served")


def test_the_card_shows_the_pair_blind_and_the_reveal_maps_the_answer(engine, db_url):
    w = _world(engine)
    desk = Desk.open(db_url)
    for i in range(4):
        card = desk.review.item(w["items"][f"p{i}"])
        pair = card.pair
        assert pair is not None and pair.input == f"input {i}"
        cand_a = candidate_shown_as_a(f"p{i}")
        assert (pair.output_a, pair.output_b) == (
            (f"r3 says {i}", f"r2 says {i}") if cand_a else (f"r2 says {i}", f"r3 says {i}")
        )
    assert {candidate_shown_as_a(f"p{i}") for i in range(4)} == {True, False}  # both layouts occur here
    assert desk.review.item(w["items"]["p4"]).pair is None
    assert set(PairView.model_fields) == {
        "item_id",
        "questions",
        "input",
        "output_a",
        "output_b",
    }  # no release

    target = w["items"]["p1"]
    claim = _claim_until(desk, w["ann"], target)
    assert claim.item.pair.questions == ("better",)
    assert claim.asked == ("better",)  # a pair item asks only the pairwise question, not "correct"
    with pytest.raises(ConflictError, match="after you label it"):
        desk.review.pair_reveal(actor=w["ann"], item_id=target)
    with pytest.raises(ValidationFailed, match="better: an answer is required"):
        desk.review.submit(actor=w["ann"], item_id=target, rubric_id=w["rubric"], answers={"correct": None})
    answer = {"choice": "a", "reason": "A cites the refund policy"}
    with pytest.raises(
        ValidationFailed, match=r"correct: not asked on this item: it has a shadow pair.*better"
    ):
        desk.review.submit(
            actor=w["ann"], item_id=target, rubric_id=w["rubric"], answers={"correct": 4, "better": answer}
        )
    label = desk.review.submit(
        actor=w["ann"], item_id=target, rubric_id=w["rubric"], answers={"better": answer}
    )
    values = dict((a.key, a.value) for a in label.answers)
    stored = values["better"]
    assert (stored.choice, stored.reason) == ("a", "A cites the refund policy")  # the screen answer
    assert values.get("correct") is None  # not asked: stored blank

    reveal = desk.review.pair_reveal(actor=w["ann"], item_id=target)
    cand_a = candidate_shown_as_a("p1")
    assert (reveal.candidate, reveal.baseline) == ("r3", "r2")
    assert (reveal.release_a, reveal.release_b) == (("r3", "r2") if cand_a else ("r2", "r3"))
    (row,) = reveal.answers
    assert (row.question, row.choice, row.reason) == ("better", "a", "A cites the refund policy")
    assert row.winner == reveal.release_a
    assert row.outcome == ("a" if cand_a else "b")  # a: the candidate was better
    after = desk.review.after_submit(actor=w["ann"], item_id=target)
    assert after.pair == reveal
    with pytest.raises(ConflictError):
        desk.review.pair_reveal(actor=w["bob"], item_id=target)  # bob has not labelled it


def test_the_question_applies_only_where_a_pair_exists(engine, db_url):
    w = _world(engine)
    desk = Desk.open(db_url)
    lonely = w["items"]["p5"]
    assert _claim_until(desk, w["ann"], lonely).asked == ("correct",)  # unchanged: every other question
    with pytest.raises(ValidationFailed, match="correct: an answer is required"):
        desk.review.submit(actor=w["ann"], item_id=lonely, rubric_id=w["rubric"], answers={})
    with pytest.raises(ValidationFailed, match="better: this item has no shadow pair"):
        desk.review.submit(
            actor=w["ann"],
            item_id=lonely,
            rubric_id=w["rubric"],
            answers={"correct": 3, "better": {"choice": "tie", "reason": "same"}},
        )
    desk.review.submit(actor=w["ann"], item_id=lonely, rubric_id=w["rubric"], answers={"correct": 3})
    assert desk.review.pair_reveal(actor=w["ann"], item_id=lonely) is None
    assert desk.review.after_submit(actor=w["ann"], item_id=lonely).pair is None

    # the pair of p0 is r3's shadow (stored first), not r4's
    with session_scope(engine) as s:
        from review_store.pairwise.pairs import pair_for_trace

        found = pair_for_trace(s, trace_id=w["prod"][0])
        assert (found.candidate, found.baseline) == ("r3", "r2")
        shadow = s.exec(select(Trace.id).where(Trace.external_id == "s0")).one()
        assert pair_for_trace(s, trace_id=shadow) is None  # a shadow trace has no pair of its own


def _label_everything(desk, w, actor, choices: dict[str, str]) -> None:
    """The reviewer labels every item served, in the queue's order: only a pairwise choice where there is
    a pair (`choices` by production trace, "tie" otherwise), only the rating elsewhere."""
    names = {item_id: ext for ext, item_id in w["items"].items()}
    while (claim := desk.review.claim(actor=actor)).item is not None:
        item_id = claim.item.item.id
        answers: dict = {"correct": 4}
        if claim.item.pair is not None:
            choice = choices.get(names[item_id], "tie")
            answers = {"better": {"choice": choice, "reason": f"{actor.username}'s reason"}}
        desk.review.submit(actor=actor, item_id=item_id, rubric_id=w["rubric"], answers=answers)


def test_reviewers_disagree_on_the_choice_not_on_the_reason(engine, db_url):
    w = _world(engine)
    desk = Desk.open(db_url)
    _label_everything(desk, w, w["ann"], {"p2": "b", "p3": "a"})
    _label_everything(desk, w, w["bob"], {"p2": "b", "p3": "tie"})
    statuses = {key: desk.review.item(item_id).item.status for key, item_id in w["items"].items()}
    assert statuses == {
        "p0": "done",
        "p1": "done",
        "p2": "done",
        "p3": "adjudication",
        "p4": "done",
        "p5": "done",
    }
    (case,) = desk.review.adjudication_queue()
    assert case.item_id == w["items"]["p3"] and case.disagree == ("better",)
    assert case.asked == ("better",)  # the adjudication form draws only the pairwise question too
    with session_scope(engine) as s:
        lead = make_user(s, role="lead")
    settled = {"better": {"choice": "a", "reason": "ok"}}
    with pytest.raises(ValidationFailed, match="correct: not asked on this item"):
        desk.review.adjudicate(actor=lead, item_id=case.item_id, answers={"correct": 4, **settled})
    with pytest.raises(ValidationFailed, match="better: an answer is required"):
        desk.review.adjudicate(actor=lead, item_id=case.item_id, answers={})
    desk.review.adjudicate(actor=lead, item_id=case.item_id, answers=settled)
    assert desk.review.item(case.item_id).item.status == "done"
