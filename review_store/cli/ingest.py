"""`review-desk ingest FILE`: trace files (JSONL, CSV, Parquet, OTLP-JSON) into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, db_option, emit, fail, get_engine, json_option, resolve


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        file: Path = typer.Argument(
            ..., help="Trace file: .jsonl/.ndjson, .csv, .parquet or OTLP-JSON (.gz ok)."
        ),
        format: str = typer.Option(
            None, "--format", help="jsonl | csv | parquet | otlp (default: from the name)."
        ),
        on_error: str = typer.Option(
            "abort", "--on-error", help="abort: write nothing if any record is bad; skip."
        ),
        rejects: Path = typer.Option(
            None, "--rejects", help="Where skip mode writes bad records (FILE.rejects.jsonl)."
        ),
        update: bool = typer.Option(False, "--update", help="Rewrite stored traces whose record changed."),
        batch_size: int = typer.Option(
            2000, "--batch-size", min=1, max=10_000, help="Records per insert batch."
        ),
        as_user: str = typer.Option(
            None, "--as", help="Import as this user (needs import_data); default: system."
        ),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Import traces and their guardrail events; idempotent on trace_id.

        Exit 0 when imported (skip mode: also with rejects), 2 when the file or a record is bad.
        Example: review-desk ingest traces.jsonl --on-error skip --rejects bad.jsonl
        """
        from review_store.db import read_session
        from review_store.errors import NotFound, PermissionDenied, ValidationFailed
        from review_store.ingest import ingest_file
        from review_store.permissions import resolve_actor

        db, as_json = resolve(db, as_json)
        if on_error not in ("abort", "skip"):
            fail(f"--on-error must be abort or skip, not {on_error!r}", EXIT_BAD_INPUT, as_json)
        if not file.is_file():
            fail(f"{file}: no such file", EXIT_BAD_INPUT, as_json)
        engine = get_engine(db)
        try:
            with read_session(engine) as session:
                actor = resolve_actor(session, as_user)
        except NotFound as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
        rejects_path = rejects or (
            file.with_name(file.name + ".rejects.jsonl") if on_error == "skip" else None
        )
        try:
            report = ingest_file(
                engine,
                path=file,
                format=format,
                on_error=on_error,  # type: ignore[arg-type]
                update=update,
                rejects_path=rejects_path,
                batch_size=batch_size,
                actor=actor,
            )
        except (ValidationFailed, PermissionDenied) as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
            return
        payload = report.as_dict()
        if report.aborted:
            if as_json:
                emit(payload, "", as_json)
            else:
                typer.echo(f"error: {report.rejected} bad record(s) in {file}; nothing was written", err=True)
                for line in report.problem_lines():
                    typer.echo(line, err=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        text = (
            f"{file}: {report.records} records: inserted {report.inserted}, updated {report.updated}, "
            f"unchanged {report.unchanged}, rejected {report.rejected}; guardrail events {report.guardrail_events}"
        )
        if report.existing_changed:
            text += f"\n{report.existing_changed} stored trace(s) differ from the file; rerun with --update to rewrite them"
        if report.rejected:
            text += f"\nrejected records with their problems: {report.rejects_path}\n" + "\n".join(
                report.problem_lines()
            )
        emit(payload, text, as_json)
