"""`review-desk export DIR` / `review-desk import-backup DIR`: full backup, restore and migration."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, db_option, emit, fail, get_engine, json_option, resolve


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        directory: Path = typer.Argument(..., help="New or empty directory for the backup files."),
        format: str = typer.Option("parquet", "--format", help="parquet (default) | jsonl."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Write every table plus manifest.json (schema revision, row counts, sha256 per file).

        Example: review-desk export backups/2026-11-23 --format jsonl
        """
        from review_store.backup import BackupError, export_backup

        db, as_json = resolve(db, as_json)
        try:
            manifest = export_backup(get_engine(db), directory=directory, format=format)
        except BackupError as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
            return
        rows = sum(t["rows"] for t in manifest["tables"].values())
        emit(
            {"ok": True, "directory": str(directory), **manifest},
            f"exported {len(manifest['tables'])} tables, {rows} rows ({format}) to {directory}",
            as_json,
        )

    @app.command("import-backup")
    def import_backup(
        directory: Path = typer.Argument(..., help="A directory written by `review-desk export`."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Restore a backup into an EMPTY database (creates the tables if there are none).

        Every checksum is checked first: a corrupted file is named and nothing is imported (exit 2).
        A database that holds any row is refused (exit 2). Move SQLite to PostgreSQL this way.
        Example: review-desk import-backup backups/2026-11-23 --db postgresql+psycopg://me@db/reviews
        """
        from review_store.backup import BackupError
        from review_store.backup import import_backup as restore
        from review_store.errors import DatabaseNotEmpty

        db, as_json = resolve(db, as_json)
        try:
            report = restore(get_engine(db), directory=directory)
        except (BackupError, DatabaseNotEmpty) as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
            return
        payload = {"ok": True, **report.as_dict()}
        emit(payload, f"restored {payload['rows']} rows into {len(report.tables)} tables", as_json)
