"""`review-desk rollup ...`: the hourly rollups the dashboards read."""

from __future__ import annotations

from datetime import date

import typer

from review_store import cli


def register(app: typer.Typer) -> None:
    rollup_app = typer.Typer(help="Hourly rollups behind the dashboards.", no_args_is_help=True)

    @rollup_app.command("rebuild")
    def rebuild(
        start: str = typer.Option(None, "--from", help="First day to rebuild (YYYY-MM-DD; default: all)."),
        end: str = typer.Option(None, "--to", help="Last day to rebuild, inclusive (YYYY-MM-DD)."),
        as_user: str = typer.Option(None, "--as", help="Act as this admin (needs their token)."),
        as_json: bool = cli.json_option(),
    ) -> None:
        """Recompute the rollups of whole days from the raw traces, events and verdicts (audited).

        Writers keep the rollups current in their own transaction; rebuild after loading rows by other
        means, or to check them (a rebuild of correct rollups changes nothing).

        Example: review-desk rollup rebuild --from 2026-05-01 --to 2026-05-31
        """
        as_json = cli.resolve(as_json)
        desk = cli.desk()
        actor = cli.acting_actor(desk, as_user)
        result = desk.rollups.rebuild(actor=actor, start=_day(start, "--from"), end=_day(end, "--to"))
        span = f"{result.start or 'the beginning'} .. {result.end or 'the end'}"
        text = (
            f"rebuilt {span}: {result.traces:,} traces, {result.guardrail_events:,} guardrail events, "
            f"{result.verdicts:,} verdicts -> {result.rollup_rows:,} rollup rows"
        )
        cli.emit(result.to_json(), text, as_json)

    app.add_typer(rollup_app, name="rollup")


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        cli.fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")
        raise  # unreachable: fail exits
