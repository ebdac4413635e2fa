"""The golden set: reviewed examples with their expected output and labels, versioned by content hash."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, col, select

from review_store.audit import canonical_json
from review_store.models import GoldenExample, Trace


def _content(example: GoldenExample, external_id: str) -> dict:
    return {
        "trace": external_id,
        "input": example.input,
        "expected_output": example.expected_output,
        "expected_labels": example.expected_labels,
        "tags": sorted(example.tags or []),
    }


def version_hash(session: Session) -> str:
    """sha256 of the canonical content of every example, in trace order: changes exactly when content does."""
    rows = session.exec(
        select(GoldenExample, Trace.external_id)
        .join(Trace, col(Trace.id) == GoldenExample.trace_id)
        .order_by(col(Trace.external_id))
    ).all()
    digest = hashlib.sha256()
    for example, external_id in rows:
        digest.update(canonical_json(_content(example, external_id)).encode())
        digest.update(b"\n")
    return digest.hexdigest()
