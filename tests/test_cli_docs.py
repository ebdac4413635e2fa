"""Every CLI command explains itself: --help works and shows an example (as sqlite-utils does)."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from review_store.cli import app
from tests.factories import cli_token

runner = CliRunner()


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


def test_cli_has_the_foundation_commands():
    names = {" ".join(c) for c in ALL_COMMANDS}
    assert {"db upgrade", "demo", "serve", "users add", "users list", "audit verify"} <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=[" ".join(c) for c in ALL_COMMANDS])
def test_every_command_has_help_with_an_example(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"review-desk {' '.join(path)} --help shows no example"


def test_the_database_is_one_global_option():
    """`--db` is given once, before the command; no subcommand has its own (bad usage: exit 2)."""
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "--db" in top.output and "REVIEW_STORE_URL" in top.output
    for path in ALL_COMMANDS:
        params = typer.main.get_command(app)
        for name in path:
            params = params.commands[name]
        assert not any("--db" in p.opts for p in params.params), f"review-desk {' '.join(path)} has --db"
    late = runner.invoke(app, ["release", "gate", "r3", "--db", "sqlite:///nowhere.db"])
    assert late.exit_code == 2 and "No such option: --db" in late.output


def test_cli_demo_users_and_audit_round_trip(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    built = runner.invoke(app, ["--db", db, "--json", "demo", "--traces", "300"])
    assert built.exit_code == 0, built.output
    again = runner.invoke(app, ["--db", db, "demo", "--traces", "300"])
    assert again.exit_code == 2 and "--force" in again.output
    skipped = runner.invoke(app, ["--db", db, "demo", "--if-empty"])
    assert skipped.exit_code == 0 and "already holds data" in skipped.output
    added = runner.invoke(
        app,
        ["--db", db, "users", "add", "maria", "--role", "reviewer", "--password-stdin", "--as", "adam"],
        input="a-long-password\n",
        env=cli_token(db, "adam"),
    )
    assert added.exit_code == 0, added.output
    bad = runner.invoke(app, ["--db", db, "users", "add", "x", "--role", "boss"])
    assert bad.exit_code == 2
    verified = runner.invoke(app, ["--db", db, "--json", "audit", "verify"])
    assert verified.exit_code == 0 and '"ok": true' in verified.output
    assert (tmp_path / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600
