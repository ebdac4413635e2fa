"""`review-desk ingest FILE`: trace files (JSONL, CSV, Parquet, OTLP-JSON) into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, acting_actor, desk, emit, fail, json_option, resolve


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
        future_tolerance: str = typer.Option(
            "1d",
            "--future-tolerance",
            envvar="REVIEW_STORE_INGEST_FUTURE_TOLERANCE",
            help="Refuse timestamps later than now plus this (1d, 36h, 90m, 0).",
        ),
        as_user: str = typer.Option(
            None,
            "--as",
            help="Import as this user (needs import_data and their personal token); default: system.",
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Import traces and their guardrail events; idempotent on trace_id.

        Exit 0 when imported (skip mode: also with rejects), 2 when the file or a record is bad or the
        file could not be read to its end (skip mode keeps the good records read before that point).
        Example: review-desk ingest traces.jsonl --on-error skip --rejects bad.jsonl
        """
        as_json = resolve(as_json)
        if on_error not in ("abort", "skip"):
            fail(f"--on-error must be abort or skip, not {on_error!r}", EXIT_BAD_INPUT, as_json)
        the_desk = desk()
        actor = acting_actor(the_desk, as_user)
        rejects_path = rejects or (
            file.with_name(file.name + ".rejects.jsonl") if on_error == "skip" else None
        )
        report = the_desk.ingest.import_file(
            actor=actor, path=file, format=format, on_error=on_error,  # type: ignore[arg-type]
            update=update, rejects_path=rejects_path, batch_size=batch_size,
            future_tolerance=future_tolerance,
        )  # fmt: skip
        payload = report.to_json() | {
            "ok": report.ok,
            "complete": report.complete,
            "problems": list(report.problem_lines()),
        }
        if report.aborted:
            if as_json:
                emit(payload, "", as_json)
            else:
                what = (
                    "the file could not be read"
                    if report.file_problem
                    else f"{report.rejected} bad record(s)"
                )
                typer.echo(f"error: {what} in {file}; nothing was written", err=True)
                for line in report.problem_lines():
                    typer.echo(line, err=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        text = (
            f"{file}: {report.records} records: inserted {report.inserted}, updated {report.updated}, "
            f"unchanged {report.unchanged}, rejected {report.rejected}; guardrail events {report.guardrail_events}"
        )
        if report.pruned:
            text += f"\n{report.pruned} record(s) skipped: pruned before, their numbers are already in the rollups"
        if report.existing_changed:
            text += f"\n{report.existing_changed} stored trace(s) differ from the file; rerun with --update to rewrite them"
        if report.rejected or report.file_problem:
            text += f"\nrejected records with their problems: {report.rejects_path}\n" + "\n".join(
                report.problem_lines()
            )
        if report.file_problem:
            text += (
                "\nerror: the file could not be read to its end; the good records before that point were kept"
            )
        emit(payload, text, as_json)
        if report.file_problem:
            raise typer.Exit(EXIT_BAD_INPUT)
