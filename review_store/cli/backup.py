"""`review-desk export DIR` / `review-desk import-backup DIR`: full backup, restore and migration."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import acting_actor, desk, emit, json_option, resolve


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        directory: Path = typer.Argument(..., help="New or empty directory for the backup files."),
        format: str = typer.Option("parquet", "--format", help="parquet (default) | jsonl."),
        as_json: bool = json_option(),
    ) -> None:
        """Write every table plus manifest.json (schema revision, row counts, sha256 per file), signed
        with the audit key so a restore can tell an edited backup from a genuine one.

        Example: review-desk export backups/2026-11-23 --format jsonl
        """
        as_json = resolve(as_json)
        _desk = desk()
        view = _desk.backup.export(actor=acting_actor(_desk, None), directory=str(directory), format=format)
        emit(
            {"ok": True, **view.to_json()},
            f"exported {len(view.tables)} tables, {view.rows} rows ({view.format}) to {directory}, "
            f"signed with audit key {view.key_id}",
            as_json,
        )

    @app.command("import-backup")
    def import_backup(
        directory: Path = typer.Argument(..., help="A directory written by `review-desk export`."),
        key_file: Path = typer.Option(
            None,
            "--key-file",
            help="Audit key of the database the backup came from (default: this database's key).",
        ),
        accept_unsigned: bool = typer.Option(
            False, "--accept-unsigned", help="Restore a backup written before backups were signed."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Restore a backup into an EMPTY database (creates the tables if there are none).

        Every checksum and the manifest's signature are checked first, and the restored audit chain is
        verified before commit: an edited, forged or corrupted backup is named and nothing is imported
        (exit 2). A database that holds any row is refused (exit 2). Move SQLite to PostgreSQL this way.
        Example: review-desk --db postgresql+psycopg://me@db/reviews import-backup backups/2026-11-23 --key-file review_desk.db.audit-key
        """
        as_json = resolve(as_json)
        view = desk().backup.restore(
            directory=str(directory),
            key_file=str(key_file) if key_file else None,
            accept_unsigned=accept_unsigned,
        )
        emit(
            {"ok": True, **view.to_json()},
            f"restored {view.rows} rows into {len(view.tables)} tables; audit chain verified",
            as_json,
        )
