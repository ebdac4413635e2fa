"""`review-desk db ...`: schema migrations."""

from __future__ import annotations

import typer

from review_store.cli import emit, json_option, resolve, state


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade(as_json: bool = json_option()) -> None:
        """Run the migrations up to the newest schema; safe to repeat.

        Example: review-desk --db postgresql+psycopg://user@host/reviews db upgrade
        """
        from review_store import schema
        from review_store.config import database_url, display_url

        as_json = resolve(as_json)
        schema.upgrade(state.db)
        emit(
            {"ok": True, "url": display_url(database_url(state.db))},
            "database is at the newest schema",
            as_json,
        )

    app.add_typer(db_app, name="db")
