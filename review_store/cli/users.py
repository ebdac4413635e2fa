"""`review-desk users ...`: local accounts."""

from __future__ import annotations

import sys

import typer

from review_store.cli import db_option, emit, get_engine, json_option, resolve


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Local accounts and roles.", no_args_is_help=True)

    @users_app.command("add")
    def add(
        username: str = typer.Argument(..., help="Sign-in name."),
        role: str = typer.Option(..., "--role", help="reviewer | owner | lead | admin"),
        email: str = typer.Option(None, "--email", help="Email an SSO (OIDC) identity maps to."),
        name: str = typer.Option("", "--name", help="Display name."),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Add a user. Without --password-stdin the user can only sign in through SSO.

        Example: echo 's3cret-pass' | review-desk users add maria --role reviewer --password-stdin
        """
        from review_store import users
        from review_store.db import session_scope
        from review_store.permissions import SYSTEM

        db, as_json = resolve(db, as_json)
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        with session_scope(get_engine(db)) as session:
            user = users.add_user(
                session,
                actor=SYSTEM,
                username=username,
                role=role,
                password=password,
                display_name=name,
                email=email,
            )
            result = {"ok": True, "username": user.username, "role": user.role, "email": user.email}
        emit(result, f"added {result['username']} ({result['role']})", as_json)

    @users_app.command("list")
    def list_(db: str = db_option(), as_json: bool = json_option()) -> None:
        """List users and their roles.

        Example: review-desk users list --json
        """
        from review_store import users
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            rows = [
                {"username": u.username, "role": u.role, "email": u.email, "active": u.active}
                for u in users.list_users(session)
            ]
        text = "\n".join(f"{r['username']:<16} {r['role']:<9} {r['email'] or ''}" for r in rows) or "no users"
        emit({"ok": True, "users": rows}, text, as_json)

    app.add_typer(users_app, name="users")
