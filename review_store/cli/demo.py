"""`review-desk demo`: build the Acme support assistant demo world."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, db_option, emit, fail, get_engine, json_option, resolve

CREDENTIALS_FILE = "demo-credentials.txt"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        traces: int = typer.Option(5000, "--traces", min=1, help="How many production traces to generate."),
        seed: int = typer.Option(7, "--seed", help="Same seed (and end date), same data."),
        force: bool = typer.Option(False, "--force", help="Replace whatever the database holds."),
        if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing (exit 0) when data is there."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Fill the database with 30 days of a RAG support assistant, releases r1-r3, labels and verdicts.

        Demo passwords are random, printed once and written to ./demo-credentials.txt (mode 600);
        set REVIEW_DESK_DEMO_PASSWORD to choose one for every demo user (tests, screenshots).

        Example: review-desk demo --traces 5000 --seed 7
        """
        from review_store import schema
        from review_store.demo import build_demo
        from review_store.errors import DatabaseNotEmpty

        db, as_json = resolve(db, as_json)
        schema.upgrade(db)
        engine = get_engine(db)
        if if_empty and not schema.is_empty(engine):
            note = f"the database already holds data; demo sign-ins are in {CREDENTIALS_FILE} if it was built here"
            emit({"ok": True, "built": False, "note": note}, note, as_json)
            return
        try:
            summary = build_demo(
                engine,
                seed=seed,
                traces=traces,
                force=force,
                password=os.environ.get("REVIEW_DESK_DEMO_PASSWORD"),
            )
        except DatabaseNotEmpty as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
            return
        creds = summary["credentials"]
        _write_credentials(creds)
        lines = [
            f"Built the demo world: {summary['traces']:,} traces, {summary['guardrail_events']:,} guardrail events, "
            f"{summary['verdicts']:,} judge verdicts, {summary['labels']} human labels, {summary['items']} review items "
            f"({summary['start'][:10]} .. {summary['end'][:10]}).",
            "Demo sign-ins (shown once; also in demo-credentials.txt):",
            *[f"  {name:<8} {password}" for name, password in creds.items()],
        ]
        emit({"ok": True, "built": True, **summary}, "\n".join(lines), as_json)


def _write_credentials(creds: dict[str, str]) -> None:
    path = Path(CREDENTIALS_FILE)
    path.write_text("".join(f"{user} {password}\n" for user, password in creds.items()))
    path.chmod(0o600)
