"""Frozen read models of desk.retrieval: precision@k and recall per release and segment."""

from __future__ import annotations

from review_store.desk.base import ReadModel


class RetrievalRowView(ReadModel):
    release: str
    segment: str | None  # None: every segment of the release
    traces: int  # traces with a relevant set
    from_golden: int  # ... from a golden example's expected_chunks
    from_review: int  # ... from reviewers' chunk relevance marks
    precision_n: int
    precision_at_k: float | None
    recall_n: int
    recall: float | None


class RetrievalReportView(ReadModel):
    """review_store.retrieval.retrieval_quality at one k; rows in release order, the release's total
    (segment None) before its segments."""

    k: int
    release: str | None  # the filters asked for
    segment: str | None
    rows: tuple[RetrievalRowView, ...]
