"""`review-desk settings get | set`: the team settings (typed; a bad value is refused, nothing stored)."""

from __future__ import annotations

import json

import typer

from review_store.cli import acting_actor, desk, emit, fail, json_option, resolve


def _text(view) -> str:
    lines = [f"{view.key}{'' if not view.is_default else ' (default)'}"]
    lines += [f"  {f.name} = {f.value}" for f in view.fields]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    settings_app = typer.Typer(
        help="Team settings: trust, SLAs, budget, rollback rule, drift.", no_args_is_help=True
    )

    @settings_app.command("get")
    def get(
        key: str = typer.Argument(None, help="A setting key (e.g. judge.trust); all settings when omitted."),
        as_json: bool = json_option(),
    ) -> None:
        """Show one setting (or all) with its typed fields.

        Example: review-desk settings get rollback.rule --json
        """
        as_json = resolve(as_json)
        part = desk().settings
        views = (part.get(key),) if key else part.all()
        payload = {"ok": True, "settings": {v.key: v.value() for v in views}}
        emit(payload, "\n".join(_text(v) for v in views), as_json)

    @settings_app.command("set")
    def set_(
        key: str = typer.Argument(..., help="A setting key, e.g. rollback.rule."),
        value: str = typer.Argument(..., help='JSON: an object with some fields, e.g. \'{"mode": "auto"}\'.'),
        as_user: str = typer.Option(
            None, "--as", help="The lead acting (needs their token: REVIEW_DESK_TOKEN)."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Change a setting as a lead (audited); fields left out keep their values.

        A bad value exits 2 with `key.field: reason` and stores nothing.

        Example: review-desk settings set rollback.rule '{"mode": "auto", "window_hours": 12}' --as lena
        """
        as_json = resolve(as_json)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            fail(f"{key}: VALUE is not JSON: {exc.msg} at column {exc.colno}", as_json=as_json)
        d = desk()
        view = d.settings.put(actor=acting_actor(d, as_user), key=key, value=parsed)
        emit({"ok": True, "settings": {view.key: view.value()}}, "saved " + _text(view), as_json)

    app.add_typer(settings_app, name="settings")
