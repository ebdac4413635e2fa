"""`review-desk api`: the HTTP API (uvicorn), and `review-desk users api-key ...`: its keys.

The API process shares the store with the app through the facade; run several replicas on one
PostgreSQL for a team. Keys are created by an admin (acting with their own token, --as ADMIN).
"""

from __future__ import annotations

import typer

from review_store.cli import acting_actor, desk, emit, json_option, resolve, state

AS_ADMIN = typer.Option(None, "--as", help="The admin acting (needs their token: REVIEW_DESK_TOKEN).")
DEFAULT_API_PORT = 8600


def register(app: typer.Typer) -> None:
    @app.command("api")
    def api(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for a team server)."
        ),
        port: int = typer.Option(DEFAULT_API_PORT, "--port", help="Port to listen on."),
        rate: float = typer.Option(
            None,
            "--rate",
            help="Requests per second per API key (default $REVIEW_STORE_API_RATE_PER_S or 20).",
        ),
        burst: int = typer.Option(
            None, "--burst", help="Burst size per API key (default $REVIEW_STORE_API_BURST or 60)."
        ),
    ) -> None:
        """Serve the HTTP API (REST under /api/v1, OpenAPI docs at /docs) on the database from the global --db.

        Example: review-desk api --port 8600   # then open http://127.0.0.1:8600/docs
        """
        import uvicorn
        from pydantic import ValidationError

        from review_store.api import create_app
        from review_store.api.app import default_rate_limit
        from review_store.api.ratelimit import RateLimit
        from review_store.cli import fail

        base = default_rate_limit()
        try:
            limit = RateLimit(
                rate_per_s=base.rate_per_s if rate is None else rate,
                burst=base.burst if burst is None else burst,
            )
        except ValidationError as exc:
            fail(f"--rate/--burst: {exc.errors()[0]['msg']}")
        d = desk(migrate=True)
        typer.echo(f"review-desk API on http://{host}:{port}  (docs: http://{host}:{port}/docs)", err=True)
        uvicorn.run(create_app(d, rate_limit=limit), host=host, port=port, log_level="warning")

    @app.command("run")
    def run(
        port: int = typer.Option(8501, "--port", help="The app's port."),
        api_port: int = typer.Option(DEFAULT_API_PORT, "--api-port", help="The HTTP API's port."),
        address: str = typer.Option("localhost", "--address", help="Interface both bind (0.0.0.0: a team)."),
    ) -> None:
        """Start the app and the HTTP API together on one database; Ctrl+C stops both.

        Example: review-desk run --port 8501 --api-port 8600
        """
        import os
        import sys

        from review_store.cli import serve

        env = dict(os.environ)
        if state.db:
            env["REVIEW_STORE_URL"] = state.db
        api_host = "127.0.0.1" if address == "localhost" else address
        api = [sys.executable, "-m", "review_store.cli", "api", "--host", api_host, "--port", str(api_port)]
        typer.echo(f"app: http://{address}:{port}")
        typer.echo(f"API: http://{api_host}:{api_port}/api/v1  (docs: http://{api_host}:{api_port}/docs)")
        typer.echo("Ctrl+C stops both.")
        raise typer.Exit(_run_both(serve.command(port, address), api, env))


def _run_both(ui: list[str], api: list[str], env: dict[str, str]) -> int:
    """Start both processes; return when either ends or on Ctrl+C, stopping the other (exit code of the
    first to end, 0 after Ctrl+C)."""
    import signal
    import subprocess
    import time

    def _stop(signum, frame):  # SIGTERM (a service manager, `kill`) stops both, like Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _stop)
    procs = [subprocess.Popen(ui, env=env), subprocess.Popen(api, env=env)]
    code = 0
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.2)
        code = next(p.returncode for p in procs if p.returncode is not None)
    except KeyboardInterrupt:
        code = 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return code


def api_key_commands() -> typer.Typer:
    """`review-desk users api-key create/list/revoke` (added to the users group by cli/users.py)."""
    keys = typer.Typer(
        help="API keys for the HTTP API (admins): shown once, stored hashed.", no_args_is_help=True
    )

    @keys.command("create")
    def create(
        username: str = typer.Argument(..., help="The user the key acts as (and so its role)."),
        label: str = typer.Option("", "--label", help="What the key is for (shown in lists)."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Create an API key for USER (admins; audited). The key is printed once and stored only hashed.

        Example: review-desk users api-key create ci-bot --label "release pipeline" --as ada
        """
        as_json = resolve(as_json)
        d = desk()
        issued = d.apikeys.create(actor=acting_actor(d, as_user), username=username, label=label)
        text = (
            f"API key for {issued.token.username} (id {issued.token.id}, {issued.token.prefix}…); "
            f"shown once:\n{issued.secret}"
        )
        emit({"ok": True, "secret": issued.secret, **issued.token.to_json()}, text, as_json)

    @keys.command("list")
    def list_(
        active: bool = typer.Option(False, "--active", help="Only keys not revoked."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """List API keys: id, prefix, user, label, created, last used, revoked (never the secrets).

        Example: review-desk users api-key list --as ada
        """
        as_json = resolve(as_json)
        d = desk()
        rows = d.apikeys.list(actor=acting_actor(d, as_user), include_revoked=not active)
        text = "\n".join(
            f"{k.id:>4} {k.prefix}… {k.username:<14} {k.label or '-':<20} created {k.created_at:%Y-%m-%d} "
            + (f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used")
            + (f"  REVOKED {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
            for k in rows
        )
        emit({"ok": True, "keys": [k.to_json() for k in rows]}, text or "no API keys", as_json)

    @keys.command("revoke")
    def revoke(
        key_id: int = typer.Argument(..., help="The key's id (from `users api-key list`)."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Revoke an API key at once (admins; audited): its next request gets 401.

        Example: review-desk users api-key revoke 4 --as ada
        """
        as_json = resolve(as_json)
        d = desk()
        view = d.apikeys.revoke(actor=acting_actor(d, as_user), key_id=key_id)
        emit(
            {"ok": True, **view.to_json()},
            f"revoked API key {view.id} ({view.prefix}…) of {view.username}",
            as_json,
        )

    return keys
