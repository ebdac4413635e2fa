"""Shadow pairs: a baseline production trace and the candidate's shadow trace of the same input, shown in
positions decided per pair (deterministic, about half each way), and answers attributed back to the right
release; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from review_store.db import read_session
from review_store.errors import ValidationFailed
from review_store.ingest import ingest_file
from review_store.models import Trace
from review_store.pairwise.pairs import candidate_outcome, candidate_shown_as_a, shadow_pairs

START = datetime(2026, 6, 1, 8, 0)


def rec(trace_id: str, minutes: int, release: str, shadow_of: str | None = None) -> dict:
    out = {
        "trace_id": trace_id,
        "timestamp": (START + timedelta(minutes=minutes)).isoformat() + "Z",
        "input": f"question for {shadow_of or trace_id}",
        "output": f"answer of {release}",
        "release": release,
    }
    if shadow_of:
        out["shadow_of"] = shadow_of
    return out


def test_shadow_pairs_join_baseline_traces_to_the_candidates_shadows(engine, tmp_path):
    recs = [rec(f"p{i}", 60 - i, "r2") for i in range(40)]  # stored newest first: pairs come oldest first
    recs += [rec(f"s{i}", 61, "r3", shadow_of=f"p{i}") for i in range(0, 40, 2)]
    recs += [rec("s0-again", 62, "r3", shadow_of="p0")]  # a second shadow of p0: the first one pairs
    recs += [rec("x1", 61, "r4", shadow_of="p1")]  # another candidate
    recs += [rec("q0", 5, "r1"), rec("sq0", 6, "r3", shadow_of="q0")]  # shadows a trace of another release
    recs += [rec("orphan", 7, "r3", shadow_of="never-imported")]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert ingest_file(engine, path=path).inserted == len(recs)
    with read_session(engine) as session:
        ids = {t.external_id: t.id for t in session.scalars(select(Trace)).all()}
        pairs = shadow_pairs(session, candidate="r3", baseline="r2")
        assert [p.key for p in pairs] == [f"p{i}" for i in range(38, -1, -2)]
        assert all(ids[p.key] == p.baseline_trace_id for p in pairs)
        assert pairs[-1].candidate_trace_id == ids["s0"]
        assert all(p.candidate_trace_id == ids["s" + p.key[1:]] for p in pairs)
        assert [p.key for p in shadow_pairs(session, candidate="r4", baseline="r2")] == ["p1"]
        assert shadow_pairs(session, candidate="r3", baseline="r2", limit=3) == pairs[:3]
        assert shadow_pairs(session, candidate="r2", baseline="r3") == []  # production is never a shadow
        with pytest.raises(ValidationFailed, match="both 'r3'"):
            shadow_pairs(session, candidate="r3", baseline="r3")
    for p in pairs:
        assert p.candidate_is_a == candidate_shown_as_a(p.key)
        a, b = (
            p.release_of("a", candidate="r3", baseline="r2"),
            p.release_of("b", candidate="r3", baseline="r2"),
        )
        assert {a, b} == {"r3", "r2"}
        assert (p.a_trace_id == p.candidate_trace_id) == (a == "r3")
        assert {p.a_trace_id, p.b_trace_id} == {p.baseline_trace_id, p.candidate_trace_id}
    shown_first = sum(p.candidate_is_a for p in pairs)
    assert 0 < shown_first < len(pairs)  # both layouts occur


def test_positions_are_deterministic_and_balanced():
    keys = [f"trace-{i}" for i in range(4000)]
    first = [candidate_shown_as_a(k) for k in keys]
    assert first == [candidate_shown_as_a(k) for k in keys]
    assert 0.46 < sum(first) / len(first) < 0.54


@given(choice=st.sampled_from(["a", "b", "tie"]), candidate_is_a=st.booleans())
def test_an_answer_is_attributed_to_the_release_it_was_about(choice, candidate_is_a):
    outcome = candidate_outcome(choice, candidate_is_a=candidate_is_a)
    if choice == "tie":
        assert outcome == "tie"
    else:
        # the output picked on screen was the candidate's exactly when the outcome says the candidate won
        picked_candidate = (choice == "a") == candidate_is_a
        assert (outcome == "a") == picked_candidate
    # the other layout of the same judgement gives the same outcome
    mirrored = {"a": "b", "b": "a", "tie": "tie"}[choice]
    assert candidate_outcome(mirrored, candidate_is_a=not candidate_is_a) == outcome


def test_bad_answers_are_refused():
    with pytest.raises(ValidationFailed, match="one of a, b, tie"):
        candidate_outcome("A", candidate_is_a=True)
