"""`review-desk audit ...`: verify the tamper-evident trail."""

from __future__ import annotations

import typer

from review_store.cli import EXIT_FAILED, db_option, emit, get_engine, json_option, resolve


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)

    @audit_app.command("verify")
    def verify(db: str = db_option(), as_json: bool = json_option()) -> None:
        """Check every event's hash and link; exit 1 naming the first bad seq.

        Example: review-desk audit verify --json
        """
        from review_store import audit
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            result = audit.verify(session)
        if result.ok:
            emit(result.as_dict(), f"audit chain intact: {result.checked} events", as_json)
            return
        emit(result.as_dict(), f"audit chain BROKEN at seq {result.first_bad_seq}: {result.problem}", as_json)
        raise typer.Exit(EXIT_FAILED)

    app.add_typer(audit_app, name="audit")
