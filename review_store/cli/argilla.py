"""`review-desk argilla push/pull`: sync a review queue with an Argilla 2.x server."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, acting_actor, desk, emit, fail, json_option, resolve


def register(app: typer.Typer) -> None:
    argilla_app = typer.Typer(help="Sync review queues with an Argilla server.", no_args_is_help=True)

    @argilla_app.command("push")
    def push(
        dataset: str = typer.Option(..., "--dataset", help="Argilla dataset name (created if missing)."),
        workspace: str = typer.Option(None, "--workspace", help="Argilla workspace (default: the first)."),
        queue: str = typer.Option("sampled", "--queue", help="Review queue: sampled | escalation."),
        limit: int = typer.Option(None, "--limit", min=1, help="Push at most N open items."),
        rubric: str = typer.Option(None, "--rubric", help="Rubric NAME or NAME@VERSION (default: newest)."),
        api_url: str = typer.Option(None, "--api-url", help="Default: $ARGILLA_API_URL."),
        api_key: str = typer.Option(None, "--api-key", help="Default: $ARGILLA_API_KEY."),
        as_user: str = typer.Option(None, "--as", help="Act as this user (needs export_data)."),
        as_json: bool = json_option(),
    ) -> None:
        """Upsert the queue's open items as records (judge verdicts as suggestions); safe to repeat.

        Example: review-desk argilla push --dataset acme-review --workspace support --limit 200
        """
        as_json = resolve(as_json)
        the_desk = desk()
        report = the_desk.argilla.push(
            actor=acting_actor(the_desk, as_user), dataset=dataset, workspace=workspace, queue=queue,
            limit=limit, rubric=rubric, api_url=api_url, api_key=api_key,
        )  # fmt: skip
        verb = "created and filled" if report.created_dataset else "updated"
        text = f"{verb} {dataset}: {report.records} records, {report.suggestions} suggestions"
        emit({"ok": True, **report.to_json()}, text, as_json)

    @argilla_app.command("pull")
    def pull(
        dataset: str = typer.Option(..., "--dataset", help="Argilla dataset name."),
        workspace: str = typer.Option(None, "--workspace", help="Argilla workspace (default: the first)."),
        user_map: Path = typer.Option(
            None, "--user-map", help='JSON file {"argilla username": "local username"}; default: same name.'
        ),
        api_url: str = typer.Option(None, "--api-url", help="Default: $ARGILLA_API_URL."),
        api_key: str = typer.Option(None, "--api-key", help="Default: $ARGILLA_API_KEY."),
        as_user: str = typer.Option(None, "--as", help="Act as this user (needs import_data)."),
        as_json: bool = json_option(),
    ) -> None:
        """Submitted responses become labels (source=argilla); existing ones are not duplicated.

        Unknown Argilla users are listed, not created. Example: review-desk argilla pull --dataset acme-review --user-map users.json
        """
        as_json = resolve(as_json)
        mapping: dict[str, str] = {}
        if user_map is not None:
            try:
                mapping = json.loads(user_map.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                fail(f"{user_map}: not a readable JSON object ({exc})", EXIT_BAD_INPUT, as_json)
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                fail(f"{user_map}: must be a JSON object of username -> username", EXIT_BAD_INPUT, as_json)
        the_desk = desk()
        report = the_desk.argilla.pull(
            actor=acting_actor(the_desk, as_user), dataset=dataset, workspace=workspace, user_map=mapping,
            api_url=api_url, api_key=api_key,
        )  # fmt: skip
        text = (
            f"{report.inserted} labels added, {report.already_present} already present, "
            f"{report.records_seen} records read"
        )
        if report.unknown_users:
            text += f"; unknown Argilla users (map them with --user-map): {', '.join(report.unknown_users)}"
        if report.invalid:
            text += f"; {len(report.invalid)} responses do not fit the rubric: " + "; ".join(
                report.invalid[:5]
            )
        emit({"ok": True, **report.to_json()}, text, as_json)

    app.add_typer(argilla_app, name="argilla")
