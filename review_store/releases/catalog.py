"""Releases as records: look up, register from a manifest, list, diff, and attach eval evidence.

The gate of a release (its latest eval run against the newest policy) is asked here too, because it
needs the release's eval runs; the rule itself lives in `review_store.releases.gate`.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store import audit
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.evals.records import latest_check_run
from review_store.models import EvalRun, Release, User
from review_store.permissions import Actor, require
from review_store.releases import manifests
from review_store.releases.gate import GateResult, evaluate, normalize_metrics


def get_release(session: Session, *, name: str) -> Release:
    """The release named `name`; NotFound names it when there is none."""
    release = session.exec(select(Release).where(Release.name == name)).first()
    if release is None:
        raise NotFound(f"no release named {name!r}")
    return release


def author_of(session: Session, release: Release) -> str:
    """The author's username (authors are users; the system actor cannot author)."""
    return session.exec(select(User.username).where(User.id == release.author_id)).one()


def create_release(
    session: Session,
    *,
    actor: Actor,
    name: str,
    manifest: dict[str, Any],
    parent: str | None = None,
    notes: str | None = None,
) -> Release:
    """Register a candidate from a manifest (validated and hashed); warnings for unpinned model aliases go
    into the audit payload and are returned by `manifests.model_warnings`."""
    require(actor, "create_release")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("release: field 'name' is required")
    if actor.id is None:
        raise ValidationFailed("release: the author must be a user (the system actor cannot author)")
    if session.exec(select(Release).where(Release.name == name)).first() is not None:
        raise ConflictError(f"a release named {name!r} already exists")
    clean = manifests.validate_manifest(manifest, source=f"release {name}")
    parent_row = get_release(session, name=parent) if parent else None
    release = Release(
        name=name,
        manifest=clean,
        manifest_hash=manifests.manifest_hash(clean),
        author_id=actor.id,
        status="candidate",
        parent_id=parent_row.id if parent_row else None,
        notes=notes,
    )
    session.add(release)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release.create",
        entity="release",
        entity_id=name,
        payload={
            "manifest_hash": release.manifest_hash,
            "prompt_hashes": manifests.prompt_hashes(clean),
            "warnings": manifests.model_warnings(clean),
            "parent": parent,
        },
    )
    return release


def list_releases(session: Session) -> list[tuple[Release, str]]:
    """Every release with its author's username, newest first."""
    rows = session.exec(
        select(Release, User.username)
        .join(User, col(User.id) == Release.author_id)
        .order_by(col(Release.created_at).desc(), col(Release.id).desc())
    ).all()
    return [(release, author) for release, author in rows]


def diff_releases(session: Session, *, a: str, b: str) -> list[manifests.ComponentDiff]:
    """Per-component diff from release a to release b (prompts with a unified text diff)."""
    left, right = get_release(session, name=a), get_release(session, name=b)
    return manifests.diff_manifests(left.manifest, right.manifest, a_name=a, b_name=b)


def record_eval_run(
    session: Session,
    *,
    actor: Actor,
    release: str,
    metrics: dict[str, Any],
    golden_set_version: str = "",
    source: str = "",
) -> EvalRun:
    """Attach one eval run (metrics on a golden-set version) to a release as evidence."""
    require(actor, "record_eval")
    row = get_release(session, name=release)
    run = EvalRun(
        release_id=row.id,
        golden_set_version=golden_set_version,
        metrics=normalize_metrics(metrics, source=f"eval run for {release}"),
        source=source,
        created_by=actor.username,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="eval.record",
        entity="release",
        entity_id=release,
        payload={
            "eval_run_id": run.id,
            "golden_set_version": golden_set_version,
            "metrics": sorted(run.metrics),
        },
    )
    return run


def eval_runs(session: Session, *, release: str) -> list[EvalRun]:
    """The release's eval runs, oldest first (the last one is the gate's evidence)."""
    row = get_release(session, name=release)
    return list(
        session.exec(
            select(EvalRun)
            .where(EvalRun.release_id == row.id)
            .order_by(col(EvalRun.created_at), col(EvalRun.id))
        ).all()
    )


def gate(session: Session, *, release: str) -> GateResult:
    """The release's latest eval run (and newest tier-1 check run) against the newest gate policy, one row
    per threshold (gate.evaluate)."""
    row = get_release(session, name=release)
    return evaluate(
        session,
        release=release,
        runs=eval_runs(session, release=release),
        checks=latest_check_run(session, release_id=row.id),
    )
