"""The Review, Escalations, Adjudication and Golden set pages through AppTest on the demo world."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, func, select

from app.review_form import short, widget_key
from review_store import queue
from review_store.demo import RUBRIC_QUESTIONS
from review_store.models import Assignment, Label, ReviewItem, Rubric, User
from tests.apptest import open_app, page
from tests.factories import make_trace

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ANSWERS = {"correctness": 4, "groundedness": 5, "tone": 3, "issue_type": "none"}


def _review(monkeypatch, url, username="rita"):
    at = open_app(monkeypatch, url, username)
    at.run()
    at.switch_page(page("review")).run()
    assert not at.exception, at.exception
    return at


def _current_item(at) -> int:
    return at.session_state["review_item_id"]


def _judge_shown(at) -> bool:
    return any(h.value == "Judge verdict" for h in at.subheader)


def test_reviewer_labels_three_items_blind_then_sees_the_judge(monkeypatch, demo_engine, demo_db_url):
    at = _review(monkeypatch, demo_db_url)
    done = []
    for _ in range(3):
        item_id = _current_item(at)
        assert not _judge_shown(at)  # blind: nothing of the judge before submit
        assert not any("rationale" in str(df.value.columns.tolist()) for df in at.dataframe)
        for key, value in ANSWERS.items():
            at.radio(key=widget_key(item_id, key)).set_value(value)
        at.button(key="review_submit").click().run()
        assert not at.exception, at.exception
        assert _judge_shown(at)
        table = at.dataframe[0].value
        assert set(table["question"]) == {"correctness", "groundedness", "tone"}
        assert set(table["agreement"]) <= {"agree", "disagree"}
        row = table[table["question"] == "correctness"].iloc[0]
        expected = "agree" if abs(int(row["judge answer"]) - 4) < 2 else "disagree"
        assert row["agreement"] == expected
        done.append(item_id)
        at.button(key="review_next").click().run()
        assert not at.exception
        assert _current_item(at) not in done
    assert [m.value for m in at.metric][:1] == ["3"]  # done today
    with Session(demo_engine) as session:
        rita = session.exec(select(User).where(User.username == "rita")).one()
        labels = session.exec(select(Label).where(Label.reviewer_id == rita.id, Label.source == "app")).all()
        rubric = session.exec(  # the newest version (v2 added the shadow run's pairwise question)
            select(Rubric).where(Rubric.name == "acme-support").order_by(Rubric.version.desc()).limit(1)
        ).one()
    assert sorted(lb.item_id for lb in labels) == sorted(done)
    for label in labels:
        assert label.rubric_id == rubric.id
        assert label.seconds_spent is not None and label.seconds_spent >= 0
        assert {k: label.answers[k] for k in ANSWERS} == ANSWERS


def test_skip_and_escalate_move_items(monkeypatch, demo_engine, demo_db_url):
    at = _review(monkeypatch, demo_db_url)
    skipped = _current_item(at)
    at.button(key="review_skip").click().run()
    assert not at.exception
    escalated = _current_item(at)
    assert escalated != skipped
    at.text_input(key="review_reason").input("customer threatens legal action")
    at.button(key="review_escalate").click().run()
    assert not at.exception
    assert _current_item(at) not in (skipped, escalated)
    with Session(demo_engine) as session:
        assert session.get(ReviewItem, skipped).status == "open"  # back for the others
        lease = session.exec(select(Assignment).where(Assignment.item_id == skipped)).one()
        assert lease.status == "skipped"
        item = session.get(ReviewItem, escalated)
        assert item.status == "escalated" and item.escalation_reason == "customer threatens legal action"
    esc = open_app(monkeypatch, demo_db_url, "rita")
    esc.run()
    esc.switch_page(page("escalations")).run()
    assert not esc.exception
    table = esc.dataframe[0].value
    assert escalated in set(table["item_id"])
    assert set(table["SLA"]) <= {"On time", "Amber: due soon", "Red: breached"}


def test_untrusted_output_renders_as_text(monkeypatch, demo_engine, demo_db_url):
    with Session(demo_engine) as session:
        trace = make_trace(session, input=XSS, output=XSS, context=[{"id": XSS, "score": 0.5, "text": XSS}])
        session.add(ReviewItem(trace_id=trace.id, priority=100, overlap_k=2, reason="random"))
        session.commit()
    at = _review(monkeypatch, demo_db_url)
    codes = [c.value for c in at.code]
    assert codes.count(XSS) >= 3  # input, output, context chunk: code blocks, never parsed
    texts = [t.value for t in at.text]
    assert any(XSS in t for t in texts)  # the chunk id: st.text
    for md in [*at.markdown, *at.caption]:
        assert "<script" not in md.value and "onerror" not in md.value
        assert not getattr(md.proto, "allow_html", False)


def test_lead_adjudicates_and_golden_page_exports(monkeypatch, demo_engine, demo_db_url):
    with Session(demo_engine) as session:
        waiting = session.exec(
            select(func.count()).select_from(ReviewItem).where(ReviewItem.status == "adjudication")
        ).one()
    assert waiting > 0
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("adjudication")).run()
    assert not at.exception
    item_id = at.selectbox(key="adj_item").value
    for key, value in ANSWERS.items():
        at.radio(key=widget_key(item_id, key)).set_value(value)
    at.button(key="review_submit").click().run()
    assert not at.exception
    with Session(demo_engine) as session:
        assert session.get(ReviewItem, item_id).status == "done"
        assert queue.queue_counts(session).get("adjudication", 0) == waiting - 1
    at.switch_page(page("golden_set")).run()
    assert not at.exception
    assert at.metric[0].value == "40"


def test_lead_settings_tabs_for_rubrics_and_sampling(monkeypatch, demo_engine, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception, at.exception
    assert {"Rubrics", "Sampling"} <= {t.label for t in at.tabs}
    at.number_input(key="sp_quota").set_value(80)
    at.button(key="sp_save").click().run()
    assert not at.exception
    assert any("version 2 is current" in s.value for s in at.success)


RATINGS = [q for q in RUBRIC_QUESTIONS if q["kind"] == "rating"]


def _digit_labels(at) -> dict[str, str]:
    return {b.proto.shortcut: b.label for b in at.button if b.key and b.key.startswith("review_digit_")}


def _own_key_in_label(at) -> list[str]:
    """Buttons whose label repeats their shortcut (Streamlit already shows the key as a badge)."""
    bad = []
    for b in at.button:
        key = b.proto.shortcut
        if not key:
            continue
        words = {key, *key.split("+")} - {""}
        if any(re.search(rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])", b.label) for w in words):
            bad.append(f"{b.label!r} (shortcut {key})")
    return bad


def test_rating_anchors_are_shown_and_keys_are_shown_once(monkeypatch, demo_db_url):
    at = _review(monkeypatch, demo_db_url)
    item_id = _current_item(at)
    assert all(q.get("anchors") for q in RATINGS) and len(RATINGS) == 3  # the demo anchors every rating
    for q in RATINGS:
        options = at.radio(key=widget_key(item_id, q["key"])).options
        for point, text in q["anchors"].items():
            assert f"{point} · {text}" in options, (q["key"], options)
        assert set(options) >= {str(p) for p in range(1, 6) if str(p) not in q["anchors"]}
    assert at.radio(key=widget_key(item_id, "groundedness")).options[0] == (
        "1 · Unsupported: contradicts or ignores the context"
    )
    # the digit row speaks the focused question's scale, one button per point, no digit in its text
    correctness = RATINGS[0]["anchors"]
    assert _digit_labels(at) == {p: short(t) for p, t in correctness.items()}
    at.button(key="review_digit_4").click().run()  # answers correctness, moves on to groundedness
    assert at.radio(key=widget_key(item_id, "correctness")).value == 4
    assert _digit_labels(at) == {
        "1": "Unsupported", "2": "In between", "3": "Partly supported", "4": "In between",
        "5": "Fully supported by the…",
    }  # fmt: skip
    assert at.button(key="review_digit_5").help == "Fully supported by the cited context"
    for digit in ("5", "3"):
        at.button(key=f"review_digit_{digit}").click().run()
    assert _digit_labels(at) == {  # issue_type: its options, in order
        "1": "none",
        "2": "wrong_policy",
        "3": "missing_information",
        "4": "unsafe",
        "5": "other",
    }
    labels = {b.key: b.label for b in at.button}
    assert (labels["review_skip"], labels["review_flag"], labels["review_escalate"]) == (
        "Skip",
        "Flag",
        "Escalate",
    )
    assert labels["review_submit"] == "Submit label"
    assert _own_key_in_label(at) == []
    at.button(key="review_digit_1").click().run()
    at.button(key="review_submit").click().run()
    assert not at.exception, at.exception
    assert at.button(key="review_next").label == "Next item" and _own_key_in_label(at) == []
    for name in ("escalations", "adjudication", "golden_set", "items"):
        lead = open_app(monkeypatch, demo_db_url, "lena")
        lead.run()
        lead.switch_page(page(name)).run()
        assert not lead.exception, (name, lead.exception)
        assert _own_key_in_label(lead) == [], name


def test_rubric_editor_takes_anchors_and_names_a_bad_one(monkeypatch, demo_engine, demo_db_url):
    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("settings")).run()
    editor = at.text_area(key="rubric_json_acme-support")
    questions = json.loads(editor.value)
    assert questions[1]["anchors"]["1"] == "Unsupported: contradicts or ignores the context"
    questions[1]["anchors"]["7"] = "Beyond the scale"
    editor.input(json.dumps(questions))
    at.button(key="rubric_save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["question 2 'groundedness': anchors.7: outside 1..5"]
    del questions[1]["anchors"]["7"]
    questions[1]["anchors"]["3"] = "Some claims supported, some not"
    at.text_area(key="rubric_json_acme-support").input(json.dumps(questions))
    at.button(key="rubric_save").click().run()
    assert not at.exception and at.error == []
    # v2 (the demo's shadow run added its pairwise question) has labels: the edit is a new version
    assert [s.value for s in at.success] == ["Saved acme-support v3."]
    with Session(demo_engine) as session:
        versions = session.exec(
            select(Rubric).where(Rubric.name == "acme-support").order_by(Rubric.version)
        ).all()
    assert [r.questions[1]["anchors"]["3"] for r in versions] == [
        "Partly supported",
        "Partly supported",
        "Some claims supported, some not",
    ]
