"""`review-desk serve`: start the Streamlit app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from review_store.cli import db_option

ENTRY = Path(__file__).resolve().parents[2] / "app" / "main.py"


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        port: int = typer.Option(8501, "--port", help="Port to listen on."),
        address: str = typer.Option(
            "localhost", "--address", help="Interface to bind (0.0.0.0 for a team server)."
        ),
        db: str = db_option(),
    ) -> None:
        """Start the app (the same as `streamlit run app/main.py`), on the database from --db or REVIEW_STORE_URL.

        Example: review-desk serve --port 8501
        """
        from review_store.cli import state

        env = dict(os.environ)
        if db or state.db:
            env["REVIEW_STORE_URL"] = db or state.db
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ENTRY),
            "--server.port",
            str(port),
            "--server.address",
            address,
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        raise typer.Exit(subprocess.call(command, cwd=ENTRY.parent.parent, env=env))
