"""`review-desk audit ...`: verify, list and export the keyed trail; create its key; sign checkpoints."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from review_store.cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    acting_actor,
    desk,
    emit,
    fail,
    json_option,
    resolve,
)


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The append-only, keyed hash-chained audit trail.", no_args_is_help=True)

    @audit_app.command("verify")
    def verify(
        checkpoint: Path = typer.Option(
            None, "--checkpoint", help="A file from `audit checkpoint`: the chain must still hold it."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Check every event's keyed hash and link and the signed head; exit 1 naming the first bad seq.

        With --checkpoint, also prove that no event it covers was deleted, wiped or rewritten.
        Example: review-desk audit verify --checkpoint audit-checkpoint.json
        """
        as_json = resolve(as_json)
        text = _read(checkpoint) if checkpoint is not None else None
        _desk = desk()
        report = _desk.audit.verify(
            actor=acting_actor(_desk, None), checkpoint_text=text, source=str(checkpoint)
        )
        emit(report.to_json(), report.summary, as_json)
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)

    @audit_app.command("checkpoint")
    def checkpoint(
        out: Path = typer.Option(..., "--out", "-o", help="File to write (keep it outside the database)."),
        as_json: bool = json_option(),
    ) -> None:
        """Sign the chain's current head (seq, hash, time) with the audit key and write it to a file.

        Refused (exit 1) when the chain does not verify. Keep the file where database users cannot
        change it; `audit verify --checkpoint FILE` then detects truncation and wipes.
        Example: review-desk audit checkpoint --out checkpoints/2026-06-01.json
        """
        as_json = resolve(as_json)
        if out.exists():
            fail(
                f"{out}: exists; checkpoints are never overwritten, pick a new name", EXIT_BAD_INPUT, as_json
            )
        _desk = desk()
        view = _desk.audit.checkpoint(actor=acting_actor(_desk, None))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(view.text + "\n", encoding="utf-8")
        payload = view.to_json() | {"file": str(out)}
        payload.pop("text")
        emit(payload, f"checkpoint at seq {view.seq} (key {view.key_id}) written to {out}", as_json)

    @audit_app.command("init-key")
    def init_key(as_json: bool = json_option()) -> None:
        """Create the audit key (mode 0600) where this database's processes look for it, and anchor the chain.

        The file is $REVIEW_DESK_AUDIT_KEY_FILE, else beside a SQLite file, else
        ~/.config/review-desk/audit.key. An existing key is kept. Give every app and CLI process of a
        team the same key (the file, or its content in $REVIEW_DESK_AUDIT_KEY).
        Example: REVIEW_DESK_AUDIT_KEY_FILE=/etc/review-desk/audit.key review-desk audit init-key
        """
        as_json = resolve(as_json)
        _desk = desk()
        status = _desk.audit.init_key(actor=acting_actor(_desk, None))
        verb = "created" if status.created else "kept the existing"
        anchored = f"; chain anchored at seq {status.anchored_seq}" if status.anchored_seq else ""
        emit(status.to_json(), f"{verb} audit key {status.key_id} ({status.source}){anchored}", as_json)

    @audit_app.command("list")
    def list_(
        actor: str = typer.Option(None, "--actor", help="Only this actor."),
        action: str = typer.Option(None, "--action", help="Only this action, e.g. release.approve."),
        entity: str = typer.Option(None, "--entity", help="Only this entity, e.g. release."),
        since: datetime = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
        until: datetime = typer.Option(None, "--until", help="Before this UTC time (ISO 8601)."),
        limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
        as_json: bool = json_option(),
    ) -> None:
        """Show audit events, newest first, filtered.

        Example: review-desk audit list --entity release --limit 20
        """
        as_json = resolve(as_json)
        _desk = desk()
        events = _desk.audit.events(
            actor=acting_actor(_desk, None),
            who=actor,
            action=action,
            entity=entity,
            since=since,
            until=until,
            limit=limit,
        )
        text = "\n".join(
            f"{e.seq:>6} {e.ts.isoformat()} {e.actor:10} {e.action:24} {e.entity}:{e.entity_id} {e.payload}"
            for e in events
        )
        emit({"events": [e.to_json() for e in events]}, text or "no events", as_json)

    @audit_app.command("export")
    def export(
        fmt: str = typer.Option("jsonl", "--format", help="csv | jsonl"),
        output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
        actor: str = typer.Option(None, "--actor", help="Only this actor."),
        action: str = typer.Option(None, "--action", help="Only this action."),
        entity: str = typer.Option(None, "--entity", help="Only this entity."),
    ) -> None:
        """Export events oldest first with their hashes (CSV cells that a spreadsheet would run are quoted).

        Example: review-desk audit export --format csv -o audit.csv
        """
        if fmt not in ("csv", "jsonl"):
            fail(f"--format: expected csv or jsonl, got {fmt!r}", EXIT_BAD_INPUT)
        _desk = desk()
        data = _desk.audit.export(
            actor=acting_actor(_desk, None), format=fmt, who=actor, action=action, entity=entity
        )
        if output is None:
            typer.echo(data, nl=False)
        else:
            output.write_text(data, encoding="utf-8")
            typer.echo(f"wrote the audit events ({fmt}) to {output}", err=True)

    app.add_typer(audit_app, name="audit")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the checkpoint ({exc})", EXIT_BAD_INPUT)
        raise  # unreachable: fail() exits
