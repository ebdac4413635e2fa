"""THE trust verdict is one function's (judge.agreement.judge_trust): for every (question, segment) of
the demo world, the Agreement page (AppTest), `review-desk agreement --json` and the release gate row
of a metric scored by the judge in that segment show the same verdict, the same trusted flag and the
same reason."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from review_store import releases
from review_store.cli import app
from review_store.db import make_engine, session_scope
from review_store.desk import SYSTEM, Desk
from tests.apptest import open_app, page

JUDGE = "acme-judge@1"
runner = CliRunner()


def _metric(question: str, segment: str | None) -> str:
    return f"{question}:{segment or 'all'}"


def _gate_rows(url: str, pairs: list[tuple[str, str | None]]) -> dict[str, dict]:
    """A gate policy with one judge-scored metric per pair (value 1 >= 0: only trust can fail it)."""
    engine = make_engine(url)
    with session_scope(engine) as s:
        releases.create_gate_policy(
            s,
            actor=SYSTEM,
            thresholds=[{"metric": _metric(q, seg), "op": ">=", "threshold": 0} for q, seg in pairs],
        )
        metrics = {
            _metric(q, seg): {"value": 1, "judge": JUDGE, "question": q} | ({"segment": seg} if seg else {})
            for q, seg in pairs
        }
        releases.record_eval_run(s, actor=SYSTEM, release="r3", metrics=metrics)
    engine.dispose()
    result = runner.invoke(app, ["--db", url, "release", "gate", "r3", "--json"])
    assert result.exit_code in (0, 1), result.output
    return {row["metric"]: row for row in json.loads(result.stdout)["rows"]}


def test_page_cli_and_gate_show_one_verdict_per_question_and_segment(monkeypatch, demo_db_url):
    desk = Desk.open(demo_db_url)
    questions = desk.judge.questions(config=JUDGE)
    segments = (None, *desk.agreement.segments())
    pairs = [(q, seg) for q in questions for seg in segments]
    assert len(questions) >= 3 and len(segments) >= 4
    gate = _gate_rows(demo_db_url, pairs)

    at = open_app(monkeypatch, demo_db_url, "lena")
    at.run()
    at.switch_page(page("agreement")).run()
    at.selectbox(key="agreement_judge").set_value(JUDGE).run()
    seen = set()
    for question, segment in pairs:
        expected = desk.agreement.trust(judge=JUDGE, question=question, segment=segment)
        seen.add(expected.trusted)
        where = f"{question} / {segment or 'all'}"

        at.selectbox(key="agreement_question").set_value(question)
        at.selectbox(key="agreement_segment").set_value(segment or "All")
        at.run()
        assert not at.exception, at.exception
        tiles = {m.label: m.value for m in at.metric}
        shown = (tiles["Verdict"], tiles["Release evidence"] == "yes")
        assert shown == (expected.verdict, expected.trusted), where
        assert any(expected.reason in c.value for c in at.caption), where

        args = ["--db", demo_db_url, "agreement", "--judge", JUDGE, "--question", question]
        cli = runner.invoke(app, [*args, *(["--segment", segment] if segment else []), "--json"])
        assert cli.exit_code == 0, cli.output
        out = json.loads(cli.stdout)
        assert (out["verdict"], out["trust"]["trusted"], out["trust"]["reason"]) == (
            expected.verdict,
            expected.trusted,
            expected.reason,
        ), where

        row = gate[_metric(question, segment)]
        assert (row["judge_trusted"], row["result"] == "pass") == (expected.trusted, expected.trusted), where
        assert row["note"] == expected.reason, where
    assert seen == {True, False}  # the demo has trusted and untrusted pairs: the check has teeth
