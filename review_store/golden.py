"""The golden set: reviewed examples with their expected output and labels, versioned by content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from review_store import audit, rubrics
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.hashing import canonical_json
from review_store.models import Adjudication, GoldenExample, Label, ReviewItem, Trace
from review_store.permissions import Actor, require
from review_store.reference import reference_answers


def _content(example: GoldenExample, external_id: str) -> dict:
    content = {
        "trace": external_id,
        "input": example.input,
        "expected_output": example.expected_output,
        "expected_labels": example.expected_labels,
        "tags": sorted(example.tags or []),
    }
    if example.expected_chunks is not None:  # only when set: examples without it keep their hash
        content["expected_chunks"] = list(example.expected_chunks)
    return content


def check_chunk_ids(value: Any, *, field_: str = "expected_chunks") -> list[str]:
    """A list of chunk ids (non-empty strings, no repeats), in the order given; ValidationFailed names
    the field otherwise. Whether the ids are among the trace's retrieved chunks is not required: a golden
    example may expect a chunk the retriever never returned (that is what recall measures)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationFailed(f"field {field_!r} must be a list of chunk ids (non-empty strings)")
    if len(set(value)) != len(value):
        raise ValidationFailed(f"field {field_!r}: chunk ids repeat")
    return list(value)


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


# --- promotion, listing, JSONL export and import ------------------------------------------------------


def _final_labels(session: Session, item: ReviewItem) -> dict[str, Any]:
    """The item's human reference answers (review_store.reference): per question the adjudicated
    answer, else the median (ratings) or majority (other kinds) of the labels; ties are left out."""
    adjudication = session.exec(select(Adjudication).where(Adjudication.item_id == item.id)).first()
    labels = session.exec(select(Label).where(Label.item_id == item.id).order_by(col(Label.id))).all()
    if adjudication is None and not labels:
        raise ConflictError(f"item {item.id} has no label yet: only reviewed items go into the golden set")
    rubric_id = adjudication.rubric_id if adjudication is not None else labels[-1].rubric_id
    spec = rubrics.spec_of(rubrics.get(session, rubric_id))
    settled = adjudication.answers if adjudication is not None else None
    return reference_answers(spec, [label.answers for label in labels], adjudicated=settled)


def promote(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    expected_output: str | None = None,
    tags: list[str] | None = None,
    expected_chunks: list[str] | None = None,
) -> GoldenExample:
    """Add a reviewed item to the golden set. Expected labels: the item's human reference answers (the
    adjudicated answer, else the median / majority of the labels: review_store.reference). Expected output: the correction when given,
    else the reviewer's correction, else the trace's own output. A trace is in the set at most once.
    """
    require(actor, "manage_golden_set")
    if expected_chunks is not None:
        expected_chunks = check_chunk_ids(expected_chunks)
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    trace = session.get(Trace, item.trace_id)
    if session.exec(select(GoldenExample).where(GoldenExample.trace_id == item.trace_id)).first():
        raise ConflictError(f"trace {trace.external_id} is already in the golden set")
    labels = _final_labels(session, item)
    if not (expected_output or "").strip():
        correction = session.exec(
            select(Label.correction).where(
                Label.item_id == item_id, Label.reviewer_id == actor.id, col(Label.correction).is_not(None)
            )
        ).first()
        expected_output = correction or trace.output
    example = GoldenExample(
        trace_id=trace.id,
        item_id=item.id,
        input=trace.input,
        expected_output=expected_output,
        expected_labels=labels,
        expected_chunks=expected_chunks,
        tags=sorted(set(tags if tags is not None else [trace.segment]) - {""}),
        added_by=actor.username,
    )
    session.add(example)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="golden.promote",
        entity="golden_example",
        entity_id=trace.external_id,
        payload={"item_id": item_id, "labels": labels},
    )
    return example


