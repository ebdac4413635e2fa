"""AppTest: the Releases page's Shadow run section (issue 16 part 1) shows, for the selected candidate, each
pairwise question's outcomes against the release it shadowed (candidate better, baseline better, ties),
the win rate, the CI of delta, the sign test and the gate's non-inferiority verdict against the policy's
margin; the gate table carries the same rule's rows. The numbers shown are the store's
(desk.pairwise.for_release), and the store's counts are the planned answers, written in each pair's
screen layout, added to whatever shadow run of r3 the demo already has."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest
from sqlmodel import Session, select

from review_store import rubrics
from review_store.db import session_scope
from review_store.demo import RUBRIC_QUESTIONS
from review_store.desk import Desk
from review_store.models import Label, ReviewItem, User
from review_store.pairwise.pairs import candidate_shown_as_a
from review_store.permissions import actor_for
from tests.apptest import open_app, page
from tests.factories import make_trace

PAIRWISE = [
    {"key": "preference", "kind": "pairwise", "prompt": "Which answer is better?"},
    {"key": "style", "kind": "pairwise", "prompt": "Which answer reads better?", "required": False},
]
# planned candidate outcomes per pair: preference clearly improves, style is worse than its margin
PREFERENCE = ["a"] * 14 + ["b"] * 3 + ["tie"] * 3
STYLE = ["a"] * 3 + ["b"] * 12 + ["tie"] * 5
SWAP = {"a": "b", "b": "a", "tie": "tie"}


def _counts(report, question: str) -> tuple[int, int, int]:
    if report is None:
        return 0, 0, 0
    found = [q.human for q in report.questions if q.question == question]
    return (found[0].wins, found[0].losses, found[0].ties) if found else (0, 0, 0)


def _table(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _shadow_run(engine) -> None:
    """The rubric gains two pairwise questions; 20 production traces of r2 shadowed by r3, each labelled
    by rita with the planned outcome written as the screen choice of that pair's layout."""
    with session_scope(engine) as s:
        lena = actor_for(s, "lena")
        questions = [q for q in RUBRIC_QUESTIONS if q["kind"] != "pairwise"] + PAIRWISE
        rubric = rubrics.create_rubric(s, actor=lena, name="acme-support", questions=questions)
        rita = s.exec(select(User).where(User.username == "rita")).one()
        for i, (pref, style) in enumerate(zip(PREFERENCE, STYLE, strict=True)):
            key = f"shadow-page-{i}"
            prod = make_trace(s, external_id=key, release="r2")
            make_trace(s, external_id=f"{key}-r3", release="r3", shadow_of=key, input=prod.input)
            item = ReviewItem(trace_id=prod.id, overlap_k=1, status="done", labels_done=1, reason="random")
            s.add(item)
            s.flush()
            flip = (lambda o: o) if candidate_shown_as_a(key) else SWAP.get
            answers = {
                "preference": {"choice": flip(pref), "reason": "planned"},
                "style": {"choice": flip(style), "reason": "planned"},
            }
            s.add(Label(item_id=item.id, reviewer_id=rita.id, rubric_id=rubric.id, answers=answers))


def _policy(engine, desk: Desk) -> None:
    kept = [t.model_dump() for t in desk.releases.gate_policy().thresholds]
    kept = [
        {k: t[k] for k in ("metric", "op", "threshold")}
        for t in kept
        if not t["metric"].startswith("pairwise:")
    ]
    with Session(engine) as s:
        lena = actor_for(s, "lena")
    desk.releases.create_gate_policy(
        actor=lena,
        thresholds=[
            *kept,
            {"metric": "pairwise:preference", "op": ">=", "threshold": -0.1},
            {"metric": "pairwise:style", "op": ">=", "threshold": -0.05},
        ],
    )


def test_releases_page_shows_the_shadow_run_and_the_rule(monkeypatch, demo_engine, demo_db_url):
    desk = Desk(demo_engine)
    before = desk.pairwise.for_release("r3")
    _shadow_run(demo_engine)
    _policy(demo_engine, desk)
    report = desk.pairwise.for_release("r3")
    assert report is not None and report.baseline == "r2"
    for question, planned in (("preference", PREFERENCE), ("style", STYLE)):
        was = _counts(before, question)
        added = (planned.count("a"), planned.count("b"), planned.count("tie"))
        assert _counts(report, question) == tuple(w + a for w, a in zip(was, added, strict=True))
    by_q = {q.question: q for q in report.questions}
    pref, style = by_q["preference"], by_q["style"]
    assert pref.human.sign_p == pytest.approx(
        binomtest(pref.human.wins, pref.human.wins + pref.human.losses).pvalue
    )
    assert (pref.critical, pref.holds, style.critical, style.holds) == (True, True, True, False)

    at = open_app(monkeypatch, demo_db_url, "oscar")
    at.run()
    at.switch_page(page("releases")).run()
    assert not at.exception, at.exception
    at.selectbox(key="rel_name").set_value("r3").run()
    assert not at.exception, at.exception

    # the section's verdict, then one row per question and source with the store's numbers
    assert any(
        e.value.startswith(f"Shadow run against r2: {report.pairs} pairs; a critical question may be worse")
        for e in at.error
    )
    table = _table(at, "candidate_better")
    human = table[table["source"] == "human"].set_index("question")
    for q in (pref, style):
        row = human.loc[q.question]
        h = q.human
        assert (row["n"], row["candidate_better"], row["baseline_better"], row["ties"]) == (
            h.n,
            h.wins,
            h.losses,
            h.ties,
        )
        assert row["win_rate"] == pytest.approx(h.win_rate)
        assert row["delta"] == pytest.approx(h.delta, abs=5e-4)
        assert row["ci"] == f"[{h.ci_low:+.3f}, {h.ci_high:+.3f}]"
        assert row["sign_p"] == pytest.approx(h.sign_p, abs=5e-5)
        assert row["margin"] == q.margin and row["note"] == q.note
    assert human.loc["preference", "rule"] == "holds" and human.loc["style", "rule"] == "FAILS"
    assert human.loc["preference", "note"].startswith("improves: delta ")

    # the gate table: the same rule, the style row failing first
    gate = _table(at, "judge_trusted").set_index("metric")
    assert gate.loc["pairwise:preference", "result"] == "pass"
    assert gate.loc["pairwise:style", "result"] == "fail"
    assert gate.loc["pairwise:style", "note"] == f"vs r2: {style.note}"
    assert any(e.value.startswith("Gate FAILS") for e in at.error)


def test_a_release_without_a_shadow_run_says_so(monkeypatch, demo_db_url, demo_engine):
    desk = Desk(demo_engine)
    names = [r.name for r in desk.releases.list().releases]
    lonely = next(n for n in names if desk.pairwise.for_release(n) is None)
    at = open_app(monkeypatch, demo_db_url, "oscar")
    at.run()
    at.switch_page(page("releases")).run()
    at.selectbox(key="rel_name").set_value(lonely).run()
    assert not at.exception, at.exception
    assert "No shadow run: no shadow trace of this release answers a production trace." in [
        c.value for c in at.caption
    ]
    assert not [d for d in at.dataframe if "candidate_better" in d.value.columns]
