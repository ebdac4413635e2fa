"""`review-desk`: the same operations as the pages, for CI/CD and scripts.

Each module in this package adds its commands through `register(app)`; this file holds the shared
plumbing: the --db and --json options, output, and exit codes (0 ok, 1 a check or gate failed,
2 bad usage or bad input).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import typer
import typer.core

from review_store.errors import NotFound, PermissionDenied, ReviewStoreError, ValidationFailed

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _DomainErrorsGroup(typer.core.TyperGroup):
    """Domain errors become a clear message and an exit code (2 bad input, 1 refused), never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ValidationFailed, NotFound, PermissionDenied) as exc:
            _report(exc, EXIT_BAD_INPUT)
        except ReviewStoreError as exc:
            _report(exc, EXIT_FAILED)


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


state = State()


@app.callback()
def _root(
    db: str = typer.Option(
        None, "--db", help="Database URL (default: $REVIEW_STORE_URL, else ./review_desk.db)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout instead of text."),
) -> None:
    state.db = db
    state.json = as_json


def db_option() -> Any:
    return typer.Option(None, "--db", help="Database URL (overrides the global --db).")


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print one JSON object on stdout.")


def resolve(db: str | None, as_json: bool) -> tuple[str | None, bool]:
    """Per-command options win over the global ones, so both `--json cmd` and `cmd --json` work."""
    return db or state.db, as_json or state.json


def get_engine(db: str | None):
    from review_store.db import get_engine as _get

    return _get(db or state.db)


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
