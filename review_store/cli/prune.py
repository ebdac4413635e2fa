"""`review-desk prune`: delete old raw traces (the rollups keep their hours)."""

from __future__ import annotations

import typer

from review_store import cli


def register(app: typer.Typer) -> None:
    @app.command("prune")
    def prune(
        older_than: str = typer.Option(
            None,
            "--older-than",
            help="Age of the traces to delete: 90d, 36h, 12w (default: the retention.raw_traces setting).",
        ),  # fmt: skip
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Report what would be deleted; change nothing."
        ),
        as_of: str = typer.Option(None, "--as-of", help="Treat this instant as now (ISO date/time)."),
        as_user: str = typer.Option(None, "--as", help="Act as this admin (needs their token)."),
        as_json: bool = cli.json_option(),
    ) -> None:
        """Delete raw traces older than the window, with their guardrail events and verdicts (audited).

        Never deleted: traces under review (open or labelled items), adjudicated or escalated, in the
        golden set, possibly in an eval run's golden set, or named by an audit event. Dashboards keep
        their numbers: the hourly rollups keep the pruned hours, and `rollup rebuild` refuses them.

        Example: review-desk prune --older-than 90d --dry-run
        """
        as_json = cli.resolve(as_json)
        desk = cli.desk(as_of=as_of)
        actor = cli.acting_actor(desk, as_user)
        r = desk.rollups.prune(actor=actor, older_than=older_than, dry_run=dry_run)
        verb = "would delete" if r.dry_run else "deleted"
        kept = ", ".join(f"{k.reason} {k.traces:,}" for k in r.kept_by_reason if k.traces)
        text = (
            f"{'dry run: ' if r.dry_run else ''}traces before {r.cutoff:%Y-%m-%d %H:%M}: {r.candidates:,}; "
            f"{verb} {r.deleted_traces:,} traces, {r.deleted_guardrail_events:,} guardrail events, "
            f"{r.deleted_verdicts:,} verdicts, {r.deleted_review_items:,} review items; kept {r.kept:,}"
            + (f" ({kept})" if kept else "")
        )
        cli.emit(r.to_json(), text, as_json)
