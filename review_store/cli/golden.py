"""`review-desk golden ...`: export the golden set as JSONL, import it back, print its version hash."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import acting_actor, desk, emit, fail, json_option, resolve
from review_store.desk import ValidationFailed


def register(app: typer.Typer) -> None:
    golden_app = typer.Typer(help="The golden set (versioned by content hash).", no_args_is_help=True)

    @golden_app.command("export")
    def export(
        out: Path = typer.Argument(..., help="JSONL file to write."),
        as_json: bool = json_option(),
    ) -> None:
        """Write every golden example as one JSON line, in trace order.

        Example: review-desk golden export golden.jsonl
        """
        as_json = resolve(as_json)
        d = desk()
        text, version = d.golden.export_jsonl(), d.golden.version()
        out.write_text(text, encoding="utf-8")
        count = len(text.splitlines())
        emit(
            {"ok": True, "examples": count, "version": version, "file": str(out)},
            f"wrote {count} examples to {out} (version {version[:12]})",
            as_json,
        )

    @golden_app.command("import")
    def import_(
        source: Path = typer.Argument(..., help="JSONL file as written by export."),
        as_user: str = typer.Option(
            None, "--as", help="Act as this user (reviewer or lead; needs their token); default: system."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Load a golden-set JSONL; nothing is written when any line is bad (the message names the line).

        Example: review-desk golden import golden.jsonl --as lena
        """
        as_json = resolve(as_json)
        if not source.is_file():
            fail(
                f"{source}: no such file" if not source.exists() else f"{source}: not a file", as_json=as_json
            )
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            fail(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})", as_json=as_json)
        d = desk()
        try:
            result = d.golden.import_jsonl(actor=acting_actor(d, as_user), text=text)
        except ValidationFailed as exc:
            raise ValidationFailed(f"{source}: {exc}") from None
        summary = f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged"
        emit(
            {"ok": True, **result.to_json()},
            f"{summary} (version {result.version[:12]})",
            as_json,
        )

    app.add_typer(golden_app, name="golden")
