"""`review-desk`: the same operations as the pages, for CI/CD and scripts.

Each module in this package adds its commands through `register(app)`; this file holds the shared
plumbing: the global --db (the one database setting: `review-desk --db URL COMMAND`, else
$REVIEW_STORE_URL, else ./review_desk.db), the --json options, output, and exit codes (0 ok, 1 a check or
gate failed, 2 bad usage or bad input).
"""

from __future__ import annotations

import getpass
import importlib
import json
import os
import pkgutil
import socket
import sys
from typing import Any

import typer
import typer.core

from review_store.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, ReviewStoreError, exit_code_for

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "acting_actor", "app", "desk", "emit", "fail", "main"]


class _DomainErrorsGroup(typer.core.TyperGroup):
    """Domain errors become a clear message and an exit code (errors.exit_code_for), never a traceback."""

    def invoke(self, ctx):
        from review_store.permissions import forget_presented

        try:
            return super().invoke(ctx)
        except ReviewStoreError as exc:
            _report(exc, exit_code_for(exc))
        finally:
            forget_presented()  # a token given to this command never speaks for a later caller


def _report(exc: Exception, code: int) -> None:
    if state.json:
        typer.echo(json.dumps({"ok": False, "error": str(exc)}))
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    cls=_DomainErrorsGroup,
    name="review-desk",
    help="LLMOps Review Desk: review, judge agreement, gated releases and dashboards from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class State:
    db: str | None = None
    json: bool = False
    token: str | None = None  # the credential this command presented (never from a flag value)
    origin: str = ""  # OS user and host, recorded by the audit for what runs as "system"


state = State()
TOKEN_ENV = "REVIEW_DESK_TOKEN"


@app.callback()
def _root(
    db: str = typer.Option(
        None,
        "--db",
        help="Database URL for any command; give it before the command (default: $REVIEW_STORE_URL, "
        "else ./review_desk.db).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout instead of text."),
    token_stdin: bool = typer.Option(
        False,
        "--token-stdin",
        help=f"Read your personal token from the first line of stdin (else ${TOKEN_ENV}); needed for --as NAME.",
    ),
) -> None:
    from review_store.permissions import present

    state.db = db
    state.json = as_json
    state.origin = _origin()
    state.token = sys.stdin.readline().strip() if token_stdin else os.environ.get(TOKEN_ENV, "").strip()
    if token_stdin and not state.token:
        fail("--token-stdin: no token on stdin")
    present(token=state.token or None, origin=state.origin)


def _origin() -> str:
    """user@host of the shell running the command (the audit's answer to "which system?")."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def acting_actor(desk: Any, as_user: str | None) -> Any:
    """Who this command acts as: `--as NAME` needs NAME's personal token (REVIEW_DESK_TOKEN or
    --token-stdin); no --as and no token is the operator ("system" with the OS user and host, system
    operations only). Every command resolves its actor here (permissions.resolve_actor is the rule)."""
    return desk.users.acting(as_user=as_user, token=state.token or None, origin=state.origin or _origin())


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print one JSON object on stdout.")


def resolve(as_json: bool) -> bool:
    """Both `--json cmd` and `cmd --json` work: either turns JSON on (a domain error raised later is then
    reported as JSON too)."""
    state.json = as_json or state.json
    return state.json


def desk(*, as_of: str | None = None, migrate: bool = False):
    """The facade on the global --db (else REVIEW_STORE_URL, else the default file); `as_of` (ISO
    date/time) pins its clock; `migrate` upgrades the schema first (commands that create a database)."""
    from review_store.clock import FixedClock, parse_instant
    from review_store.desk import Desk

    clock = None
    if as_of:
        try:
            clock = FixedClock(parse_instant(as_of, field="--as-of"))
        except ValueError as exc:
            fail(str(exc))
    return Desk.open(state.db, clock=clock, migrate=migrate)


def emit(payload: dict[str, Any], text: str, as_json: bool) -> None:
    """Print either the human text or the JSON object."""
    if as_json or state.json:
        typer.echo(json.dumps(payload, default=str, ensure_ascii=False))
    else:
        typer.echo(text)


def fail(message: str, code: int = EXIT_BAD_INPUT, as_json: bool = False) -> None:
    """Report an error (stderr, or a JSON object on stdout) and exit with the code."""
    if as_json or state.json:
        typer.echo(json.dumps({"ok": False, "error": message}))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _load_commands() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{module.name}")
        register = getattr(mod, "register", None)
        if register is not None:
            register(app)


_load_commands()


def main() -> None:
    """Console entry point."""
    app()
