"""`review-desk guardrails | drift | maturity | costs`: the dashboards' numbers for scripts and CI."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from review_store.cli import EXIT_FAILED, db_option, emit, fail, get_engine, json_option, resolve


def _range(session, days: int, end: str | None):
    from review_store.dashboards.overview import filter_options

    if end:
        try:
            stop = datetime.fromisoformat(end)
        except ValueError:
            fail(f"--end: not an ISO date: {end!r}")
    else:
        last = filter_options(session).last_ts
        if last is None:
            fail("no traces in the store", EXIT_FAILED)
        stop = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return stop - timedelta(days=days), stop


def register(app: typer.Typer) -> None:
    @app.command("guardrails")
    def guardrails_cmd(
        bucket: str = typer.Option("day", "--bucket", help="hour, day or week."),
        by: str = typer.Option("name", "--by", help="name, stage, action, segment, release or all."),
        days: int = typer.Option(30, "--days", help="Length of the range, ending at --end."),
        end: str = typer.Option(
            None, "--end", help="End of the range (ISO date; default: after the last trace)."
        ),
        segment: str = typer.Option(None, "--segment"),
        release: str = typer.Option(None, "--release"),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Guardrail trigger rates per 1,000 traces and the anomalies; exit 1 when any day is anomalous.

        Example: review-desk guardrails --bucket day --segment refunds --json
        """
        from review_store.dashboards import guardrails
        from review_store.dashboards.overview import BUCKETS, Filters
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        if bucket not in BUCKETS or by not in guardrails.GROUPINGS:
            fail(
                f"--bucket must be one of {', '.join(BUCKETS)}; --by one of {', '.join(guardrails.GROUPINGS)}"
            )
        with read_session(get_engine(db)) as session:
            start, stop = _range(session, days, end)
            filters = Filters(start, stop, release, segment)
            rates = guardrails.guardrail_rates(session, filters=filters, bucket=bucket, by=by)
            flagged = [a for a in guardrails.guardrail_anomalies(session, filters=filters) if a["anomalous"]]
        lines = [
            f"{a['day']:%Y-%m-%d} {a['name']}/{a['segment']}: {a['rate_per_1k']:.1f} per 1k "
            f"vs {a['baseline_rate_per_1k']:.1f} (p={a['p_value']:.2g})"
            for a in flagged
        ]
        emit(
            {"ok": not flagged, "rates": rates, "anomalies": flagged},
            "\n".join(lines) or f"no anomalies in {len(rates)} points",
            as_json,
        )
        if flagged:
            raise typer.Exit(EXIT_FAILED)

    @app.command("drift")
    def drift_cmd(
        end: str = typer.Option(
            None, "--end", help="End of the current week (ISO date; default: after the last trace)."
        ),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Week-over-week PSI per metric; exit 1 when any metric is at 'act'.

        Example: review-desk drift --end 2026-11-10 --json
        """
        from review_store.dashboards import drift
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            _, stop = _range(session, 7, end)
            results = drift.drift_report(session, end=stop)
        text = "\n".join(
            f"{r.label}: PSI {r.psi if r.psi is None else round(r.psi, 3)} ({r.status})" for r in results
        )
        acting = any(r.status == "act" for r in results)
        emit({"ok": not acting, "metrics": [r.as_dict() for r in results]}, text, as_json)
        if acting:
            raise typer.Exit(EXIT_FAILED)

    @app.command("maturity")
    def maturity_cmd(db: str = db_option(), as_json: bool = json_option()) -> None:
        """The maturity level from evidence in the store, each criterion, and the next steps.

        Example: review-desk maturity --json
        """
        from review_store.dashboards import maturity
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            report = maturity.assess(session)
        lines = [f"level {report.level} ({report.name})"]
        lines += [f"  L{c.level} [{'x' if c.met else ' '}] {c.label}: {c.evidence}" for c in report.criteria]
        lines += [f"  next: {step}" for step in report.next_steps]
        emit(report.as_dict(), "\n".join(lines), as_json)

    @app.command("costs")
    def costs_cmd(
        by: str = typer.Option("feature", "--by", help="feature, segment, release or model."),
        days: int = typer.Option(30, "--days"),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Cost per group and the budget burn; exit 1 when the projection exceeds the budget.

        Example: review-desk costs --by release --json
        """
        from review_store.dashboards import costs
        from review_store.dashboards.overview import Filters
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        if by not in costs.GROUPINGS:
            fail(f"--by must be one of {', '.join(costs.GROUPINGS)}")
        with read_session(get_engine(db)) as session:
            start, stop = _range(session, days, None)
            rows = costs.cost_breakdown(session, filters=Filters(start, stop), by=by)
            budget = costs.budget_status(session)
        text = "\n".join(f"{r[by]}: ${r['cost_usd']:.4f} over {r['traces']} traces" for r in rows)
        text += f"\nbudget: projected ${budget['projected_usd']:.2f} of ${budget['budget_usd']:.2f} ({budget['period']})"
        emit({"ok": not budget["alert"], "rows": rows, "budget": budget}, text, as_json)
        if budget["alert"]:
            raise typer.Exit(EXIT_FAILED)
