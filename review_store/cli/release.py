"""`review-desk release ...`: register, compare, gate, sign off, promote and roll back releases."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from review_store.cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    db_option,
    emit,
    fail,
    get_engine,
    json_option,
    resolve,
)
from review_store.errors import ConflictError, ReviewStoreError

AS_USER = typer.Option(..., "--as", help="The user acting (their role decides what is allowed).")


@contextmanager
def _domain_errors(as_json: bool):
    """Refusals become a message and an exit code (2 bad input/permission, 1 conflicting state)."""
    try:
        yield
    except ConflictError as exc:
        fail(str(exc), EXIT_FAILED, as_json)
    except ReviewStoreError as exc:
        fail(str(exc), EXIT_BAD_INPUT, as_json)


def _write(db: str | None, as_json: bool, work: Callable[[Any], Any]) -> Any:
    from review_store.db import session_scope

    with _domain_errors(as_json), session_scope(get_engine(db)) as session:
        return work(session)


def _read(db: str | None, as_json: bool, work: Callable[[Any], Any]) -> Any:
    from review_store.db import read_session

    with _domain_errors(as_json), read_session(get_engine(db)) as session:
        return work(session)


def _actor(session, username: str):
    from review_store.permissions import resolve_actor

    return resolve_actor(session, username)  # --as NAME needs NAME's token (cli.acting_actor's rule)


def _gate_text(result: dict[str, Any]) -> str:
    lines = [
        f"gate for {result['release']} (policy v{result['policy_version']}): "
        + ("PASS" if result["passed"] else "FAIL")
    ]
    lines.append(f"{'metric':34} {'op':2} {'threshold':>10} {'value':>10}  result  note")
    for row in result["rows"]:
        value = "—" if row["value"] is None else f"{row['value']:g}"
        lines.append(
            f"{row['metric']:34} {row['op']:2} {row['threshold']:>10g} {value:>10}  {row['result']:6}  {row['note']}"
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
            None, "--name", help="Release name (default: the manifest's `name`, else the file name)."
        ),
        parent: str = typer.Option(None, "--parent", help="The release this one replaces."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Register a candidate release from a manifest; warns about unpinned model aliases.

        Example: review-desk release create --manifest r4.yaml --as olivia
        """
        import yaml

        from review_store import releases
        from review_store.releases import manifests

        db, as_json = resolve(db, as_json)
        if not manifest.is_file():
            fail(f"{manifest}: no such file", EXIT_BAD_INPUT, as_json)
        text = manifest.read_text(encoding="utf-8")
        with _domain_errors(as_json):
            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError:
                raw = None
            if not isinstance(raw, dict):
                manifests.parse_manifest(text, source=str(manifest))  # raises the located error
            release_name = name or raw.pop("name", None) or manifest.stem
            data = manifests.validate_manifest(raw, source=str(manifest))

        def work(session):
            row = releases.create_release(
                session, actor=_actor(session, user), name=str(release_name), manifest=data, parent=parent
            )
            return {
                "ok": True,
                "name": row.name,
                "manifest_hash": row.manifest_hash,
                "prompt_hashes": manifests.prompt_hashes(row.manifest),
                "warnings": manifests.model_warnings(row.manifest),
            }

        out = _write(db, as_json, work)
        text_out = f"created {out['name']} (manifest {out['manifest_hash'][:12]})"
        text_out += "".join(f"\nwarning: {w}" for w in out["warnings"])
        emit(out, text_out, as_json)

    @rel.command("list")
    def list_(db: str = db_option(), as_json: bool = json_option()) -> None:
        """List releases with their status, newest first.

        Example: review-desk release list --json
        """
        from review_store import releases
        from review_store.releases import deployments

        db, as_json = resolve(db, as_json)

        def work(session):
            live = deployments.live_release(session)
            good = deployments.known_good_release(session)
            return {
                "releases": releases.list_releases(session),
                "live": live.name if live else None,
                "known_good": good.name if good else None,
            }

        out = _read(db, as_json, work)
        lines = [
            f"{r['name']:12} {r['status']:12} {r['author']:10} {r['manifest_hash'][:12]}"
            for r in out["releases"]
        ]
        lines.append(f"live: {out['live']}  known-good: {out['known_good']}")
        emit(out, "\n".join(lines), as_json)

    @rel.command("diff")
    def diff(
        a: str = typer.Argument(..., help="Old release."),
        b: str = typer.Argument(..., help="New release."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """What changed from A to B, per component, with a unified diff of the prompts.

        Example: review-desk release diff r1 r3
        """
        from review_store import releases

        db, as_json = resolve(db, as_json)
        parts = _read(db, as_json, lambda s: [d.as_dict() for d in releases.diff_releases(s, a=a, b=b)])
        lines = []
        for part in parts:
            lines.append(f"[{part['component']}] {'changed' if part['changed'] else 'unchanged'}")
            for change in part["changes"] if part["component"] != "prompts" else []:
                lines.append(f"  {change['field']}: {change['from']!r} -> {change['to']!r}")
            if part["text_diff"]:
                lines.append(part["text_diff"].rstrip("\n"))
        emit({"a": a, "b": b, "components": parts}, "\n".join(lines), as_json)

    @rel.command("gate")
    def gate(
        name: str = typer.Argument(..., help="Release name."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Evidence against the gate policy; exit 0 when every row passes, 1 otherwise (for CI/CD).

        Example: review-desk release gate r3 || exit 1
        """
        from review_store import releases

        db, as_json = resolve(db, as_json)
        out = _read(db, as_json, lambda s: releases.gate(s, release=name).as_dict())
        emit(out, _gate_text(out), as_json)
        if not out["passed"]:
            raise typer.Exit(EXIT_FAILED)

    def _sign_off(
        decision: str, name: str, user: str, comment: str, override: str | None, db, as_json
    ) -> None:
        from review_store import releases

        db, as_json = resolve(db, as_json)

        def work(session):
            actor = _actor(session, user)
            if decision == "approve":
                row = releases.approve_release(
                    session, actor=actor, release=name, comment=comment, override_reason=override
                )
            else:
                row = releases.reject_release(session, actor=actor, release=name, comment=comment)
            return {
                "ok": True,
                "release": name,
                "decision": row.decision,
                "evidence_hash": row.evidence_hash,
                "exception": row.override_reason is not None,
            }

        out = _write(db, as_json, work)
        extra = " as a recorded exception" if out["exception"] else ""
        emit(
            out, f"{name} {out['decision']} by {user}{extra} (evidence {out['evidence_hash'][:12]})", as_json
        )

    @rel.command("approve")
    def approve(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        comment: str = typer.Option(..., "--comment", help="Why; kept with the approval."),
        override_reason: str = typer.Option(
            None, "--override-reason", help="Approve a failing gate as an exception."
        ),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Approve a candidate (owners only, never its author; a failing gate needs --override-reason).

        Example: review-desk release approve r3 --as oscar --comment "refunds fixed, gates pass"
        """
        _sign_off("approve", name, user, comment, override_reason, db, as_json)

    @rel.command("reject")
    def reject(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        comment: str = typer.Option(..., "--comment", help="Why; kept with the rejection."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Reject a candidate (owners only, never its author); it can then never be promoted.

        Example: review-desk release reject r3 --as oscar --comment "refunds still ungrounded"
        """
        _sign_off("reject", name, user, comment, None, db, as_json)

    @rel.command("promote")
    def promote(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Advance an approved release to its next canary stage (5 -> 25 -> 50 -> 100 %).

        Example: review-desk release promote r3 --as oscar
        """
        from review_store.releases import deployments

        db, as_json = resolve(db, as_json)

        def work(session):
            step = deployments.promote_release(session, actor=_actor(session, user), release=name)
            return {"ok": True, "release": name, "stage_pct": step.stage_pct}

        out = _write(db, as_json, work)
        emit(out, f"{name} now at {out['stage_pct']} %", as_json)

    @rel.command("health-check")
    def health(
        name: str = typer.Argument(..., help="Release name."),
        user: str = AS_USER,
        healthy: bool = typer.Option(
            None, "--healthy/--unhealthy", help="Record a result (default: the rollback rule decides)."
        ),
        note: str = typer.Option("", "--note", help="What was checked."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Post-deploy health check at 100 %; passing marks the release known-good. Exit 1 when unhealthy.

        Example: review-desk release health-check r3 --as oscar
        """
        from review_store.releases import deployments

        db, as_json = resolve(db, as_json)

        def work(session):
            step = deployments.health_check(
                session, actor=_actor(session, user), release=name, healthy=healthy, note=note
            )
            return {"ok": bool(step.healthy), "release": name, "healthy": step.healthy, "note": step.note}

        out = _write(db, as_json, work)
        emit(
            out,
            f"{name}: {'healthy, now known-good' if out['healthy'] else 'UNHEALTHY'} {out['note'] or ''}".rstrip(),
            as_json,
        )
        if not out["healthy"]:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("rollback")
    def rollback(
        user: str = AS_USER,
        reason: str = typer.Option("", "--reason", help="Why; kept in the audit trail."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Restore the whole manifest of the last known-good release in one step.

        Example: review-desk release rollback --as oscar --reason "grounding alerts in refunds"
        """
        from review_store.releases import deployments

        db, as_json = resolve(db, as_json)

        def work(session):
            good = deployments.rollback(session, actor=_actor(session, user), reason=reason)
            return {"ok": True, "live": good.name, "manifest_hash": good.manifest_hash}

        out = _write(db, as_json, work)
        emit(out, f"rolled back: {out['live']} is live again (manifest {out['manifest_hash'][:12]})", as_json)

    @rel.command("watch")
    def watch(
        apply: bool = typer.Option(
            False, "--apply", help="Act as configured: in 'auto' mode roll back when flagged."
        ),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """The rollback rule: live release vs known-good as rates over a window. Exit 1 when flagged.

        Example: review-desk release watch --apply
        """
        from review_store.permissions import SYSTEM
        from review_store.releases import deployments, rollback_rule

        db, as_json = resolve(db, as_json)
        if apply:
            out = _write(db, as_json, lambda s: deployments.apply_rollback_rule(s, actor=SYSTEM).as_dict())
        else:
            out = _read(db, as_json, lambda s: rollback_rule.evaluate(s).as_dict())
        lines = [out["summary"]] + [f"  {c['note']}" for c in out["checks"] if c["flagged"]]
        if out["action"] != "none":
            lines.append(f"action: {out['action']}")
        emit(out, "\n".join(lines), as_json)
        if out["flagged"]:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("eval-import")
    def eval_import(
        file: Path = typer.Argument(..., help="JSON from the eval job (README: Releases)."),
        user: str = AS_USER,
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Attach eval runs (one object or a list) to their releases as evidence.

        Example: review-desk release eval-import nightly-eval.json --as lena
        """
        from review_store import releases

        db, as_json = resolve(db, as_json)
        if not file.is_file():
            fail(f"{file}: no such file", EXIT_BAD_INPUT, as_json)
        with _domain_errors(as_json):
            runs = releases.parse_eval_json(file.read_text(encoding="utf-8"), source=str(file))

        def work(session):
            actor = _actor(session, user)
            return [releases.record_eval_run(session, actor=actor, **run).id for run in runs]

        ids = _write(db, as_json, work)
        emit({"ok": True, "eval_run_ids": ids}, f"recorded {len(ids)} eval run(s)", as_json)

    @rel.command("policy")
    def policy(
        file: Path = typer.Argument(..., help='JSON/YAML list of {"metric", "op", "threshold"}.'),
        user: str = AS_USER,
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Publish a new gate policy version (older approvals keep the version they were judged by).

        Example: review-desk release policy thresholds.yaml --as lena
        """
        import yaml

        from review_store import releases

        db, as_json = resolve(db, as_json)
        if not file.is_file():
            fail(f"{file}: no such file", EXIT_BAD_INPUT, as_json)
        try:
            rows = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            fail(f"{file}: not valid YAML/JSON ({exc})", EXIT_BAD_INPUT, as_json)
        out = _write(
            db,
            as_json,
            lambda s: {
                "ok": True,
                "version": releases.create_gate_policy(s, actor=_actor(s, user), thresholds=rows).version,
            },
        )
        emit(out, f"gate policy v{out['version']} published", as_json)

    app.add_typer(rel, name="release")
