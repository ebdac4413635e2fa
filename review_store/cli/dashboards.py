"""`review-desk guardrails | drift | maturity | costs`: the dashboards' numbers for scripts and CI.

Each takes `--as-of DATE` (the desk's clock: "this budget period", "the last weeks of review", and the
default end of the range). Without --as-of or --end, a range ends after the last trace.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import typer

from review_store.cli import EXIT_FAILED, desk, emit, fail, json_option, resolve


def as_of_option() -> Any:
    return typer.Option(
        None, "--as-of", help="Evaluate as of this ISO date/time (default: now); also the default --end."
    )


def _end(dashboards: Any, end: str | None, as_of: str | None) -> datetime:
    """--end, else --as-of, else midnight after the last trace."""
    from review_store.clock import parse_instant

    if end:
        try:
            return parse_instant(end, field="--end")
        except ValueError as exc:
            fail(str(exc))
    if as_of:
        return parse_instant(as_of, field="--as-of")
    last = dashboards.filter_options().last_ts
    if last is None:
        fail("no traces in the store", EXIT_FAILED)
    return last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _mean(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def _range(dashboards: Any, days: int, end: str | None, as_of: str | None, **kw: str | None):
    from review_store.desk.dashboard_views import Range

    if days < 1:
        fail(f"--days: at least 1, not {days}")
    stop = _end(dashboards, end, as_of)
    return Range(start=stop - timedelta(days=days), end=stop, **kw)


def register(app: typer.Typer) -> None:
    @app.command("guardrails")
    def guardrails_cmd(
        bucket: str = typer.Option("day", "--bucket", help="hour, day or week."),
        by: str = typer.Option("name", "--by", help="name, stage, action, segment, release or all."),
        days: int = typer.Option(30, "--days", help="Length of the range, ending at --end."),
        end: str = typer.Option(
            None, "--end", help="End of the range (ISO date; default: --as-of, else after the last trace)."
        ),
        segment: str = typer.Option(None, "--segment"),
        release: str = typer.Option(None, "--release"),
        as_of: str = as_of_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Guardrail trigger rates per 1,000 traces and the anomalies; exit 1 when any day is anomalous.

        Example: review-desk guardrails --bucket day --segment refunds --as-of 2026-06-01 --json
        """
        as_json = resolve(as_json)
        dashboards = desk(as_of=as_of).dashboards
        window = _range(dashboards, days, end, as_of, release=release, segment=segment)
        view = dashboards.guardrails(range=window, bucket=bucket, by=by)
        lines = [
            f"{a.day:%Y-%m-%d} {a.name}/{a.segment}: {a.rate_per_1k:.1f} per 1k "
            f"vs {a.baseline_rate_per_1k:.1f} (p={a.p_value:.2g})"
            for a in view.anomalies
        ]
        payload = view.to_json()
        emit(
            {"ok": not view.anomalies, "rates": payload["rates"], "anomalies": payload["anomalies"]},
            "\n".join(lines) or f"no anomalies in {len(view.rates)} points",
            as_json,
        )
        if view.anomalies:
            raise typer.Exit(EXIT_FAILED)

    @app.command("drift")
    def drift_cmd(
        end: str = typer.Option(
            None,
            "--end",
            help="End of the current week (ISO date; default: --as-of, else after the last trace).",
        ),
        release: str = typer.Option(None, "--release"),
        as_of: str = as_of_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Week-over-week PSI per metric (retrieval precision@k and recall also show each week's mean);
        exit 1 when any metric is at 'act'.

        Example: review-desk drift --as-of 2026-06-01 --json
        """
        as_json = resolve(as_json)
        dashboards = desk(as_of=as_of).dashboards
        report = dashboards.drift(end=_end(dashboards, end, as_of), release=release)
        text = "\n".join(
            f"{m.label}: PSI {m.psi if m.psi is None else round(m.psi, 3)} ({m.status})"
            + (
                ""
                if m.reference_mean is None and m.current_mean is None
                else f", mean {_mean(m.reference_mean)} -> {_mean(m.current_mean)}"
            )
            for m in report.metrics
        )
        acting = any(m.status == "act" for m in report.metrics)
        emit({"ok": not acting, **report.to_json()}, text, as_json)
        if acting:
            raise typer.Exit(EXIT_FAILED)

    @app.command("maturity")
    def maturity_cmd(as_of: str = as_of_option(), as_json: bool = json_option()) -> None:
        """The maturity level from evidence in the store, each criterion, and the next steps.

        Example: review-desk maturity --as-of 2026-06-01 --json
        """
        as_json = resolve(as_json)
        report = desk(as_of=as_of).dashboards.maturity()
        lines = [f"level {report.level} ({report.name}) as of {report.as_of:%Y-%m-%d %H:%M}"]
        lines += [f"  L{c.level} [{'x' if c.met else ' '}] {c.label}: {c.evidence}" for c in report.criteria]
        lines += [f"  next: {step}" for step in report.next_steps]
        emit(report.to_json(), "\n".join(lines), as_json)

    @app.command("costs")
    def costs_cmd(
        by: str = typer.Option("feature", "--by", help="feature, segment, release or model."),
        days: int = typer.Option(30, "--days"),
        end: str = typer.Option(
            None, "--end", help="End of the range (ISO date; default: --as-of, else after the last trace)."
        ),
        as_of: str = as_of_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Cost per group and the budget burn (period holding --as-of); exit 1 when the projection exceeds
        the budget.

        Example: review-desk costs --by release --as-of 2026-06-01 --json
        """
        as_json = resolve(as_json)
        dashboards = desk(as_of=as_of).dashboards
        view = dashboards.costs(range=_range(dashboards, days, end, as_of), by=by)
        budget = view.budget
        text = "\n".join(f"{r.group}: ${r.cost_usd:.4f} over {r.traces} traces" for r in view.rows)
        text += (
            f"\nbudget: projected ${budget.projected_usd:.2f} of ${budget.budget_usd:.2f} "
            f"({budget.period} from {budget.period_start:%Y-%m-%d})"
        )
        payload = view.to_json()
        emit({"ok": not budget.alert, **payload}, text, as_json)
        if budget.alert:
            raise typer.Exit(EXIT_FAILED)
