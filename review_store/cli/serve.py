"""`review-desk serve`: start the Streamlit app, from a checkout or from an installed wheel.

The entry (`app/main.py`) and the app's Streamlit settings (`app/streamlit_config.toml`) are found through
the installed `app` package, never by a path relative to a source checkout. The settings are passed as
command-line flags, so they apply whatever the working directory; the app runs in the caller's working
directory, so the default SQLite file and `.streamlit/secrets.toml` (single sign-on) are the caller's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import typer

CONFIG_NAME = "streamlit_config.toml"


def ui_file(name: str) -> Path:
    """A file of the installed `app` package (the UI ships in the wheel beside review_store)."""
    try:
        path = Path(str(resources.files("app").joinpath(name)))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise typer.BadParameter(
            f"the app's {name} is not installed: reinstall llmops-review-desk (the wheel ships app/ and pages/)"
        )
    return path


def config_flags(config: dict[str, Any], **overrides: Any) -> list[str]:
    """{"server": {"port": 8501}} -> ["--server.port", "8501"]; `server_port=...` style overrides win."""
    flat = {f"{section}.{key}": value for section, keys in config.items() for key, value in keys.items()}
    flat |= {key.replace("_", ".", 1): value for key, value in overrides.items()}
    flags: list[str] = []
    for key, value in flat.items():
        flags += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return flags


def command(port: int, address: str) -> list[str]:
    """The `streamlit run` command line: the installed entry plus the app's settings as flags."""
    entry = ui_file("main.py")
    config = tomllib.loads(ui_file(CONFIG_NAME).read_text(encoding="utf-8"))
    flags = config_flags(config, server_port=port, server_address=address)
    return [sys.executable, "-m", "streamlit", "run", str(entry), *flags]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        port: int = typer.Option(8501, "--port", help="Port to listen on."),
        address: str = typer.Option(
            "localhost", "--address", help="Interface to bind (0.0.0.0 for a team server)."
        ),
    ) -> None:
        """Start the app (the same as `streamlit run app/main.py`), on the database from the global --db or REVIEW_STORE_URL.

        Works from any directory and from an installed wheel. Example: review-desk serve --port 8501
        """
        from review_store.cli import state

        env = dict(os.environ)
        if state.db:
            env["REVIEW_STORE_URL"] = state.db
        raise typer.Exit(subprocess.call(command(port, address), env=env))
