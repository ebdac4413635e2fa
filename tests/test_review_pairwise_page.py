"""AppTest: the Review page's A/B view of an item with a shadow pair (issue 16 part 1).

Before submit the page shows "Output A" and "Output B" in the store's positions with nothing naming or
telling apart the releases (release, model, prompt version, the production trace's own numbers); the
pairwise question offers A better / B better / Tie, answered by click or digit key, with a reason, and
it is the only rubric question drawn (the others ask about "the answer", which the blind view does not
name; the store says which questions an item asks). After submit the page names the release behind each
position, and the stored answer maps to the right release. An item without a pair shows the ordinary card
and the usual questions, no pairwise one.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from app.review_form import reason_key, widget_key
from review_store import queue, rubrics
from review_store.db import session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.desk import Desk
from review_store.models import Adjudication, Label, ReviewItem, User
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.permissions import actor_for
from tests.apptest import open_app, page
from tests.factories import make_trace

ANSWERS = {"correctness": 4, "groundedness": 5, "tone": 3, "issue_type": "none"}
QUESTION = "How do I get a refund for a double charge?"
PAIR_Q = {"key": "preference", "kind": "pairwise", "prompt": "Which answer is better?"}
BASE = {"release": "r2", "model": "model-base-7", "prompt_version": "prompt-base-7"}
CAND = {"release": "r3", "model": "model-cand-9", "prompt_version": "prompt-cand-9"}
# anything on the page that would tell the releases apart before submit
TELLS = re.compile(r"\br2\b|\br3\b|model-base-7|model-cand-9|prompt-base-7|prompt-cand-9|4321|0\.0777")


def pair_rubric(engine) -> tuple[str, str]:
    """(key, prompt) of the active rubric's pairwise question: the demo's own when it has one, else the
    demo rubric's next version gains PAIR_Q."""
    with session_scope(engine) as s:
        active = rubrics.spec_of(queue.active_rubric(s))
        found = [q for q in active.questions if q.kind == "pairwise"]
        if found:
            return found[0].key, found[0].prompt
        rubrics.create_rubric(
            s, actor=actor_for(s, "lena"), name="acme-support", questions=[*RUBRIC_QUESTIONS, PAIR_Q]
        )
        return PAIR_Q["key"], PAIR_Q["prompt"]


def pair_item(engine, key: str, *, overlap: int = 1) -> tuple[int, bool]:
    """A production trace of r2 and r3's shadow of it, queued first; (item id, candidate shown as A)."""
    with session_scope(engine) as s:
        prod = make_trace(
            s,
            external_id=key,
            input=QUESTION,
            output="baseline: refunds take 5-7 days",
            latency_ms=4321.0,
            cost_usd=0.0777,
            **BASE,
        )
        make_trace(
            s, external_id=f"{key}-s", shadow_of=key, input=QUESTION, output="candidate: refund today", **CAND
        )
        item = ReviewItem(trace_id=prod.id, priority=1000, overlap_k=overlap, reason="random")
        s.add(item)
        s.flush()
        return item.id, candidate_shown_as_a(key)


def key_with_layout(candidate_first: bool) -> str:
    return next(k for k in (f"pair-{n}" for n in range(100)) if candidate_shown_as_a(k) == candidate_first)


def _everything(at) -> str:
    """Every text the main area shows (element protos, and the tables' cells)."""
    out: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            walk(child)
        if getattr(node, "type", "") == "arrow_data_frame":
            out.append(node.value.to_csv())
        elif hasattr(node, "proto") and not hasattr(node, "children"):
            out.append(str(node.proto))

    walk(at.main)
    return "\n".join(out)


def _open_review(monkeypatch, url):
    at = open_app(monkeypatch, url, "rita")
    at.run()
    at.switch_page(page("review")).run()
    assert not at.exception, at.exception
    return at


def _outputs_shown(at) -> list[str]:
    return [c.value for c in at.code]


