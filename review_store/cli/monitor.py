"""`review-desk monitor users | tenants`: behavioural monitoring per end user and tenant.

`monitor users` escalates the end users over the prompt-injection threshold (once per user and window);
`monitor tenants` prints cost per tenant and feature and flags tenant spend spikes. Both call the facade
(`desk.monitor`) only.
"""

from __future__ import annotations

from datetime import timedelta

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, fail, json_option, resolve


def _as_of_option() -> typer.Option:
    return typer.Option(None, "--as-of", help="Evaluate as of this ISO date/time (default: now).")


def register(app: typer.Typer) -> None:
    mon = typer.Typer(
        help="Behavioural monitoring: end users' prompt-injection triggers, cost and spikes per tenant.",
        no_args_is_help=True,
    )

    @mon.command("users")
    def users_cmd(
        as_of: str = _as_of_option(),
        user: str = typer.Option(None, "--as", help="Run as this user (needs their token); default: system."),
        as_json: bool = json_option(),
    ) -> None:
        """Escalate end users with more prompt-injection triggers than the threshold (setting
        monitor.injection) in the window ending at --as-of; exit 0 none over, 1 some over (escalated now or
        already), 2 bad input.

        Example: review-desk monitor users --as-of 2026-06-01T12:00 --json
        """
        as_json = resolve(as_json)
        d = desk(as_of=as_of)
        run = d.monitor.escalate_users(actor=acting_actor(d, user))
        report = run.report
        lines = [
            f"{report.guardrail} triggers per end user {report.window_start:%Y-%m-%d %H:%M} .. "
            f"{report.as_of:%Y-%m-%d %H:%M} (threshold {report.threshold}): {len(report.over)} over, "
            f"{len(run.raised)} escalated now, {len(run.already)} already escalated"
        ]
        lines += [
            f"  {u.end_user}: {u.triggers}"
            + (f" -> item {u.escalated_item_id}" if u.escalated_item_id else "")
            for u in report.over
        ]
        payload = {"ok": not report.over, **run.to_json()}
        emit(payload, "\n".join(lines), as_json)
        if report.over:
            raise typer.Exit(EXIT_FAILED)

    @mon.command("tenants")
    def tenants_cmd(
        days: int = typer.Option(30, "--days", help="Length of the cost range, ending at --as-of."),
        as_of: str = _as_of_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Token burn and cost per tenant and feature over the --days before --as-of, and each tenant's
        spend spike against its own baseline (setting monitor.tenant_spike); exit 1 when a tenant spikes.

        Example: review-desk monitor tenants --days 7 --as-of 2026-06-01 --json
        """
        from review_store.desk.dashboard_views import Range

        as_json = resolve(as_json)
        if days < 1:
            fail(f"--days: at least 1, not {days}")
        d = desk(as_of=as_of)
        spikes = d.monitor.tenant_spikes()
        costs = d.monitor.tenant_costs(
            range=Range(start=spikes.as_of - timedelta(days=days), end=spikes.as_of)
        )
        lines = [
            f"{r.tenant or '(no tenant)'} / {r.feature or '(no feature)'}: ${r.cost_usd:.4f}, "
            f"{r.tokens_in + r.tokens_out:,} tokens over {r.traces} traces"
            for r in costs.rows
        ]
        lines += [
            f"SPIKE {s.tenant}: ${s.window_usd:.2f} since {spikes.window_start:%Y-%m-%d %H:%M} vs "
            f"${s.expected_usd:.2f} expected"
            + (f" ({s.ratio:.1f}x)" if s.ratio is not None else " (new spend)")
            for s in spikes.spikes
        ]
        emit(
            {"ok": not spikes.spikes, "costs": costs.to_json(), "spikes": spikes.to_json()},
            "\n".join(lines) or "no traces in the range",
            as_json,
        )
        if spikes.spikes:
            raise typer.Exit(EXIT_FAILED)

    app.add_typer(mon, name="monitor")
