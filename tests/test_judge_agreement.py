"""Judge vs humans from the store, on a hand-built world (SQLite and PostgreSQL): the store's numbers equal
agreement.summarize on the same table built by hand, adjudications win, the trust rule, the views."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from review_store import agreement as ag
from review_store import judge, rubrics
from review_store import settings as team_settings
from review_store.db import read_session, session_scope
from review_store.desk import Desk
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.judge import agreement as ja
from review_store.judge import agreement_views as views
from review_store.models import Adjudication, JudgeVerdict, Label, ReviewItem
from review_store.permissions import SYSTEM
from tests.factories import make_trace, make_user

QUESTIONS = [
    {"key": "score", "kind": "rating", "min": 1, "max": 5, "prompt": "Quality?"},
    {"key": "kind", "kind": "label", "options": ["ok", "wrong", "rude"], "prompt": "Problem?"},
]
# item -> (segment, {reviewer: score}, judge score, adjudicated score or None)
WORLD = {
    0: ("billing", {"ann": 5, "bob": 5}, 5, None),
    1: ("billing", {"ann": 4, "bob": 3}, 4, None),
    2: ("billing", {"ann": 1, "bob": 2, "cy": 1}, 1, None),
    3: ("refunds", {"ann": 2, "bob": 5}, 5, 2),  # adjudicated: the judge's 5 is 3 steps off
    4: ("refunds", {"ann": 3, "bob": 3}, 1, None),
    5: ("refunds", {"ann": 4, "cy": 4}, 4, None),
    6: ("refunds", {"bob": 2}, None, None),  # no verdict: left out
}
KINDS = {0: "ok", 1: "ok", 2: "wrong", 3: "wrong", 4: "rude", 5: "ok", 6: "ok"}
JUDGE_KINDS = {0: "ok", 1: "wrong", 2: "wrong", 3: "wrong", 4: "ok", 5: "ok"}


@pytest.fixture
def world(engine):
    with session_scope(engine) as s:
        lead = make_user(s, role="lead", username="lead")
        people = {name: make_user(s, username=name) for name in ("ann", "bob", "cy")}
        rubric = rubrics.create_rubric(s, actor=lead, name="r", questions=QUESTIONS)
        config = judge.create_judge_config(s, actor=lead, name="j", model="openai/x", rubric_id=rubric.id)
        second = judge.create_judge_config(
            s, actor=lead, name="j", model="openai/y", rubric_id=rubric.id, params={"temperature": 0}
        )
        for item_no, (segment, scores, judged, settled) in WORLD.items():
            trace = make_trace(s, segment=segment)
            item = ReviewItem(trace_id=trace.id, overlap_k=len(scores), status="done")
            s.add(item)
            s.flush()
            for name, score in scores.items():
                s.add(
                    Label(
                        item_id=item.id,
                        reviewer_id=people[name].id,
                        rubric_id=rubric.id,
                        answers={"score": score, "kind": KINDS[item_no]},
                    )
                )
            if settled is not None:
                s.add(
                    Adjudication(
                        item_id=item.id,
                        adjudicator_id=lead.id,
                        rubric_id=rubric.id,
                        answers={"score": settled},
                    )
                )
            if judged is not None:
                for key, value in (("score", judged), ("kind", JUDGE_KINDS[item_no])):
                    s.add(
                        JudgeVerdict(
                            trace_id=trace.id,
                            judge_config_id=config.id,
                            question_key=key,
                            value=value,
                            score=float(value) if key == "score" else None,
                            rationale=f"because {item_no}",
                            cost_usd=0.002,
                        )
                    )
                if item_no in (0, 5):  # the second version judged two items, exactly like every human
                    s.add(
                        JudgeVerdict(
                            trace_id=trace.id,
                            judge_config_id=second.id,
                            question_key="score",
                            value=scores["ann"],
                            score=float(scores["ann"]),
                            cost_usd=0.001,
                        )
                    )
    Desk(engine).rollups.rebuild(actor=SYSTEM)  # verdicts written directly: roll them up as writers do
    return engine, lead


def _hand_table_each() -> pd.DataFrame:
    """Units: each label of a judged, unadjudicated item; an adjudicated item is one unit."""
    cols, human, judged = [], [], []
    for item_no, (_, scores, j, settled) in WORLD.items():
        if j is None:
            continue
        entries = [("(adjudicated)", settled)] if settled is not None else sorted(scores.items())
        for rater, value in entries:
            cols.append(f"{item_no}:{rater}")
            human.append(float(value))
            judged.append(float(j))
    return pd.DataFrame([human, judged], index=["human", "judge"], columns=cols)


def test_judge_vs_human_equals_summarize_on_the_hand_built_table(world):
    engine, _ = world
    with read_session(engine) as s:
        got = ja.judge_vs_human(s, judge="j@1", question="score", seed=4, resamples=300)
    want = ag.summarize(
        _hand_table_each(), level="ordinal", seed=4, resamples=300, value_domain=range(1, 6)
    ).to_dict()
    for key, value in want.items():
        if key == "unpairable_items":
            continue
        assert got[key] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value), key
    assert got["n_items"] == 12 and got["n_labelled_items"] == 6
    assert got["cohen_kappa"] is not None and got["ci95"][0] <= got["krippendorff_alpha"] <= got["ci95"][1]
    matrix = np.array(got["confusion"]["matrix"])
    assert matrix.sum() == 12 and matrix[2][0] == 2  # item 4: humans 3, judge 1 (two labels)
    assert matrix[1][4] == 1  # item 3: adjudicated 2, judge 5 (the labels 2 and 5 do not count)


def test_majority_mode_and_human_ceiling(world):
    engine, _ = world
    with read_session(engine) as s:
        got = ja.judge_vs_human(s, judge="j@1", question="score", human="majority", resamples=0)
        ceiling = ja.human_human(s, question="score", resamples=0)
    # majority: item 0 -> 5, item 1 tie (unpairable), 2 -> 1, 3 adjudicated 2, 4 -> 3, 5 -> 4
    hand = pd.DataFrame(
        [[5.0, np.nan, 1.0, 2.0, 3.0, 4.0], [5.0, 4.0, 1.0, 5.0, 1.0, 4.0]], index=["human", "judge"]
    )
    assert got["krippendorff_alpha"] == pytest.approx(ag.krippendorff_alpha(hand, level="ordinal"), abs=1e-12)
    assert got["n_unpairable_items"] == 1 and got["n_blank_values"] == 1
    raters = {"ann": {}, "bob": {}, "cy": {}}
    for item_no, (_, scores, _, _) in WORLD.items():
        for name, score in scores.items():
            raters[name][item_no] = score
    table = pd.DataFrame(raters).T
    assert ceiling["krippendorff_alpha"] == pytest.approx(
        ag.krippendorff_alpha(table, level="ordinal"), abs=1e-12
    )
    assert got["human_human_alpha"] == pytest.approx(ceiling["krippendorff_alpha"], abs=1e-12)


def test_label_question_is_nominal(world):
    engine, _ = world
    with read_session(engine) as s:
        got = ja.judge_vs_human(s, judge="j@1", question="kind", resamples=0)
        gaps = views.disagreements(s, judge="j@1", question="kind")
    assert got["level"] == "nominal" and got["confusion"]["labels"] == ["ok", "wrong", "rude"]
    # items where judge kind differs from a human kind: 1 (ok vs wrong) and 4 (rude vs ok)
    assert sorted(g["trace_id"] for g in gaps) == sorted(g["trace_id"] for g in gaps if g["gap"] == 1.0)
    assert len(gaps) == 2


def test_trust_rule(world):
    engine, lead = world
    with read_session(engine) as s:
        few = ja.judge_trust(s, judge="j@1", question="score")
    assert (few.trusted, few.verdict, few.n_items) == (False, "insufficient data", 6)
    assert "at least 50" in few.reason
    with session_scope(engine) as s:
        team_settings.put(s, actor=lead, key="judge.trust", value={"min_items": 2, "trusted_alpha": 0.8})
    with read_session(engine) as s:
        noisy = ja.judge_trust(s, judge="j@1", question="score")
        exact = ja.judge_trust(s, judge="j@2", question="score")
    assert noisy.n_items == 6 and noisy.ci_low is not None and noisy.ci_low < 0.8 and not noisy.trusted
    assert "below the trusted threshold" in noisy.reason
    assert exact.trusted and exact.alpha == pytest.approx(1.0) and exact.ci_low == pytest.approx(1.0)
    assert (exact.verdict, exact.judge, exact.question, exact.n_items) == ("trusted", "j@2", "score", 2)


def test_trust_uses_one_answer_per_item(world):
    """Adjudicated answer, else the median of the labels (item 1: 4 and 3 -> 3.5, its own ordinal value)."""
    engine, _ = world
    human = [5.0, 3.5, 1.0, 2.0, 3.0, 4.0]
    judged = [5.0, 4.0, 1.0, 5.0, 1.0, 4.0]
    want = krippendorff.alpha(reliability_data=[human, judged], level_of_measurement="ordinal")
    with read_session(engine) as s:
        trust = ja.judge_trust(s, judge="j@1", question="score")
        shown = ja.judge_vs_human(s, judge="j@1", question="score", human="item", resamples=0)
        config = judge.get_judge_config(s, "j@1")
        question = ja.comparable_question(s, config, "score")
        frame = ja.pairs(s, config=config, question=question, human="item")
    by_item = frame.sort_values("item")
    assert by_item["human"].tolist() == human and by_item["judge"].tolist() == judged
    assert trust.alpha == pytest.approx(want, abs=1e-12) and trust.n_items == 6
    assert trust.ci_low is not None and trust.ci_low <= trust.alpha <= trust.ci_high
    assert shown["krippendorff_alpha"] == pytest.approx(want, abs=1e-12)
    assert 3.5 in shown["confusion"]["labels"] and shown["n_labelled_items"] == 6


def test_disagreements_largest_gap_first_with_rationale(world):
    engine, _ = world
    with read_session(engine) as s:
        gaps = views.disagreements(s, judge="j@1", question="score")
        detail = views.trace_side_by_side(s, trace_id=gaps[0]["trace_id"], judge="j@1")
    assert [g["gap"] for g in gaps] == [3.0, 2.0, 1.0, 1.0]
    assert gaps[0]["adjudicated"] == 2 and gaps[0]["judge_value"] == 5
    assert gaps[1]["human_labels"] == "ann: 3, bob: 3" and gaps[1]["judge_rationale"] == "because 4"
    assert {label["reviewer"] for label in detail["labels"]} == {"ann", "bob"}
    assert detail["adjudications"][0]["answers"] == {"score": 2}
    assert {v["question"] for v in detail["verdicts"]} == {"score", "kind"}


def test_compare_trend_segments_and_cost(world):
    engine, _ = world
    with read_session(engine) as s:
        side = views.compare_configs(s, a="j@1", b="j@2", question="score", resamples=100)
        trend = views.version_trend(s, judge="j", question="score", resamples=100)
        seg = views.by_segment(s, judge="j@1", question="score", resamples=0)
    assert side["n_common_items"] == 2
    one, two = side["configs"]
    assert one["n_labelled_items"] == two["n_labelled_items"] == 2
    assert two["krippendorff_alpha"] == pytest.approx(1.0)
    assert one["cost_per_1k_usd"] == pytest.approx(2.0) and two["cost_per_1k_usd"] == pytest.approx(1.0)
    assert [r["config"] for r in trend] == ["j@1", "j@2"] and trend[1]["n_labelled_items"] == 2
    assert [r["segment"] for r in seg] == ["billing", "refunds"]
    assert [r["n_labelled_items"] for r in seg] == [3, 3]


def test_reviewer_quality_is_for_leads(world):
    engine, lead = world
    with read_session(engine) as s:
        rows = views.reviewer_quality(s, actor=lead, question="score")
        with pytest.raises(PermissionDenied):
            views.reviewer_quality(s, actor=make_user(s, username="rev"), question="score")
    by = {r["reviewer"]: r for r in rows}
    assert by["ann"]["n_labels"] == 6 and by["cy"]["n_labels"] == 2


def test_unknown_question_and_config_without_verdicts(world):
    engine, _ = world
    with read_session(engine) as s:
        with pytest.raises(ValidationFailed, match="score, kind"):
            ja.judge_vs_human(s, judge="j@1", question="nope")
        empty = ja.judge_vs_human(s, judge="j@2", question="kind")
        ids = views.sample_unjudged_traces(s, judge="j@2", n=10)
    assert empty["n_labelled_items"] == 0 and empty["krippendorff_alpha"] is None
    assert empty["verdict"] == "insufficient data" and len(ids) == 5
