"""The release proof bundle: one signed file with everything a reviewer needs to trust a release.

    review-desk release bundle r3 --out r3.bundle      # collect, hash each section, sign
    review-desk release verify-bundle r3.bundle        # offline: no database, no audit key

Sections (`SECTIONS`, in file order), each built by the store function that owns the fact:

    manifest      the release, its manifest and hashes (catalog, manifests)
    diff          against the known-good release: the same diff the Releases page shows (catalog.diff_releases)
    evals         every eval run with its dataset hash (golden-set version), the newest tier-1 check run,
                  the gate result and its evidence hash (catalog.gate), and the golden set's hash today
    trust         judge trust per (judge, question, segment) of the gate's evidence (judge_trust, THE rule)
    approvals     sign-offs with the evidence hash each was given, and whether it is still current
    rollback      what serves now and what a rollback would route to (serving)
    audit_events  the release's audit events with their chain hashes, oldest first
    checkpoint    a signed checkpoint of the whole audit chain at bundling time (audit.checkpoint, HMAC)

The file is JSON: a header, the sections, and a signature block holding the sha256 of every section's
canonical JSON and an ed25519 signature (audit/signing.py) over the header and those hashes. Verifying
(releases/bundle_check.py) recomputes each hash, so an edited section is named; the signature proves the
hashes came from the holder of the key whose fingerprint is embedded.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from review_store import audit, golden
from review_store.audit import chain, signing
from review_store.audit import checkpoint as checkpoints
from review_store.audit.keys import AuditKey
from review_store.errors import ConflictError
from review_store.evals.records import latest_check_run
from review_store.judge.agreement import judge_trust
from review_store.releases import catalog, manifests, serving, signoff
from review_store.releases.bundle_check import (
    FORMAT,
    HEADER_FIELDS,
    SECTIONS,
    VERSION,
    section_hash,
    signed_text,
)
from review_store.releases.gate import GateResult

__all__ = [
    "FORMAT",
    "HEADER_FIELDS",
    "SECTIONS",
    "VERSION",
    "build",
    "collect",
    "section_hash",
    "signed_text",
]


def _manifest(session: Session, name: str) -> dict[str, Any]:
    row = catalog.get_release(session, name=name)
    parent = session.get(type(row), row.parent_id) if row.parent_id else None
    return {
        "release": row.name,
        "status": row.status,
        "author": catalog.author_of(session, row),
        "parent": parent.name if parent else None,
        "notes": row.notes,
        "created_at": row.created_at.isoformat(),
        "manifest_hash": row.manifest_hash,
        "prompt_hashes": manifests.prompt_hashes(row.manifest),
        "warnings": manifests.model_warnings(row.manifest),
        "manifest": row.manifest,
    }


def _diff(session: Session, name: str) -> dict[str, Any]:
    good = serving.known_good_release(session)
    if good is None or good.name == name:
        why = "no known-good release yet" if good is None else f"{name} is the known-good release"
        return {"against": None, "reason": why, "components": []}
    parts = catalog.diff_releases(session, a=good.name, b=name)
    return {
        "against": good.name,
        "against_manifest_hash": good.manifest_hash,
        "reason": "",
        "components": [p.as_dict() for p in parts],
    }


def _tier1(session: Session, name: str) -> dict[str, Any] | None:
    """The newest tier-1 check run (what the gate's tier1_pass_rate reads), or None."""
    run = latest_check_run(session, release_id=catalog.get_release(session, name=name).id)
    if run is None:
        return None
    fields = ("id", "checks_hash", "outputs_source", "n_cases", "n_cases_passed", "n_results",
              "n_results_failed", "n_skipped", "pass_rate", "created_by")  # fmt: skip
    return {f: getattr(run, f) for f in fields} | {
        "dataset_hash": run.golden_set_version,
        "created_at": run.created_at.isoformat(),
    }


def _evals(session: Session, name: str, result: GateResult) -> dict[str, Any]:
    runs = catalog.eval_runs(session, release=name)
    return {
        "tier1_check_run": _tier1(session, name),
        "runs": [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(),
                "dataset_hash": r.golden_set_version,
                "source": r.source,
                "created_by": r.created_by,
                "metrics": r.metrics,
            }
            for r in runs
        ],
        "dataset_hash": runs[-1].golden_set_version if runs else None,
        "golden_set_hash_now": golden.version_hash(session),
        "gate": result.as_dict(),
    }


