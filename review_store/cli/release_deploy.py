"""`review-desk release promote / health-check / rollback / watch / timeline`: the rollout half of the
release group (registered by `cli.release`), through the facade only."""

from __future__ import annotations

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, json_option, resolve

AS_USER = typer.Option(
    ..., "--as", help="The user acting (their role decides what is allowed; needs their token)."
)


def add_deploy_commands(rel: typer.Typer) -> None:  # noqa: C901 (one closure per command)
    @rel.command("promote")
    def promote(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        as_json: bool = json_option(),
    ) -> None:
        """Advance an approved release to its next canary stage (5 -> 25 -> 50 -> 100 %).

        Example: review-desk release promote r3 --as oscar
        """
        as_json = resolve(as_json)
        d = desk()
        step = d.releases.promote(actor=acting_actor(d, user), release=name)
        emit({"ok": True, **step.to_json()}, f"{name} now at {step.stage_pct} %", as_json)

    @rel.command("health-check")
    def health(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        healthy: bool = typer.Option(
            None, "--healthy/--unhealthy", help="Record a result (default: the rollback rule decides)."
        ),
        note: str = typer.Option("", "--note", help="What was checked."),
        as_json: bool = json_option(),
    ) -> None:
        """Post-deploy health check at 100 %; passing marks the release known-good. Exit 1 when unhealthy.

        Example: review-desk release health-check r3 --as oscar
        """
        as_json = resolve(as_json)
        d = desk()
        step = d.releases.health_check(actor=acting_actor(d, user), release=name, healthy=healthy, note=note)
        verdict = "healthy, now known-good" if step.healthy else "UNHEALTHY"
        emit(
            {"ok": bool(step.healthy), **step.to_json()},
            f"{name}: {verdict} {step.note or ''}".rstrip(),
            as_json,
        )
        if not step.healthy:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("rollback")
    def rollback(
        user: str = AS_USER,
        reason: str = typer.Option("", "--reason", help="Why; kept in the audit trail."),
        as_json: bool = json_option(),
    ) -> None:
        """Restore the whole manifest of the last known-good release in one step.

        Example: review-desk release rollback --as oscar --reason "grounding alerts in refunds"
        """
        as_json = resolve(as_json)
        d = desk()
        out = d.releases.rollback(actor=acting_actor(d, user), reason=reason)
        text = f"rolled back {', '.join(out.rolled_back)}: {out.live} is live again (manifest {out.manifest_hash[:12]})"
        emit({"ok": True, **out.to_json()}, text, as_json)

    @rel.command("watch")
    def watch(
        apply: bool = typer.Option(
            False, "--apply", help="Act as configured: in 'auto' mode roll back when flagged."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """The rollback rule: live release vs known-good as rates over a window. Exit 1 when flagged.

        Example: review-desk release watch --apply
        """
        as_json = resolve(as_json)
        d = desk()
        out = (
            d.releases.apply_rollback_rule(actor=acting_actor(d, None))
            if apply
            else d.releases.rollback_rule()
        )
        lines = [out.summary] + [f"  {c.note}" for c in out.checks if c.flagged]
        if out.action != "none":
            lines.append(f"action: {out.action}")
        emit(out.to_json(), "\n".join(lines), as_json)
        if out.flagged:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("timeline")
    def timeline(
        name: str = typer.Argument(..., help="Release name."),
        as_json: bool = json_option(),
    ) -> None:
        """A release's history, oldest first: audit events and deployment steps.

        Example: review-desk release timeline r1
        """
        as_json = resolve(as_json)
        rows = desk().releases.timeline(name)
        lines = [f"{r.ts:%Y-%m-%d %H:%M} {r.actor:10} {r.what}" for r in rows]
        emit({"release": name, "timeline": [r.to_json() for r in rows]}, "\n".join(lines), as_json)