@pytest.mark.parametrize("candidate_first", [True, False], ids=["candidate-A", "candidate-B"])
def test_pair_is_blind_until_submit_then_names_the_releases(
    monkeypatch, demo_engine, demo_db_url, candidate_first
):
    q_key, prompt = pair_rubric(demo_engine)
    key = key_with_layout(candidate_first)
    item_id, cand_is_a = pair_item(demo_engine, key)
    assert cand_is_a == candidate_first
    at = _open_review(monkeypatch, demo_db_url)
    assert at.session_state["review_item_id"] == item_id

    # blind: both outputs by position, the input once, no release/model/prompt/numbers of either side
    cand, base = "candidate: refund today", "baseline: refunds take 5-7 days"
    a_text, b_text = (cand, base) if cand_is_a else (base, cand)
    codes = _outputs_shown(at)
    assert codes[:3] == [QUESTION, a_text, b_text]
    assert {"**Output A**", "**Output B**"} <= {m.value for m in at.markdown}
    text = _everything(at)
    assert QUESTION in text and "Output B" in text and "Rubric acme-support" in text  # the walk sees it all
    assert TELLS.findall(text) == []
    choice = at.radio(key=widget_key(item_id, q_key))
    assert choice.options == ["A better", "B better", "Tie"] and choice.value is None
    assert not any(s.value == "Releases revealed" for s in at.subheader)

    # only the pairwise question and its reason box: none of the rubric's questions about "the answer"
    drawn = {w.key for w in [*at.radio, *at.multiselect, *at.text_area] if w.key}
    assert drawn == {widget_key(item_id, q_key), reason_key(item_id, q_key), f"review_corr_{item_id}"}
    assert not any(k == widget_key(item_id, other) for other in ANSWERS for k in drawn)

    # keyboard flow: the digits answer the pairwise question straight away, 1/2/3 = A/B/Tie
    labels = {b.proto.shortcut: b.label for b in at.button if b.key and b.key.startswith("review_digit_")}
    assert labels == {"1": "A better", "2": "B better", "3": "Tie"}
    assert f"Number keys answer: {prompt}" in [c.value for c in at.caption]
    at.button(key="review_digit_2").click().run()  # B better
    assert at.radio(key=widget_key(item_id, q_key)).value == "b"  # shown as "B better"
    assert len(at.radio) == 1

    # no reason: the store refuses and says why; nothing is saved, the page is still blind
    at.button(key="review_submit").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        f"{q_key}: give a reason for the choice (what made one output better)"
    ]
    assert TELLS.findall(_everything(at)) == []

    at.text_area(key=reason_key(item_id, q_key)).input("B gives the refund timeline")
    at.button(key="review_submit").click().run()
    assert not at.exception, at.exception

    # revealed: the release behind each position, and the answer attributed to the right release
    assert any(s.value == "Releases revealed" for s in at.subheader)
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Output A was"], shown["Output B was"]) == (("r3", "r2") if cand_is_a else ("r2", "r3"))
    table = next(df.value for df in at.dataframe if "for the candidate" in df.value.columns)
    row = table.iloc[0].to_dict()
    assert row["question"] == q_key and row["your choice"] == "B better"
    assert row["preferred"] == ("r2" if cand_is_a else "r3")
    assert row["for the candidate"] == ("baseline better" if cand_is_a else "candidate better")
    assert row["reason"] == "B gives the refund timeline"
    assert {"r2", "r3"} <= set(TELLS.findall(_everything(at)))  # the same walk now finds the names
    with Session(demo_engine) as s:
        rita = s.exec(select(User).where(User.username == "rita")).one()
        label = s.exec(select(Label).where(Label.item_id == item_id, Label.reviewer_id == rita.id)).one()
    assert label.answers[q_key] == {"choice": "b", "reason": "B gives the refund timeline"}
    assert {k: label.answers.get(k) for k in ANSWERS} == dict.fromkeys(ANSWERS)  # not asked: blank
    revealed = Desk(demo_engine).review.pair_reveal(actor=actor_of(demo_engine, "rita"), item_id=item_id)
    assert revealed.answers[0].winner == ("r2" if cand_is_a else "r3")

    at.button(key="review_next").click().run()  # the next item: an ordinary one, no pair and no question
    assert not at.exception, at.exception
    nxt = at.session_state["review_item_id"]
    assert nxt != item_id
    assert not any(m.value in ("**Output A**", "**Output B**") for m in at.markdown)
    assert q_key not in {r.key.rsplit("_", 1)[-1] for r in at.radio if r.key}
    assert not any(s.value == "Releases revealed" for s in at.subheader)
    for other in ("correctness", "groundedness", "tone", "issue_type"):  # the usual questions are back
        assert at.radio(key=widget_key(nxt, other)).value is None
    assert not any(t.key == reason_key(nxt, q_key) for t in at.text_area)


