"""`review-desk release ...`: register, compare, gate and sign off releases (rollout commands are in
`release_deploy`). Every command calls the facade (`desk.releases`) only; domain errors become exit codes
in the group handler (errors.exit_code_for)."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, json_option, resolve
from review_store.cli.release_bundle import add_bundle_commands
from review_store.cli.release_deploy import add_deploy_commands

AS_USER = typer.Option(
    ..., "--as", help="The user acting (their role decides what is allowed; needs their token)."
)


def _gate_text(gate) -> str:
    verdict = "PASS" if gate.passed else "FAIL"
    lines = [f"gate for {gate.release} (policy v{gate.policy_version}): {verdict}"]
    lines.append(f"{'metric':34} {'op':2} {'threshold':>10} {'value':>10}  result  note")
    for row in gate.rows:
        value = "—" if row.value is None else f"{row.value:g}"
        lines.append(
            f"{row.metric:34} {row.op:2} {row.threshold:>10g} {value:>10}  {row.result:6}  {row.note}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:  # noqa: C901 (one closure per command)
    rel = typer.Typer(
        help="Releases: manifests, evidence gates, sign-off, canary, rollback.", no_args_is_help=True
    )

    @rel.command("create")
    def create(
        manifest: Path = typer.Option(..., "--manifest", help="YAML or JSON manifest file."),
        user: str = AS_USER,
        name: str = typer.Option(
            None,
            "--name",
            help="Release name; overrides the manifest's `name:` (default: that name, else the file name).",
        ),
        parent: str = typer.Option(None, "--parent", help="The release this one replaces."),
        as_json: bool = json_option(),
    ) -> None:
        """Register a candidate release from a manifest; warns about unpinned model aliases.

        Example: review-desk release create --manifest r4.yaml --as olivia
        """
        as_json = resolve(as_json)
        d = desk()
        made = d.releases.create_from_file(
            actor=acting_actor(d, user), path=manifest, name=name, parent=parent
        )
        text = f"created {made.name} (manifest {made.manifest_hash[:12]})"
        text += "".join(f"\nwarning: {w}" for w in made.warnings)
        emit({"ok": True, **made.to_json()}, text, as_json)

    @rel.command("list")
    def list_(as_json: bool = json_option()) -> None:
        """List releases with their status, newest first.

        Example: review-desk release list --json
        """
        as_json = resolve(as_json)
        out = desk().releases.list()
        lines = [f"{r.name:12} {r.status:12} {r.author:10} {r.manifest_hash[:12]}" for r in out.releases]
        lines.append(f"live: {out.live}  known-good: {out.known_good}")
        emit(out.to_json(), "\n".join(lines), as_json)

    @rel.command("show")
    def show(
        name: str = typer.Argument(..., help="Release name."),
        as_json: bool = json_option(),
    ) -> None:
        """One release: status, author, canary stage, manifest hash and the sign-offs it has.

        Example: review-desk release show r3
        """
        as_json = resolve(as_json)
        d = desk()
        release, approvals = d.releases.get(name), d.releases.approvals(name)
        lines = [
            f"{release.name} · {release.status} · {release.stage_pct} % · author {release.author}",
            f"manifest {release.manifest_hash}" + (f" · parent {release.parent}" if release.parent else ""),
        ]
        lines += [f"warning: {w}" for w in release.warnings]
        lines += [
            f"{a.decision} by {a.approver}" + (" (exception)" if a.exception else "") + f": {a.comment}"
            for a in approvals
        ]
        payload = {**release.to_json(), "approvals": [a.to_json() for a in approvals]}
        emit(payload, "\n".join(lines), as_json)

    @rel.command("diff")
    def diff(
        a: str = typer.Argument(..., help="Old release."),
        b: str = typer.Argument(..., help="New release."),
        as_json: bool = json_option(),
    ) -> None:
        """What changed from A to B, per component, with a unified diff of the prompts.

        Example: review-desk release diff r1 r3
        """
        as_json = resolve(as_json)
        out = desk().releases.diff(old=a, new=b)
        lines = []
        for part in out.components:
            lines.append(f"[{part.component}] {'changed' if part.changed else 'unchanged'}")
            for change in part.changes if part.component != "prompts" else ():
                lines.append(f"  {change.field}: {change.old!r} -> {change.new!r}")
            if part.text_diff:
                lines.append(part.text_diff.rstrip("\n"))
        emit(out.to_json(), "\n".join(lines), as_json)

    @rel.command("gate")
    def gate(
        name: str = typer.Argument(..., help="Release name."),
        as_json: bool = json_option(),
    ) -> None:
        """Evidence against the gate policy; exit 0 when every row passes, 1 otherwise (for CI/CD).

        Example: review-desk release gate r3 || exit 1
        """
        as_json = resolve(as_json)
        out = desk().releases.gate(name)
        emit(out.to_json(), _gate_text(out), as_json)
        if not out.passed:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("approve")
    def approve(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        comment: str = typer.Option(..., "--comment", help="Why; kept with the approval."),
        override_reason: str = typer.Option(
            None, "--override-reason", help="Approve a failing gate as an exception."
        ),
        seen: str = typer.Option(
            None, "--evidence-hash", help="The evidence hash you reviewed (refused if it changed since)."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Approve a candidate (owners only, never its author; a failing gate needs --override-reason).

        Example: review-desk release approve r3 --as oscar --comment "refunds fixed, gates pass"
        """
        as_json = resolve(as_json)
        d = desk()
        out = d.releases.approve(
            actor=acting_actor(d, user),
            release=name,
            comment=comment,
            override_reason=override_reason,
            seen_evidence_hash=seen,
        )
        extra = " as a recorded exception" if out.exception else ""
        text = f"{name} {out.decision} by {out.approver}{extra} (evidence {out.evidence_hash[:12]})"
        emit({"ok": True, **out.to_json()}, text, as_json)

    @rel.command("reject")
    def reject(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        comment: str = typer.Option(..., "--comment", help="Why; kept with the rejection."),
        as_json: bool = json_option(),
    ) -> None:
        """Reject a candidate (owners only, never its author); it can then never be promoted.

        Example: review-desk release reject r3 --as oscar --comment "refunds still ungrounded"
        """
        as_json = resolve(as_json)
        d = desk()
        out = d.releases.reject(actor=acting_actor(d, user), release=name, comment=comment)
        text = f"{name} {out.decision} by {out.approver} (evidence {out.evidence_hash[:12]})"
        emit({"ok": True, **out.to_json()}, text, as_json)

    @rel.command("eval-import")
    def eval_import(
        file: Path = typer.Argument(..., help="JSON from the eval job (README: Releases)."),
        user: str = AS_USER,
        as_json: bool = json_option(),
    ) -> None:
        """Attach eval runs (one object or a list) to their releases as evidence, all or nothing.

        Example: review-desk release eval-import nightly-eval.json --as lena
        """
        from review_store.errors import ValidationFailed

        as_json = resolve(as_json)
        if not file.is_file():
            raise ValidationFailed(f"{file}: no such file")
        d = desk()
        runs = d.releases.import_evals(
            actor=acting_actor(d, user), text=file.read_text(encoding="utf-8"), source=str(file)
        )
        ids = [r.id for r in runs]
        emit({"ok": True, "eval_run_ids": ids}, f"recorded {len(ids)} eval run(s)", as_json)

    @rel.command("policy")
    def policy(
        file: Path = typer.Argument(..., help='JSON/YAML list of {"metric", "op", "threshold"}.'),
        user: str = AS_USER,
        as_json: bool = json_option(),
    ) -> None:
        """Publish a new gate policy version (older approvals keep the version they were judged by).

        Example: review-desk release policy thresholds.yaml --as lena
        """
        from review_store.errors import ValidationFailed

        as_json = resolve(as_json)
        if not file.is_file():
            raise ValidationFailed(f"{file}: no such file")
        d = desk()
        out = d.releases.create_gate_policy_from_text(
            actor=acting_actor(d, user), text=file.read_text(encoding="utf-8"), source=str(file)
        )
        emit({"ok": True, **out.to_json()}, f"gate policy v{out.version} published", as_json)

    add_deploy_commands(rel)
    add_bundle_commands(rel)
    app.add_typer(rel, name="release")