def remove(session: Session, *, actor: Actor, trace: str) -> None:
    """Take an example (by trace external id) out of the golden set."""
    require(actor, "manage_golden_set")
    row = session.exec(
        select(GoldenExample)
        .join(Trace, col(Trace.id) == GoldenExample.trace_id)
        .where(Trace.external_id == trace)
    ).first()
    if row is None:
        raise NotFound(f"trace {trace!r} is not in the golden set")
    session.delete(row)
    audit.record(session, actor=actor, action="golden.remove", entity="golden_example", entity_id=trace)


def list_examples(
    session: Session, *, tag: str | None = None, segment: str | None = None, text: str | None = None
) -> list[dict[str, Any]]:
    """Golden examples as plain dicts (trace order), filtered by tag, trace segment or a text fragment."""
    query = (
        select(GoldenExample, Trace.external_id, Trace.segment)
        .join(Trace, col(Trace.id) == GoldenExample.trace_id)
        .order_by(col(Trace.external_id))
    )
    if segment:
        query = query.where(Trace.segment == segment)
    if text:
        pattern = f"%{text}%"
        query = query.where(
            or_(col(GoldenExample.input).ilike(pattern), col(GoldenExample.expected_output).ilike(pattern))
        )
    rows = []
    for example, external_id, seg in session.exec(query).all():
        if tag and tag not in (example.tags or []):
            continue
        rows.append({**_content(example, external_id), "segment": seg, "added_by": example.added_by})
    return rows


def export_jsonl(session: Session) -> str:
    """One JSON object per example, in trace order; exactly the content the version hash covers."""
    rows = session.exec(
        select(GoldenExample, Trace.external_id)
        .join(Trace, col(Trace.id) == GoldenExample.trace_id)
        .order_by(col(Trace.external_id))
    ).all()
    return "".join(canonical_json(_content(example, ext)) + "\n" for example, ext in rows)


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}


def _parse_line(line: str, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"line {number}: expected an object")
    for key, kind in (("trace", str), ("input", str), ("expected_output", str)):
        if not isinstance(data.get(key), kind):
            raise ValidationFailed(f"line {number}: field {key!r} must be a string")
    if not isinstance(data.get("expected_labels", {}), dict):
        raise ValidationFailed(f"line {number}: field 'expected_labels' must be an object")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed(f"line {number}: field 'tags' must be a list of strings")
    if data.get("expected_chunks") is not None:
        try:
            check_chunk_ids(data["expected_chunks"])
        except ValidationFailed as exc:
            raise ValidationFailed(f"line {number}: {exc}") from None
    return data


def import_jsonl(session: Session, *, actor: Actor, text: str) -> ImportResult:
    """Load an export back: examples are matched by trace id; all lines are checked before any is written."""
    require(actor, "manage_golden_set")
    records = [(n, _parse_line(line, n)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    ids = dict(
        session.exec(
            select(Trace.external_id, Trace.id).where(
                col(Trace.external_id).in_([r["trace"] for _, r in records])
            )
        ).all()
    )
    for n, record in records:
        if record["trace"] not in ids:
            raise ValidationFailed(f"line {n}: trace {record['trace']!r} is not in the store")
    result = ImportResult()
    for _, record in records:
        trace_id = ids[record["trace"]]
        row = session.exec(select(GoldenExample).where(GoldenExample.trace_id == trace_id)).first()
        values = {
            "input": record["input"],
            "expected_output": record["expected_output"],
            "expected_labels": record.get("expected_labels", {}),
            "tags": sorted(record.get("tags", [])),
        }
        if record.get("expected_chunks") is not None:
            values["expected_chunks"] = list(record["expected_chunks"])
        if row is None:
            session.add(GoldenExample(trace_id=trace_id, added_by=actor.username, **values))
            result.added += 1
        elif _content(row, record["trace"]) == {"trace": record["trace"], **values}:
            result.unchanged += 1
        else:
            for key, value in {"expected_chunks": None, **values}.items():
                setattr(row, key, value)
            session.add(row)
            result.updated += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="golden.import",
        entity="golden_example",
        entity_id="",
        payload=result.as_dict(),
    )
    return result