def actor_of(engine, username: str):
    with Session(engine) as s:
        return actor_for(s, username)


def test_lead_adjudicates_a_pair_by_position(monkeypatch, demo_engine, demo_db_url):
    """Two reviewers prefer different outputs of one pair: the lead sees A and B in the same positions and
    answers the pairwise question too; the final answer is stored as the screen choice."""
    q_key, _ = pair_rubric(demo_engine)
    item_id, _ = pair_item(demo_engine, key_with_layout(False), overlap=2)
    desk = Desk(demo_engine)
    for username, choice in (("rita", "a"), ("raj", "b")):
        who = actor_of(demo_engine, username)
        claim = desk.review.claim(actor=who)
        assert claim.item.item.id == item_id and claim.item.pair is not None
        assert claim.asked == (q_key,)
        answers = {q_key: {"choice": choice, "reason": f"{username} prefers {choice}"}}
        desk.review.submit(actor=who, item_id=item_id, rubric_id=claim.rubric.id, answers=answers)
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("adjudication")).run()
    assert not at.exception, at.exception
    at.selectbox(key="adj_item").set_value(item_id).run()
    assert {"**Output A**", "**Output B**"} <= {m.value for m in at.markdown}
    assert [c.value for c in at.code][1:3] == ["baseline: refunds take 5-7 days", "candidate: refund today"]
    side = next(df.value for df in at.dataframe if "disagree" in df.value.columns)
    assert side.loc[q_key, "disagree"] == "differs"
    assert side.loc[q_key, "raj"] == "b · raj prefers b"
    assert [r.key for r in at.radio] == [widget_key(item_id, q_key)]  # only the pairwise question
    at.radio(key=widget_key(item_id, q_key)).set_value("tie")
    at.text_area(key=reason_key(item_id, q_key)).input("both give the same refund facts")
    at.button(key="review_submit").click().run()
    assert not at.exception, at.exception
    assert at.error == []
    with Session(demo_engine) as s:
        final = s.exec(select(Adjudication).where(Adjudication.item_id == item_id)).one()
        assert s.get(ReviewItem, item_id).status == "done"
    assert final.answers[q_key] == {"choice": "tie", "reason": "both give the same refund facts"}
    assert item_id not in (at.selectbox(key="adj_item").options if at.selectbox else [])


def test_items_page_draws_a_pair_blind(monkeypatch, demo_engine, demo_db_url):
    """The Items page opens any item's card: a pair item's is the blind A/B card there too, so browsing
    never shows which output is the production (baseline) one."""
    pair_rubric(demo_engine)
    key = key_with_layout(True)
    item_id, _ = pair_item(demo_engine, key)
    at = open_app(monkeypatch, demo_db_url, "rita")
    at.run()
    at.switch_page(page("items")).run()
    assert not at.exception, at.exception
    at.selectbox(key="items_open").set_value(item_id).run()
    assert not at.exception, at.exception
    assert {"**Output A**", "**Output B**"} <= {m.value for m in at.markdown}
    assert [c.value for c in at.code][:3] == [
        QUESTION,
        "candidate: refund today",
        "baseline: refunds take 5-7 days",
    ]
    assert not any(c.value == "Model output" for c in at.caption)
    card_text = "\n".join(t.value for t in at.text)
    assert f"Trace {key}" in card_text and TELLS.findall(card_text) == []
