"""`review-desk audit ...`: verify, list and export the tamper-evident trail."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from review_store.cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    db_option,
    emit,
    fail,
    get_engine,
    json_option,
    resolve,
)


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

    @audit_app.command("list")
    def list_(
        actor: str = typer.Option(None, "--actor", help="Only this actor."),
        action: str = typer.Option(None, "--action", help="Only this action, e.g. release.approve."),
        entity: str = typer.Option(None, "--entity", help="Only this entity, e.g. release."),
        since: datetime = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
        until: datetime = typer.Option(None, "--until", help="Before this UTC time (ISO 8601)."),
        limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Show audit events, newest first, filtered.

        Example: review-desk audit list --entity release --limit 20
        """
        db, as_json = resolve(db, as_json)
        rows = _rows(db, actor=actor, action=action, entity=entity, since=since, until=until, limit=limit)
        text = "\n".join(
            f"{r['seq']:>6} {r['ts']} {r['actor']:10} {r['action']:24} {r['entity']}:{r['entity_id']} {r['payload']}"
            for r in rows
        )
        emit({"events": rows}, text or "no events", as_json)

    @audit_app.command("export")
    def export(
        fmt: str = typer.Option("jsonl", "--format", help="csv | jsonl"),
        output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
        actor: str = typer.Option(None, "--actor", help="Only this actor."),
        action: str = typer.Option(None, "--action", help="Only this action."),
        entity: str = typer.Option(None, "--entity", help="Only this entity."),
        db: str = db_option(),
    ) -> None:
        """Export events oldest first with their hashes, so the chain can be re-checked elsewhere.

        Example: review-desk audit export --format csv -o audit.csv
        """
        from review_store.audit.export import to_csv, to_jsonl

        if fmt not in ("csv", "jsonl"):
            fail(f"--format: expected csv or jsonl, got {fmt!r}", EXIT_BAD_INPUT)
        db, _ = resolve(db, False)
        rows = list(reversed(_rows(db, actor=actor, action=action, entity=entity, limit=None)))
        data = to_csv(rows) if fmt == "csv" else to_jsonl(rows)
        if output is None:
            typer.echo(data, nl=False)
        else:
            output.write_text(data, encoding="utf-8")
            typer.echo(f"wrote {len(rows)} events to {output}", err=True)

    app.add_typer(audit_app, name="audit")


def _rows(db, *, limit, **filters) -> list[dict]:
    from review_store.audit.export import event_rows
    from review_store.db import read_session

    with read_session(get_engine(db)) as session:
        return event_rows(session, limit=limit, **filters)
