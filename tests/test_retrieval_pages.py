"""AppTest: a reviewer marks the relevant chunks on the Review page (a "chunks" rubric question), and the
Overview page's Retrieval quality section shows precision@k and recall from those marks and from golden
expected_chunks; before any relevant set exists it says how to get one."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.review_form import widget_key
from review_store import retrieval, rubrics
from review_store.db import session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.models import GoldenExample, Label, ReviewItem, Trace, User
from review_store.permissions import actor_for
from tests.apptest import open_app, page

ANSWERS = {"correctness": 4, "groundedness": 5, "tone": 3, "issue_type": "none"}
CHUNKS_Q = {"key": "relevant", "kind": "chunks", "prompt": "Which retrieved chunks were relevant?"}


def _open(monkeypatch, url, username, name):
    at = open_app(monkeypatch, url, username)
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def _retrieval_table(at):
    return next(df.value for df in at.dataframe if "from reviewers" in df.value.columns)


def test_overview_says_how_to_get_a_relevant_set(monkeypatch, demo_any_url):
    at = _open(monkeypatch, demo_any_url, "oscar", "overview")
    assert any(s.value.startswith("Retrieval quality") for s in at.subheader)
    assert any("No trace has a relevant set yet" in i.value for i in at.info)


def test_reviewer_marks_chunks_and_overview_shows_retrieval_quality(monkeypatch, demo_engine, demo_db_url):
    with session_scope(demo_engine) as s:
        rubrics.create_rubric(
            s, actor=actor_for(s, "lena"), name="acme-support", questions=[*RUBRIC_QUESTIONS, CHUNKS_Q]
        )
    at = _open(monkeypatch, demo_db_url, "rita", "review")
    item_id = at.session_state["review_item_id"]
    with Session(demo_engine) as s:
        trace = s.get(Trace, s.get(ReviewItem, item_id).trace_id)
        retrieved = retrieval.chunk_ids(trace.context)
    assert retrieved
    marks = at.multiselect(key=widget_key(item_id, "relevant"))
    assert list(marks.options) == retrieved  # the trace's chunks, in rank order
    for key, value in ANSWERS.items():
        at.radio(key=widget_key(item_id, key)).set_value(value)
    marks.set_value([retrieved[-1]])
    at.button(key="review_submit").click().run()
    assert not at.exception, at.exception
    with Session(demo_engine) as s:
        rita = s.exec(select(User).where(User.username == "rita")).one()
        label = s.exec(select(Label).where(Label.reviewer_id == rita.id, Label.item_id == item_id)).one()
        golden_trace = s.exec(  # a trace beside the reviewed one (same release and segment) with chunks
            select(Trace)
            .where(Trace.release == trace.release, Trace.segment == trace.segment, Trace.id != trace.id)
            .where(Trace.top_retrieval_score.is_not(None))
            .order_by(Trace.id)
        ).first()
        golden_ids = retrieval.chunk_ids(golden_trace.context)
    assert label.answers["relevant"] == [retrieved[-1]]
    with session_scope(demo_engine) as s:  # a golden example expects its top chunk and one never retrieved
        row = s.exec(select(GoldenExample).where(GoldenExample.trace_id == golden_trace.id)).first()
        row = row or GoldenExample(trace_id=golden_trace.id, input=golden_trace.input, expected_output="ok")
        row.expected_chunks = [golden_ids[0], "kb-missing"]
        s.add(row)

    at = _open(monkeypatch, demo_db_url, "oscar", "overview")
    frame = _retrieval_table(at)
    rows = {(r["release"], r["segment"]): r for r in frame.to_dict("records")}
    assert rows[(trace.release, "(all)")]["from reviewers"] == 1
    k = 5
    p_review, r_review = retrieval.trace_scores(retrieved, {retrieved[-1]}, k)
    p_golden, r_golden = retrieval.trace_scores(golden_ids, {golden_ids[0], "kb-missing"}, k)
    assert r_golden == pytest.approx(0.5) and r_review == 1.0
    shared = rows[(trace.release, trace.segment)]
    assert (shared["traces"], shared["from golden"], shared["from reviewers"]) == (2, 1, 1)
    assert shared[f"precision@{k}"] == f"{100 * (p_review + p_golden) / 2:.1f}%"
    assert shared["recall"] == f"{100 * (r_review + r_golden) / 2:.1f}%"
