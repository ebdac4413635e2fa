"""Retrieval quality, separate from generation: precision@k and recall of a trace's retrieved context.

Which chunks were relevant comes from two sources (one relevant set per trace):

- a golden example's `expected_chunks` (ids of the chunks that should be retrieved; may name chunks the
  retriever never returned). It takes precedence: it is the settled expectation for that input;
- reviewers' relevance marks: the answers to a rubric question of kind "chunks" (the ids of the trace's
  retrieved chunks the reviewer marked relevant; an empty list means "none was relevant"). The adjudicated
  answer when a lead settled the item, else a chunk is relevant when at least half of the labels that
  answered the question marked it.

Per trace, with `retrieved` the context's chunk ids in rank order (the order of the trace's `context`
list; chunks without an id cannot be matched and are left out) and `top` its first k:

- precision@k = |relevant ∩ top| / |top|  (|top| = min(k, retrieved): a retriever that returned 3 chunks is
  judged on those 3); undefined (left out) when nothing was retrieved;
- recall = |relevant ∩ top| / |relevant| (recall at the same cut k); undefined (left out) when the
  relevant set is empty.

A group's value (per release, per release and segment) is the mean over its traces where it is defined
(macro average: each judged trace counts once). Both are None for a group without a defined trace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from review_store import rubrics, settings
from review_store.errors import ValidationFailed
from review_store.models import Adjudication, GoldenExample, Label, ReviewItem, Rubric, Trace

DEFAULT_K = 5
MAX_K = 100
PRECISION_METRIC = "retrieval_precision_at_k"  # gate metric names; "<name>:<segment>" for one segment
RECALL_METRIC = "retrieval_recall"
METRICS = (PRECISION_METRIC, RECALL_METRIC)


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValidationFailed(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return k


def chunk_ids(context: Any) -> list[str]:
    """The ids of a trace's retrieved chunks in rank order (first occurrence; chunks without an id skipped)."""
    out: list[str] = []
    for chunk in context or []:
        ref = chunk.get("id") if isinstance(chunk, dict) else None
        if ref is not None and str(ref) != "" and str(ref) not in out:
            out.append(str(ref))
    return out


def trace_scores(
    retrieved: Sequence[str], relevant: Iterable[str], k: int
) -> tuple[float | None, float | None]:
    """(precision@k, recall) of one trace; None where undefined (see the module docstring)."""
    top = list(dict.fromkeys(retrieved))[: check_k(k)]
    wanted = set(relevant)
    hits = len(wanted.intersection(top))
    precision = hits / len(top) if top else None
    recall = hits / len(wanted) if wanted else None
    return precision, recall


@dataclass(frozen=True)
class Judged:
    """One trace with a relevant set: where the set came from and the trace's scores."""

    trace: str
    release: str
    segment: str
    source: str  # golden | review
    retrieved: tuple[str, ...]
    relevant: tuple[str, ...]
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class QualityRow:
    release: str
    segment: str | None  # None: every segment of the release
    traces: int  # judged traces (a relevant set from the golden set or from reviewers)
    from_golden: int
    from_review: int
    precision_n: int  # traces where precision@k is defined
    precision_at_k: float | None
    recall_n: int
    recall: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    k: int
    rows: tuple[QualityRow, ...]

    def row(self, release: str, segment: str | None = None) -> QualityRow | None:
        return next((r for r in self.rows if r.release == release and r.segment == segment), None)

    def as_dict(self) -> dict[str, Any]:
        return {"k": self.k, "rows": [r.as_dict() for r in self.rows]}


Window = tuple[datetime, datetime]  # [start, end) on the trace's ts


def _filtered(query, release: str | None, segment: str | None, window: Window | None = None):
    if release:
        query = query.where(Trace.release == release)
    if segment:
        query = query.where(Trace.segment == segment)
    if window is not None:  # drift's weeks: production traffic only, as the rollups count it
        query = query.where(Trace.ts >= window[0], Trace.ts < window[1], col(Trace.shadow_of).is_(None))
    return query


def _chunk_questions(session: Session) -> dict[int, list[str]]:
    """rubric id -> keys of its "chunks" questions (rubrics without one are left out)."""
    out = {}
    for rubric in session.exec(select(Rubric)).all():
        keys = [q["key"] for q in rubric.questions or [] if q.get("kind") == rubrics.CHUNKS]
        if keys:
            out[rubric.id] = keys
    return out


def _marked(answers: dict[str, Any] | None, keys: list[str]) -> set[str] | None:
    """The chunks one label (or adjudication) marked relevant; None when it answered no chunks question."""
    values = [(answers or {}).get(k) for k in keys]
    if all(v is None for v in values):
        return None
    return {str(c) for v in values if isinstance(v, list) for c in v}


