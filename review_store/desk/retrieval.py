"""desk.retrieval: retrieval quality (precision@k, recall) per release and segment, read-only.

The rule lives in review_store.retrieval; this part opens the transaction and returns frozen views.
"""

from __future__ import annotations

from review_store import retrieval
from review_store.desk import retrieval_views as views
from review_store.desk.base import Part


class RetrievalPart(Part):
    def report(
        self, *, release: str | None = None, segment: str | None = None, k: int | None = None
    ) -> views.RetrievalReportView:
        """Precision@k and recall of the judged traces (golden expected_chunks, reviewers' chunk marks);
        k None: the "retrieval.k" team setting."""
        with self._read() as session:
            report = retrieval.retrieval_quality(session, k=k, release=release, segment=segment)
        return views.RetrievalReportView(
            k=report.k,
            release=release or None,
            segment=segment or None,
            rows=tuple(views.RetrievalRowView(**row.as_dict()) for row in report.rows),
        )
