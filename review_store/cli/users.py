"""`review-desk users ...`: local accounts, roles, sign-in locks and personal tokens.

Every change here is an admin's: run it as `--as ADMIN` with ADMIN's token in REVIEW_DESK_TOKEN (or
on stdin with the global --token-stdin). The one exception is the first admin of an empty desk, which
`users add` accepts from a shell with no credential (audited as "system" with the OS user and host).
"""

from __future__ import annotations

import sys

import typer

from review_store.cli import acting_actor, desk, emit, fail, json_option, resolve, state

AS_ADMIN = typer.Option(None, "--as", help="The admin acting (needs their token: REVIEW_DESK_TOKEN).")


def _read_password(flag: str) -> str:
    """The next line of stdin (after the token line when --token-stdin is given too)."""
    line = sys.stdin.readline()
    if not line:
        fail(f"{flag}: no password on stdin")
    return line.rstrip("\n")


def _user_text(user) -> str:
    status = "active" if user.active else "deactivated"
    return f"{user.username} ({user.role}, {status})"


def register(app: typer.Typer) -> None:  # noqa: C901 (one closure per command)
    users_app = typer.Typer(
        help="Local accounts, roles, sign-in locks and personal tokens.", no_args_is_help=True
    )

    @users_app.command("add")
    def add(
        username: str = typer.Argument(..., help="Sign-in name (letters, digits, . _ - @; at most 80)."),
        role: str = typer.Option(..., "--role", help="reviewer | owner | lead | admin"),
        email: str = typer.Option(None, "--email", help="Email an SSO (OIDC) identity maps to."),
        name: str = typer.Option("", "--name", help="Display name."),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Add a user. Without --password-stdin the user can only sign in through SSO.

        Example: echo 's3cret-pass' | review-desk users add maria --role reviewer --password-stdin --as ada
        """
        as_json = resolve(as_json)
        password = _read_password("--password-stdin") if password_stdin else None
        d = desk()
        user = d.users.add(
            actor=acting_actor(d, as_user),
            username=username,
            role=role,
            password=password,
            display_name=name,
            email=email,
        )
        emit({"ok": True, **user.to_json()}, f"added {user.username} ({user.role})", as_json)

    @users_app.command("list")
    def list_(as_user: str = AS_ADMIN, as_json: bool = json_option()) -> None:
        """List users, their roles, and any sign-in lock in force (admins).

        Example: review-desk users list --as ada --json
        """
        as_json = resolve(as_json)
        d = desk()
        rows = d.users.list(actor=acting_actor(d, as_user))
        text = "\n".join(
            f"{u.username:<16} {u.role:<9} {'active' if u.active else 'deactivated':<12} {u.email or ''}"
            + (f"  locked until {u.locked_until:%Y-%m-%d %H:%M:%S}" if u.locked_until else "")
            for u in rows
        )
        emit({"ok": True, "users": [u.to_json() for u in rows]}, text or "no users", as_json)

    def _change(action: str, username: str, as_user: str | None, as_json: bool, **kw) -> None:
        as_json = resolve(as_json)
        d = desk()
        actor = acting_actor(d, as_user)
        if action == "set-role":
            user = d.users.set_role(actor=actor, username=username, role=kw["role"])
        else:
            user = d.users.set_active(actor=actor, username=username, active=action == "activate")
        emit({"ok": True, **user.to_json()}, _user_text(user), as_json)

    @users_app.command("set-role")
    def set_role(
        username: str = typer.Argument(..., help="The user to change."),
        role: str = typer.Argument(..., help="reviewer | owner | lead | admin"),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Change a user's role (admins; audited). Takes effect at the user's next click.

        Example: review-desk users set-role rita reviewer --as ada
        """
        _change("set-role", username, as_user, as_json, role=role)

    @users_app.command("deactivate")
    def deactivate(
        username: str = typer.Argument(..., help="The user to deactivate."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Deactivate an account (admins; audited): signed out at the next click, tokens stop working.

        Example: review-desk users deactivate rita --as ada
        """
        _change("deactivate", username, as_user, as_json)

    @users_app.command("activate")
    def activate(
        username: str = typer.Argument(..., help="The user to reactivate."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Reactivate an account (admins; audited).

        Example: review-desk users activate rita --as ada
        """
        _change("activate", username, as_user, as_json)

    @users_app.command("unlock")
    def unlock(
        username: str = typer.Argument(None, help="The user whose sign-in lock to lift."),
        address: str = typer.Option(None, "--address", help="Lift the lock on this client address instead."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Lift a sign-in lock after too many failed attempts (admins; audited).

        Example: review-desk users unlock rita --as ada
        """
        as_json = resolve(as_json)
        d = desk()
        had = d.users.unlock(actor=acting_actor(d, as_user), username=username, address=address)
        target = username or address
        text = f"unlocked {target}" if had else f"{target} had no failed sign-ins; nothing to lift"
        emit({"ok": True, "unlocked": target, "had_failures": had}, text, as_json)

    @users_app.command("token")
    def token(
        username: str = typer.Argument(..., help="Whose token (yours, or anyone's for an admin)."),
        label: str = typer.Option("", "--label", help="What the token is for (shown in lists)."),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Prove it is you with your password on stdin."
        ),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Create a personal token for acting as a user from the CLI (shown once; stored hashed).

        Either the user's own password on stdin, or an admin's credential (--as ADMIN with REVIEW_DESK_TOKEN).
        Use it with `export REVIEW_DESK_TOKEN=...` or the global --token-stdin.

        Example: echo 'my-password' | review-desk users token oscar --password-stdin --label laptop
        """
        as_json = resolve(as_json)
        d = desk()
        if password_stdin:
            issued = d.users.issue_token_with_password(
                username=username,
                password=_read_password("--password-stdin"),
                label=label,
                address=state.origin,
            )
        else:
            issued = d.users.issue_token(actor=acting_actor(d, as_user), username=username, label=label)
        text = (
            f"token for {issued.token.username} (id {issued.token.id}, {issued.token.prefix}…); shown once:\n"
            f"{issued.secret}"
        )
        emit({"ok": True, "secret": issued.secret, **issued.token.to_json()}, text, as_json)

    @users_app.command("tokens")
    def tokens(
        username: str = typer.Argument(..., help="Whose tokens."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """List a user's tokens: prefix, label, created, last used, revoked (never the secrets).

        Example: review-desk users tokens oscar --as oscar
        """
        as_json = resolve(as_json)
        d = desk()
        rows = d.users.tokens(actor=acting_actor(d, as_user), username=username)
        text = "\n".join(
            f"{t.id:>4} {t.prefix}… {t.label or '-':<16} created {t.created_at:%Y-%m-%d} "
            + (f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used")
            + (f"  REVOKED {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "")
            for t in rows
        )
        emit({"ok": True, "tokens": [t.to_json() for t in rows]}, text or "no tokens", as_json)

    @users_app.command("revoke-token")
    def revoke_token(
        token_id: int = typer.Argument(..., help="The token's id (from `users tokens`)."),
        as_user: str = AS_ADMIN,
        as_json: bool = json_option(),
    ) -> None:
        """Revoke a token at once (its user or an admin; audited).

        Example: review-desk users revoke-token 3 --as oscar
        """
        as_json = resolve(as_json)
        d = desk()
        view = d.users.revoke_token(actor=acting_actor(d, as_user), token_id=token_id)
        emit(
            {"ok": True, **view.to_json()},
            f"revoked token {view.id} ({view.prefix}…) of {view.username}",
            as_json,
        )

    from review_store.cli.api import api_key_commands

    users_app.add_typer(api_key_commands(), name="api-key")
    app.add_typer(users_app, name="users")
