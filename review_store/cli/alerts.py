"""`review-desk alerts ...`: alert rules (add, edit, list, enable, disable; leads and admins, `--as NAME` with
their token), their recorded deliveries, and `alerts check` (evaluate every enabled rule at a time and
notify webhooks; cron runs it with no credential). All through the facade (`desk.alerts`)."""

from __future__ import annotations

import json
from typing import Any

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, fail, json_option, resolve

AS_HELP = "Act as this user (a lead or admin; needs their token: REVIEW_DESK_TOKEN or --token-stdin)."


def _params(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--param: {pair!r} is not KEY=VALUE (e.g. --param days=3)")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return out


def _rule_line(r) -> str:
    state = "enabled " if r.enabled else "disabled"
    firing = f" · firing: {', '.join(r.firing)}" if r.firing else ""
    return (
        f"{r.name:24} {state} {r.kind:18} {r.payload_format:5} cooldown {r.cooldown_minutes} min  "
        f"{r.webhook_url}  params {r.params}{firing}"
    )


def _check_text(report) -> str:
    lines = [f"alerts check at {report.as_of:%Y-%m-%d %H:%M:%S} UTC: {len(report.rules)} enabled rule(s)"]
    for r in report.rules:
        line = f"{r.rule:24} {r.status:16} firing {len(r.firing)}, new {len(r.new)}"
        if r.cooldown_until:
            line += f" (cooldown until {r.cooldown_until:%Y-%m-%d %H:%M})"
        if r.attempts:
            tries = ", ".join(str(a.status_code or a.error[:60]) for a in r.attempts)
            line += f" · attempts: {tries}"
        lines.append(line)
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    al = typer.Typer(help="Alert rules, webhook notifications and their deliveries.", no_args_is_help=True)

    @al.command("add")
    def add(
        name: str = typer.Argument(..., help="A unique name for the rule."),
        kind: str = typer.Option(
            ...,
            "--kind",
            help="guardrail_anomaly | drift_act | budget | rollback_rule | gate_failed | escalation_sla",
        ),
        url: str = typer.Option(..., "--url", help="The webhook (http:// or https://)."),
        payload_format: str = typer.Option(
            "json", "--format", help="json (generic) or slack (text + blocks)."
        ),
        cooldown: int = typer.Option(60, "--cooldown", help="Minimum minutes between two deliveries."),
        param: list[str] = typer.Option(
            [],
            "--param",
            help="KEY=VALUE parameter of the kind (days, segment, release, trigger); repeatable.",
        ),
        user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Add an enabled alert rule.

        Example: review-desk alerts add sla-breach --kind escalation_sla --url https://hooks.slack.com/services/T/B/X --format slack --as lena
        """
        as_json = resolve(as_json)
        d = desk()
        rule = d.alerts.add(
            actor=acting_actor(d, user),
            name=name,
            kind=kind,
            webhook_url=url,
            params=_params(param),
            payload_format=payload_format,
            cooldown_minutes=cooldown,
        )
        emit({"ok": True, **rule.to_json()}, f"added alert rule {rule.name} ({rule.kind})", as_json)

    @al.command("edit")
    def edit(
        name: str = typer.Argument(..., help="Rule name."),
        url: str = typer.Option(None, "--url", help="A new webhook (http:// or https://)."),
        cooldown: int = typer.Option(None, "--cooldown", help="New minimum minutes between deliveries."),
        payload_format: str = typer.Option(None, "--format", help="json or slack."),
        param: list[str] = typer.Option(
            [],
            "--param",
            help="KEY=VALUE: set this parameter (threshold) of the kind, others kept; repeatable.",
        ),
        unset: list[str] = typer.Option([], "--unset-param", help="Remove this parameter; repeatable."),
        user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Change a rule's parameters, webhook, cooldown or format (audited; the rest is kept).

        Example: review-desk alerts edit refunds-guardrails --param days=3 --cooldown 30 --as lena
        """
        as_json = resolve(as_json)
        if url is None and cooldown is None and payload_format is None and not param and not unset:
            fail("nothing to change: give --url, --cooldown, --format, --param or --unset-param")
        d = desk()
        actor = acting_actor(d, user)
        params = None
        if param or unset:
            current = next((r for r in d.alerts.list(actor=actor) if r.name == name), None)
            if current is None:
                fail(f"no alert rule named {name!r}")
            params = {k: v for k, v in json.loads(current.params).items() if k not in unset}
            params.update(_params(param))
        edited = d.alerts.edit(
            actor=actor,
            name=name,
            params=params,
            webhook_url=url,
            cooldown_minutes=cooldown,
            payload_format=payload_format,
        )
        emit(
            {"ok": True, **edited.rule.to_json(), "changes": [c.to_json() for c in edited.changes]},
            edited.summary(),
            as_json,
        )

    @al.command("list")
    def list_(user: str = typer.Option(None, "--as", help=AS_HELP), as_json: bool = json_option()) -> None:
        """The alert rules, with what each fired for at the last check.

        Example: review-desk alerts list --as lena --json
        """
        as_json = resolve(as_json)
        d = desk()
        rules = d.alerts.list(actor=acting_actor(d, user))
        text = "\n".join(_rule_line(r) for r in rules) or "no alert rules"
        emit({"rules": [r.to_json() for r in rules]}, text, as_json)

    def _toggle(name: str, user: str | None, as_json: bool, enabled: bool) -> None:
        as_json = resolve(as_json)
        d = desk()
        rule = d.alerts.set_enabled(actor=acting_actor(d, user), name=name, enabled=enabled)
        emit({"ok": True, **rule.to_json()}, f"{rule.name}: {'enabled' if enabled else 'disabled'}", as_json)

    @al.command("enable")
    def enable(
        name: str = typer.Argument(..., help="Rule name."),
        user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Enable a rule.

        Example: review-desk alerts enable sla-breach --as lena
        """
        _toggle(name, user, as_json, True)

    @al.command("disable")
    def disable(
        name: str = typer.Argument(..., help="Rule name."),
        user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Disable a rule (it stays, silent; enabling it again starts afresh).

        Example: review-desk alerts disable sla-breach --as lena
        """
        _toggle(name, user, as_json, False)

    @al.command("deliveries")
    def deliveries(
        rule: str = typer.Option(None, "--rule", help="Only this rule's attempts."),
        limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many, newest first."),
        user: str = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Recorded delivery attempts, newest first: status code, error, time.

        Example: review-desk alerts deliveries --rule sla-breach --as lena
        """
        as_json = resolve(as_json)
        d = desk()
        rows = d.alerts.deliveries(actor=acting_actor(d, user), rule=rule, limit=limit)
        text = "\n".join(
            f"{r.attempted_at:%Y-%m-%d %H:%M:%S} {r.rule:24} try {r.attempt} "
            f"{'ok  ' if r.ok else 'FAIL'} {r.status_code or '-'} {', '.join(r.subjects)}"
            + (f"  {r.error}" if r.error else "")
            for r in rows
        )
        emit({"deliveries": [r.to_json() for r in rows]}, text or "no deliveries", as_json)

    @al.command("check")
    def check(
        as_of: str = typer.Option(None, "--as-of", help="Evaluate as of this ISO date/time (default: now)."),
        attempts: int = typer.Option(3, "--attempts", min=1, max=10, help="Tries per notification."),
        timeout: float = typer.Option(10.0, "--timeout", min=0.1, max=120, help="Seconds per try."),
        backoff: float = typer.Option(
            1.0, "--backoff", min=0, max=60, help="Seconds before the 2nd try, doubling."
        ),
        user: str = typer.Option(None, "--as", help="Run as this user (needs their token); default: system."),
        as_json: bool = json_option(),
    ) -> None:
        """Evaluate every enabled rule and notify; exit 0 nothing failed, 1 a delivery failed after retries.

        Example: review-desk alerts check --json   (from cron: */10 * * * * review-desk alerts check)
        """
        from review_store.desk.alerts import RetryPolicy

        as_json = resolve(as_json)
        d = desk(as_of=as_of)
        report = d.alerts.check(actor=acting_actor(d, user), retry=RetryPolicy(attempts, backoff, timeout))
        payload = {"ok": not report.failed, "failed": report.failed, **report.to_json()}
        emit(payload, _check_text(report), as_json)
        if report.failed:
            raise typer.Exit(EXIT_FAILED)

    app.add_typer(al, name="alerts")
