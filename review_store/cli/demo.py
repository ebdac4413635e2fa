"""`review-desk demo`: build the Acme support assistant demo world."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import typer

from review_store.cli import desk, emit, fail, json_option, resolve

CREDENTIALS_FILE = "demo-credentials.txt"


def _end_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--end: {text!r} is not an ISO date (e.g. 2026-06-01)")
    return None


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        traces: int = typer.Option(5000, "--traces", min=1, help="How many production traces to generate."),
        seed: int = typer.Option(7, "--seed", help="Same seed (and end date), same data."),
        end: str = typer.Option(
            None,
            "--end",
            help="The world's 30 days end at midnight of this ISO date (default: today, from the clock; "
            "REVIEW_DESK_NOW moves it).",
        ),
        force: bool = typer.Option(False, "--force", help="Replace whatever the database holds."),
        if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing (exit 0) when data is there."),
        as_json: bool = json_option(),
    ) -> None:
        """Fill the database with 30 days of a RAG support assistant, releases r1-r3, labels and verdicts.

        Demo passwords are random, printed once and written to ./demo-credentials.txt (mode 600);
        set REVIEW_DESK_DEMO_PASSWORD to choose one for every demo user (tests, screenshots).

        Example: review-desk demo --traces 5000 --seed 7 --end 2026-06-01
        """
        as_json = resolve(as_json)
        end_date = _end_date(end)
        summary = desk(migrate=True).demo.build(
            seed=seed,
            traces=traces,
            end=end_date,
            password=os.environ.get("REVIEW_DESK_DEMO_PASSWORD"),
            if_empty=if_empty,
            force=force,
        )
        if not summary.built:
            note = f"{summary.note}; demo sign-ins are in {CREDENTIALS_FILE} if it was built here"
            emit({"ok": True, **summary.to_json(), "note": note}, note, as_json)
            return
        _write_credentials({c.username: c.password for c in summary.credentials})
        lines = [
            f"Built the demo world (seed {summary.seed}): {summary.traces:,} traces, "
            f"{summary.guardrail_events:,} guardrail events, {summary.verdicts:,} judge verdicts, "
            f"{summary.labels} human labels, {summary.items} review items "
            f"({summary.start:%Y-%m-%d} .. {summary.end:%Y-%m-%d}, ending at midnight UTC).",
            "Demo sign-ins (shown once; also in demo-credentials.txt):",
            *[f"  {c.username:<8} {c.role:<9} {c.password}" for c in summary.credentials],
        ]
        emit({"ok": True, **summary.to_json()}, "\n".join(lines), as_json)


def _write_credentials(creds: dict[str, str]) -> None:
    path = Path(CREDENTIALS_FILE)
    path.write_text("".join(f"{user} {password}\n" for user, password in creds.items()))
    path.chmod(0o600)
