"""desk.golden: the golden set (reviewed examples with expected output and labels), versioned by content."""

from __future__ import annotations

from review_store import golden
from review_store.desk.base import Part, ReadModel
from review_store.desk.review_views import Answer, answers_of
from review_store.models import Trace
from review_store.permissions import Actor


class GoldenExampleView(ReadModel):
    trace: str
    segment: str | None
    input: str
    expected_output: str
    expected_labels: tuple[Answer, ...]
    tags: tuple[str, ...]
    added_by: str


class GoldenSet(ReadModel):
    version: str  # sha256 of the canonical content of every example: changes exactly when content does
    examples: tuple[GoldenExampleView, ...]


class GoldenImport(ReadModel):
    added: int
    updated: int
    unchanged: int
    version: str


def _example(row: dict) -> GoldenExampleView:
    return GoldenExampleView(
        trace=row["trace"],
        segment=row["segment"],
        input=row["input"],
        expected_output=row["expected_output"],
        expected_labels=answers_of(row["expected_labels"]),
        tags=tuple(row["tags"]),
        added_by=row["added_by"],
    )


class GoldenPart(Part):
    def list(
        self, *, tag: str | None = None, segment: str | None = None, text: str | None = None
    ) -> GoldenSet:
        """The examples in trace order (optionally filtered) and the version of the whole set."""
        with self._read() as session:
            rows = golden.list_examples(session, tag=tag, segment=segment, text=text)
            return GoldenSet(version=golden.version_hash(session), examples=tuple(_example(r) for r in rows))

    def version(self) -> str:
        """The golden set's version (content hash)."""
        with self._read() as session:
            return golden.version_hash(session)

    def export_jsonl(self) -> str:
        """One JSON object per example, in trace order: exactly the content the version covers."""
        with self._read() as session:
            return golden.export_jsonl(session)

    def import_jsonl(self, *, actor: Actor, text: str) -> GoldenImport:
        """Load an export back, matched by trace id; every line is checked before any is written. Audited."""
        with self._write(actor) as (session, who):
            result = golden.import_jsonl(session, actor=who, text=text)
            return GoldenImport(**result.as_dict(), version=golden.version_hash(session))

    def promote(
        self,
        *,
        actor: Actor,
        item_id: int,
        expected_output: str | None = None,
        tags: tuple[str, ...] | None = None,
    ) -> GoldenExampleView:
        """Add a reviewed item to the golden set (its final labels, the correction as expected output)."""
        with self._write(actor) as (session, who):
            example = golden.promote(
                session,
                actor=who,
                item_id=item_id,
                expected_output=expected_output,
                tags=list(tags) if tags is not None else None,
            )
            trace = session.get(Trace, example.trace_id)
            return GoldenExampleView(
                trace=trace.external_id,
                segment=trace.segment,
                input=example.input,
                expected_output=example.expected_output,
                expected_labels=answers_of(example.expected_labels),
                tags=tuple(example.tags or ()),
                added_by=example.added_by,
            )

    def remove(self, *, actor: Actor, trace: str) -> None:
        """Take an example (by trace external id) out of the golden set. Audited."""
        with self._write(actor) as (session, who):
            golden.remove(session, actor=who, trace=trace)