def _trust(session: Session, name: str) -> dict[str, Any]:
    """judge_trust for each judge-scored metric of the gate's evidence (the latest eval run)."""
    runs = catalog.eval_runs(session, release=name)
    metrics = (runs[-1].metrics or {}) if runs else {}
    keys = sorted(
        {(e["judge"], e["question"], e.get("segment") or None) for e in metrics.values()
         if e.get("judge") and e.get("question")},
        key=lambda k: (k[0], k[1], k[2] or ""),
    )  # fmt: skip
    rows = []
    for judge, question, segment in keys:
        trust = judge_trust(session, judge=judge, question=question, segment=segment)
        used_by = sorted(
            m for m, e in metrics.items()
            if (e.get("judge"), e.get("question"), e.get("segment") or None) == (judge, question, segment)
        )  # fmt: skip
        rows.append({**trust.as_dict(), "metrics": used_by})
    return {"questions": rows}


def _approvals(session: Session, name: str, result: GateResult) -> dict[str, Any]:
    rows = []
    for approval, who in signoff.approvals(session, release=name):
        rows.append(
            {
                "decision": approval.decision,
                "approver": who,
                "comment": approval.comment,
                "evidence_hash": approval.evidence_hash,
                "evidence_current": approval.evidence_hash == result.evidence_hash,
                "exception": approval.override_reason is not None,
                "override_reason": approval.override_reason,
                "created_at": approval.created_at.isoformat(),
            }
        )
    return {"current_evidence_hash": result.evidence_hash, "approvals": rows}


def _rollback(session: Session, name: str) -> dict[str, Any]:
    live, good = serving.live_release(session), serving.known_good_release(session)

    def ref(row: Any) -> dict[str, Any] | None:
        return (
            {"release": row.name, "status": row.status, "manifest_hash": row.manifest_hash} if row else None
        )

    return {
        "live": ref(live),
        "known_good": ref(good),
        "rollback_to": ref(good),
        "release_is_serving": live is not None and live.name == name,
        "release_is_known_good": good is not None and good.name == name,
    }


def _audit_events(session: Session, name: str) -> dict[str, Any]:
    events = audit.list_events(session, entity="release", entity_id=name, limit=1_000_000)
    return {
        "events": [
            {
                "seq": e.seq,
                "ts": e.ts.isoformat(timespec="microseconds"),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "payload": e.payload,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in reversed(events)
        ]
    }


def collect(session: Session, *, release: str) -> dict[str, Any]:
    """Every section but the checkpoint, read in one session (release notes are written from this)."""
    result = catalog.gate(session, release=release)
    return {
        "manifest": _manifest(session, release),
        "diff": _diff(session, release),
        "evals": _evals(session, release, result),
        "trust": _trust(session, release),
        "approvals": _approvals(session, release, result),
        "rollback": _rollback(session, release),
        "audit_events": _audit_events(session, release),
    }


def _checkpoint(session: Session, key: AuditKey, at: datetime) -> dict[str, Any]:
    """The chain verified with the key, then its head signed (as `review-desk audit checkpoint`)."""
    result = chain.verify(session, key=key)
    if not result.ok:
        raise ConflictError(
            f"refusing to bundle over a broken audit chain (seq {result.first_bad_seq}: {result.problem})"
        )
    last = chain.last_event(session)
    cp = checkpoints.make(
        key, seq=(last.seq or 0) if last else 0, digest=last.hash if last else chain.GENESIS_HASH, at=at
    )
    return {
        "checkpoint": json.loads(cp.to_json()),
        "chain_events_checked": result.checked,
        "chain_events_keyed": result.keyed,
    }


def build(session: Session, *, release: str, key: AuditKey, at: datetime) -> str:
    """The bundle file's text for `release`, signed with the ed25519 key derived from the audit key.

    Refused (ConflictError) when the audit chain does not verify; NotFound for an unknown release.
    """
    sections = collect(session, release=release)
    sections["checkpoint"] = _checkpoint(session, key, at)
    sections = json.loads(json.dumps(sections, default=str))  # hash exactly what the file will hold
    header = {
        "format": FORMAT,
        "version": VERSION,
        "release": release,
        "created_at": at.isoformat(timespec="seconds") + "Z",
        "section_names": list(SECTIONS),
    }
    hashes = {name: section_hash(sections[name]) for name in SECTIONS}
    public = signing.public_key_hex(key)
    signature = {
        "algorithm": signing.ALGORITHM,
        "public_key": public,
        "key_fingerprint": signing.fingerprint(public),
        "audit_key_id": key.key_id,
        "section_hashes": hashes,
        "value": signing.sign(key, signed_text(header, hashes)),
    }
    body = {**header, "sections": {name: sections[name] for name in SECTIONS}, "signature": signature}
    return json.dumps(body, indent=1, sort_keys=False, ensure_ascii=False, default=str) + "\n"
