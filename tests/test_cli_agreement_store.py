"""`review-desk agreement --judge --question [--segment]`: the same JSON keys as --ratings plus
human_human_alpha, the store's numbers, and clear exit-2 errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import make_engine, read_session
from review_store.judge import agreement as ja

runner = CliRunner()
TWO_RATERS = "item,rater,value\nu1,a,1\nu1,b,2\nu2,a,3\nu2,b,3\nu3,a,4\nu3,b,\n"


def _ratings_keys(tmp_path) -> set[str]:
    path = tmp_path / "r.csv"
    path.write_text(TWO_RATERS, encoding="utf-8")
    result = runner.invoke(app, ["agreement", "--ratings", str(path), "--level", "ordinal", "--json"])
    assert result.exit_code == 0, result.output
    return set(json.loads(result.stdout))


def test_same_keys_as_ratings_plus_human_human_alpha(tmp_path, demo_any_url):
    args = ["--db", demo_any_url, "agreement", "--judge", "acme-judge@1", "--question", "correctness"]
    result = runner.invoke(app, [*args, "--segment", "refunds", "--json", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert _ratings_keys(tmp_path) | {"human_human_alpha"} <= set(out)
    with read_session(make_engine(demo_any_url)) as s:
        expected = ja.judge_vs_human(
            s, judge="acme-judge@1", question="correctness", segment="refunds", human="item", resamples=200
        )
        trust = ja.judge_trust(s, judge="acme-judge@1", question="correctness", segment="refunds")
    assert out["krippendorff_alpha"] == expected["krippendorff_alpha"]
    assert out["ci95"] == expected["ci95"] and out["n_labelled_items"] == expected["n_labelled_items"]
    assert out["human_human_alpha"] == expected["human_human_alpha"] and out["segment"] == "refunds"
    assert (out["verdict"], out["trust"]["trusted"]) == (trust.verdict, trust.trusted)
    assert out["trust"]["reason"] == trust.reason and out["trust"]["segment"] == "refunds"


def test_text_output_and_bad_input(demo_db_url):
    base = ["--db", demo_db_url, "agreement"]
    text = runner.invoke(app, [*base, "--judge", "acme-judge", "--question", "tone", "--resamples", "50"])
    assert text.exit_code == 0, text.output
    assert "human-human alpha (ceiling)" in text.stdout and "verdict:" in text.stdout
    missing = runner.invoke(app, [*base, "--judge", "acme-judge@1", "--json"])
    assert missing.exit_code == 2 and "go together" in json.loads(missing.stdout)["error"]
    unknown = runner.invoke(app, [*base, "--judge", "nobody", "--question", "tone", "--json"])
    assert unknown.exit_code == 2 and "no judge config nobody" in json.loads(unknown.stdout)["error"]
    bad_q = runner.invoke(app, [*base, "--judge", "acme-judge@1", "--question", "notes", "--json"])
    assert bad_q.exit_code == 2 and "correctness" in json.loads(bad_q.stdout)["error"]
