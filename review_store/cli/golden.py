"""`review-desk golden ...`: export the golden set as JSONL, import it back, print its version hash."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, db_option, emit, fail, get_engine, json_option, resolve


def register(app: typer.Typer) -> None:
    golden_app = typer.Typer(help="The golden set (versioned by content hash).", no_args_is_help=True)

    @golden_app.command("export")
    def export(
        out: Path = typer.Argument(..., help="JSONL file to write."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Write every golden example as one JSON line, in trace order.

        Example: review-desk golden export golden.jsonl
        """
        from review_store import golden
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            text, version = golden.export_jsonl(session), golden.version_hash(session)
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
        as_user: str = typer.Option("system", "--as", help="Acting user (reviewer or lead)."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Load a golden-set JSONL; nothing is written when any line is bad (the message names the line).

        Example: review-desk golden import golden.jsonl --as lena
        """
        from review_store import golden
        from review_store.db import session_scope
        from review_store.errors import ReviewStoreError
        from review_store.permissions import resolve_actor

        db, as_json = resolve(db, as_json)
        if not source.exists():
            fail(f"{source}: no such file", EXIT_BAD_INPUT, as_json)
        try:
            with session_scope(get_engine(db)) as session:
                actor = resolve_actor(session, as_user)
                result = golden.import_jsonl(session, actor=actor, text=source.read_text(encoding="utf-8"))
                version = golden.version_hash(session)
        except ReviewStoreError as exc:
            fail(f"{source}: {exc}", EXIT_BAD_INPUT, as_json)
            return
        emit(
            {"ok": True, **result.as_dict(), "version": version},
            f"{result.as_dict()} (version {version[:12]})",
            as_json,
        )

    app.add_typer(golden_app, name="golden")
