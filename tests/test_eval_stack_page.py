"""AppTest: the Releases page's eval stack (unit checks -> judge -> human) shows what desk.evals.stack
reads, before and after a tier-1 check run, on the demo world."""

from __future__ import annotations

import json

from sqlmodel import Session

from review_store import golden
from review_store.db import make_engine
from review_store.demo.releases import MANIFESTS
from review_store.desk import SYSTEM, Desk
from review_store.permissions import actor_for
from review_store.releases.manifests import validate_manifest
from tests.apptest import open_app, page


def _stack_frame(at):
    return next(d.value for d in at.dataframe if "tier" in d.value.columns)


def _open(monkeypatch, url, release):
    at = open_app(monkeypatch, url, "oscar")
    at.run()
    at.switch_page(page("releases")).run()
    at.selectbox(key="rel_name").select(release).run()
    assert not at.exception, at.exception
    return at


def test_eval_stack_before_and_after_a_check_run(monkeypatch, demo_db_url, tmp_path):
    desk = Desk.open(demo_db_url)
    at = _open(monkeypatch, demo_db_url, "r2")
    frame = _stack_frame(at)
    assert list(frame["tier"]) == ["unit checks", "judge", "human"]
    expected = desk.evals.stack("r2")
    judge, human = expected.tier("judge"), expected.tier("human")
    assert judge.count > 0 and human.count > 0  # the demo judged and reviewed r2's traffic
    row = frame.set_index("tier")
    assert row.loc["unit checks", "count"] == 0 and row.loc["unit checks", "cost_usd"] == 0.0
    assert row.loc["judge", "count"] == judge.count and row.loc["judge", "passed"] == judge.passed
    assert abs(row.loc["judge", "pass_rate"] - judge.pass_rate) < 1e-12
    assert abs(row.loc["judge", "cost_usd"] - judge.cost_usd) < 1e-9
    assert row.loc["human", "count"] == human.count and row.loc["human", "effort"].startswith(
        f"{human.count} labels"
    )
    assert "Unit checks: none run yet (`review-desk eval run --release NAME`)" in [
        c.value for c in at.caption
    ]

    # r4 declares a token limit; the eval job's outputs answer every golden example, one of them too long
    engine = make_engine(demo_db_url)
    with Session(engine) as s:
        traces = [json.loads(line)["trace"] for line in golden.export_jsonl(s).splitlines()]
        olivia = actor_for(s, "olivia")
    engine.dispose()
    manifest = {**MANIFESTS["r3"], "checks": [{"kind": "max_output_tokens", "max": 5}]}
    desk.releases.create(actor=olivia, manifest_text=json.dumps(validate_manifest(manifest)), name="r4")
    outputs = "".join(
        json.dumps({"trace": t, "output": "word " * (9 if i == 0 else 3)}) + "\n"
        for i, t in enumerate(traces)
    )
    out_file = tmp_path / "r4-outputs.jsonl"
    out_file.write_text(outputs)
    run = desk.evals.run(actor=SYSTEM, release="r4", outputs=out_file)
    assert (run.cases, run.cases_passed, run.results_failed) == (len(traces), len(traces) - 1, 1)
    at = _open(monkeypatch, demo_db_url, "r4")
    row = _stack_frame(at).set_index("tier")
    assert (
        row.loc["unit checks", "count"] == len(traces) and row.loc["unit checks", "passed"] == len(traces) - 1
    )
    assert abs(row.loc["unit checks", "pass_rate"] - (len(traces) - 1) / len(traces)) < 1e-12
    assert row.loc["judge", "count"] == 0 and row.loc["human", "count"] == 0  # r4 has no traffic yet
    assert f"Unit checks: check run {run.id} (cases passing every check of the manifest; cost 0)" in [
        c.value for c in at.caption
    ]
