"""`review-desk release ...` through typer's CliRunner, on the demo world and an empty database."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import session_scope
from tests.factories import cli_token, make_user
from tests.test_releases import MANIFEST

runner = CliRunner()


def _run(*args):
    """Invoke the CLI; whoever `--as` names presents their own personal token (as in real use)."""
    argv = [str(a) for a in args]
    env = None
    if "--as" in argv and "--db" in argv:
        env = cli_token(argv[argv.index("--db") + 1], argv[argv.index("--as") + 1])
    return runner.invoke(app, argv, env=env)


def test_gate_r2_exits_1_with_failing_rows_and_r3_exits_0(demo_any_url):
    r2 = _run("--db", demo_any_url, "release", "gate", "r2")
    assert r2.exit_code == 1
    failing = [line for line in r2.stdout.splitlines() if " fail " in line]
    assert any(line.startswith("groundedness_rate:refunds") and "0.71" in line for line in failing)
    r3 = _run("--db", demo_any_url, "release", "gate", "r3", "--json")
    assert r3.exit_code == 0 and json.loads(r3.stdout)["passed"] is True


def test_watch_flags_r2(demo_any_url):
    out = _run("--db", demo_any_url, "release", "watch", "--json")
    status = json.loads(out.stdout)
    assert out.exit_code == 1 and status["live"] == "r2" and status["baseline"] == "r1"
    assert any(c["flagged"] and c["metric"] == "grounding per 1k traces in refunds" for c in status["checks"])


def test_sign_off_refusals_and_canary(demo_db_url):
    db = ("--db", demo_db_url)
    author = _run(*db, "release", "approve", "r3", "--as", "olivia", "--comment", "mine")
    assert author.exit_code == 2 and "four-eyes" in author.output
    reviewer = _run(*db, "release", "approve", "r3", "--as", "rita", "--comment", "ok")
    assert reviewer.exit_code == 2 and "may not approve" in reviewer.output
    ok = _run(*db, "release", "approve", "r3", "--as", "oscar", "--comment", "gates pass")
    assert ok.exit_code == 0, ok.output
    stages = [
        json.loads(_run(*db, "release", "promote", "r3", "--as", "oscar", "--json").stdout)["stage_pct"]
        for _ in range(4)
    ]
    assert stages == [5, 25, 50, 100]
    again = _run(*db, "release", "promote", "r3", "--as", "oscar")
    assert again.exit_code == 1 and "100 %" in again.output
    back = json.loads(_run(*db, "release", "rollback", "--as", "oscar", "--json").stdout)
    assert back["live"] == "r1"


def test_create_from_yaml_warns_on_unpinned_model_and_diffs(engine, db_url, tmp_path):
    with session_scope(engine) as s:
        make_user(s, role="owner", username="olivia")
    path = tmp_path / "r9.yaml"
    path.write_text(yaml.safe_dump(dict(MANIFEST, models={"default": "openai/gpt-4o"})))
    out = _run("--db", db_url, "release", "create", "--manifest", path, "--as", "olivia")
    assert out.exit_code == 0, out.output
    assert (
        "created r9" in out.stdout and "warning: models.default: 'openai/gpt-4o' is not pinned" in out.stdout
    )
    (tmp_path / "r10.json").write_text(json.dumps(dict(MANIFEST, name="r10")))
    assert (
        _run(
            "--db", db_url, "release", "create", "--manifest", tmp_path / "r10.json", "--as", "olivia"
        ).exit_code
        == 0
    )
    diff = _run("--db", db_url, "release", "diff", "r9", "r10")
    assert (
        "[models] changed" in diff.stdout
        and "default: 'openai/gpt-4o' -> 'openai/gpt-4o-mini-2024-07-18'" in diff.stdout
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("prompts:\n  system: hi\n  - stray\n")
    refused = _run("--db", db_url, "release", "create", "--manifest", bad, "--as", "olivia")
    assert refused.exit_code == 2 and "bad.yaml:3" in refused.output


def test_eval_import_schema(demo_db_url, tmp_path):
    path = tmp_path / "eval.json"
    path.write_text(
        json.dumps(
            {
                "release": "r3",
                "golden_set_version": "g2",
                "metrics": {
                    "p95_latency_ms": 2000,
                    "correctness_accuracy": {
                        "value": 0.93,
                        "judge": "acme-judge@1",
                        "question": "correctness",
                    },
                },
            }
        )
    )
    out = _run("--db", demo_db_url, "release", "eval-import", path, "--as", "lena", "--json")
    assert out.exit_code == 0 and len(json.loads(out.stdout)["eval_run_ids"]) == 1
    path.write_text(json.dumps({"release": "r3", "metrics": {"x": "high"}}))
    bad = _run("--db", demo_db_url, "release", "eval-import", path, "--as", "lena")
    assert bad.exit_code == 2 and "metrics.x.value" in bad.output


def test_every_release_and_audit_command_has_an_example():
    for group in ("release", "audit"):
        typer_group = next(g for g in app.registered_groups if g.name == group).typer_instance
        for command in typer_group.registered_commands:
            assert "Example:" in (command.callback.__doc__ or ""), command.callback.__name__


def test_create_name_flag_overrides_the_manifests_own_name(engine, db_url, tmp_path):
    with session_scope(engine) as s:
        make_user(s, role="owner", username="olivia")
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(dict(MANIFEST, name="from-manifest")))
    out = _run(
        "--db", db_url, "release", "create", "--manifest", path, "--name", "other", "--as", "olivia", "--json"
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["name"] == "other"
    own = _run("--db", db_url, "release", "create", "--manifest", path, "--as", "olivia", "--json")
    assert own.exit_code == 0, own.output
    assert json.loads(own.stdout)["name"] == "from-manifest"
    listed = json.loads(_run("--db", db_url, "release", "list", "--json").stdout)
    hashes = {r["name"]: r["manifest_hash"] for r in listed["releases"]}
    assert hashes["other"] == hashes["from-manifest"]  # the name is metadata, not part of the system
    help_text = _run("release", "create", "--help").stdout
    assert "overrides the manifest" in help_text
    path.write_text(yaml.safe_dump(dict(MANIFEST, name=["x"])))
    bad = _run("--db", db_url, "release", "create", "--manifest", path, "--as", "olivia")
    assert bad.exit_code == 2 and "m.yaml: field 'name'" in bad.output