def _review_sets(
    session: Session, release: str | None, segment: str | None, window: Window | None
) -> dict[int, set[str]]:
    """trace id -> the chunks reviewers marked relevant (adjudicated, else marked by at least half)."""
    questions = _chunk_questions(session)
    if not questions:
        return {}
    ids = list(questions)
    votes: dict[int, list[set[str]]] = defaultdict(list)
    query = (
        select(ReviewItem.trace_id, Label.rubric_id, Label.answers)
        .join(ReviewItem, col(ReviewItem.id) == Label.item_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(col(Label.rubric_id).in_(ids))
        .order_by(col(Label.id))
    )
    for trace_id, rubric_id, answers in session.exec(_filtered(query, release, segment, window)).all():
        marked = _marked(answers, questions[rubric_id])
        if marked is not None:
            votes[trace_id].append(marked)
    out = {
        trace_id: {c for c in set().union(*sets) if 2 * sum(c in s for s in sets) >= len(sets)}
        for trace_id, sets in votes.items()
    }
    settled = (
        select(ReviewItem.trace_id, Adjudication.rubric_id, Adjudication.answers)
        .join(ReviewItem, col(ReviewItem.id) == Adjudication.item_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .where(col(Adjudication.rubric_id).in_(ids))
    )
    for trace_id, rubric_id, answers in session.exec(_filtered(settled, release, segment, window)).all():
        marked = _marked(answers, questions[rubric_id])
        if marked is not None:
            out[trace_id] = marked
    return out


def judged_traces(
    session: Session,
    *,
    k: int = DEFAULT_K,
    release: str | None = None,
    segment: str | None = None,
    window: Window | None = None,
) -> list[Judged]:
    """Every trace with a relevant set (golden expectation first, else reviewer marks), scored at k.
    `window` (start, end): only production traces (no shadow run) with start <= ts < end (drift's weeks)."""
    k = check_k(k)
    sets: dict[int, tuple[str, set[str]]] = {
        trace_id: ("review", marked)
        for trace_id, marked in _review_sets(session, release, segment, window).items()
    }
    golden = select(GoldenExample.trace_id, GoldenExample.expected_chunks).join(
        Trace, col(Trace.id) == GoldenExample.trace_id
    )
    for trace_id, expected in session.exec(_filtered(golden, release, segment, window)).all():
        if isinstance(expected, list):
            sets[trace_id] = ("golden", {str(c) for c in expected})
    if not sets:
        return []
    traces = session.exec(
        select(Trace.id, Trace.external_id, Trace.release, Trace.segment, Trace.context)
        .where(col(Trace.id).in_(list(sets)))
        .order_by(col(Trace.external_id))
    ).all()
    out = []
    for trace_id, external_id, rel, seg, context in traces:
        source, relevant = sets[trace_id]
        retrieved = chunk_ids(context)
        precision, recall = trace_scores(retrieved, relevant, k)
        out.append(
            Judged(
                external_id, rel, seg, source, tuple(retrieved), tuple(sorted(relevant)), precision, recall
            )
        )
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _row(release: str, segment: str | None, group: list[Judged]) -> QualityRow:
    precisions = [j.precision for j in group if j.precision is not None]
    recalls = [j.recall for j in group if j.recall is not None]
    return QualityRow(
        release=release,
        segment=segment,
        traces=len(group),
        from_golden=sum(j.source == "golden" for j in group),
        from_review=sum(j.source == "review" for j in group),
        precision_n=len(precisions),
        precision_at_k=_mean(precisions),
        recall_n=len(recalls),
        recall=_mean(recalls),
    )


def retrieval_quality(
    session: Session, *, k: int | None = None, release: str | None = None, segment: str | None = None
) -> QualityReport:
    """Precision@k and recall per release (segment None) and per release and segment, release order then
    segment order; the one rule the dashboards, the gate and the CLI read. k None: the team setting."""
    k = settings.get(session, "retrieval.k").k if k is None else k
    judged = judged_traces(session, k=k, release=release, segment=segment)
    groups: dict[tuple[str, str | None], list[Judged]] = defaultdict(list)
    for j in judged:
        groups[(j.release, None)].append(j)
        groups[(j.release, j.segment)].append(j)
    keys = sorted(groups, key=lambda key: (key[0], key[1] is not None, key[1] or ""))
    return QualityReport(k=k, rows=tuple(_row(rel, seg, groups[(rel, seg)]) for rel, seg in keys))


def gate_entry(
    session: Session, *, metric: str, release: str, k: int | None = None
) -> tuple[dict[str, Any] | None, str]:
    """The gate's evidence for `retrieval_precision_at_k[:segment]` / `retrieval_recall[:segment]` on a
    release: ({"value", "segment"?}, "") or (None, why there is none)."""
    name, _, segment = metric.partition(":")
    report = retrieval_quality(session, k=k, release=release, segment=segment or None)
    row = report.row(release, segment or None)
    value = None
    if row is not None:
        value = row.precision_at_k if name == PRECISION_METRIC else row.recall
    if value is None:
        where = f" in segment {segment!r}" if segment else ""
        return None, (
            f"no evidence: no trace of {release}{where} has a relevant set (golden expected_chunks or "
            "reviewers' chunk marks)"
        )
    entry: dict[str, Any] = {"value": value}
    if segment:
        entry["segment"] = segment
    return entry, ""


def is_metric(metric: str) -> bool:
    return metric.partition(":")[0] in METRICS


def check_marks(spec: rubrics.RubricSpec, answers: dict[str, Any], context: Any) -> None:
    """A label's "chunks" answers may name only chunks the trace retrieved; ValidationFailed names them."""
    known = set(chunk_ids(context))
    for q in spec.questions:
        if q.kind != rubrics.CHUNKS:
            continue
        unknown = [c for c in answers.get(q.key) or [] if c not in known]
        if unknown:
            raise ValidationFailed(
                f"{q.key}: {', '.join(map(repr, unknown))} not among the trace's retrieved chunks "
                f"({', '.join(sorted(known)) or 'none'})"
            )
