"""Week-over-week drift as a population stability index (PSI), counted from the hourly rollups.

PSI = sum over bins of (c - r) * ln(c / r), where r and c are the reference and current weeks' shares.
- Windows: current = the 7 days before `end`, reference = the 7 days before that.
- Continuous metrics (input length in characters, top retrieval score kept at 0.001 in the rollups): the
  bin edges are the reference week's deciles (nearest rank, duplicates dropped), fixed before the current
  week is counted; bins are
  [-inf, e1), [e1, e2), ..., [ek, +inf), so every value lands in a bin.
- Categorical metrics (segment mix, the groundedness judge's scores 1-5): one bin per value seen in
  either week.
- Retrieval quality (precision@k and recall, review_store.retrieval at the team's k): the per-trace values
  of the production traces with a relevant set (golden expected_chunks, else reviewers' chunk marks) whose
  ts falls in each week, binned as a continuous metric (reference-week deciles). Each result also carries
  both weeks' means (the Overview's number), so a shift reads as "precision fell from 0.6 to 0.4"; the
  status is the PSI's, like every other metric.
- An empty bin's share is replaced by EPSILON (1e-4) before the log (no renormalisation), so a value that
  appears or vanishes adds a large but finite term instead of infinity.
Thresholds come from the "drift.psi" setting (default 0.1 watch, 0.25 act); a metric with no value in
either week is "no data".
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from review_store import retrieval, settings
from review_store.dashboards.common import Filters
from review_store.dashboards.overview import NO_JUDGE, groundedness_judge_id
from review_store.rollups import read
from review_store.rollups.maintain import SCORE_SCALE

EPSILON = 1e-4
METRICS = {
    "input_length": "Input length (characters)",
    "segment_mix": "Segment mix",
    "judge_score": "Judge groundedness score",
    "top_retrieval_score": "Top retrieval score",
    "retrieval_precision_at_k": "Retrieval precision@{k}",
    "retrieval_recall": "Retrieval recall@{k}",
}
RETRIEVAL_METRICS = ("retrieval_precision_at_k", "retrieval_recall")


def psi(reference: Sequence[float], current: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins (zero shares replaced by epsilon)."""
    if len(reference) != len(current):
        raise ValueError("reference and current need the same bins")
    total = 0.0
    for r, c in zip(reference, current, strict=True):
        r, c = max(r, epsilon), max(c, epsilon)
        total += (c - r) * math.log(c / r)
    return total


@dataclass
class DriftResult:
    metric: str
    label: str
    psi: float | None
    status: str  # ok | watch | act | no data
    reference_n: int
    current_n: int
    bins: list[str] = field(default_factory=list)
    reference_share: list[float] = field(default_factory=list)
    current_share: list[float] = field(default_factory=list)
    current_start: datetime | None = None
    end: datetime | None = None
    reference_mean: float | None = None  # retrieval metrics: each week's mean (None elsewhere)
    current_mean: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _from_histograms(
    ref: list[tuple[float, int]], cur: list[tuple[float, int]]
) -> tuple[list[float], list[dict[int, int]]]:
    """The reference deciles (nearest rank) and both weeks' bin counts, exactly as _deciles and the CASE
    binning compute them, from the per-value counts."""
    n = sum(c for _, c in ref)
    edges: list[float] = []
    if n:
        ranks = sorted({max(1, math.ceil(q / 10 * n)) for q in range(1, 10)})
        seen, i = 0, 0
        for v, c in ref:
            seen += c
            while i < len(ranks) and ranks[i] <= seen:
                edges.append(v)
                i += 1
        edges = sorted(set(edges))
    counts = []
    for hist in (ref, cur):
        bins: dict[int, int] = {}
        for v, c in hist:
            k = bisect_right(edges, v)  # bin k: edges[k-1] <= v < edges[k]
            bins[k] = bins.get(k, 0) + c
        counts.append(bins)
    return edges, counts


def _values(session: Session, metric: str, window: Filters) -> list[tuple[float, int]]:
    """(value, traces) per distinct value in the window, ascending, from the value rollup."""
    scale = SCORE_SCALE if metric == "top_score" else 1
    hist = read.totals(session, "value", window, by=("bucket",), where={"metric": metric})
    return [(b / scale if scale != 1 else float(b), v[0]) for (b,), v in sorted(hist.items()) if v[0]]


def _continuous(session: Session, metric: str, ref: Filters, cur: Filters) -> tuple[list[str], dict, dict]:
    return _binned(_values(session, metric, ref), _values(session, metric, cur))


def _binned(ref: list[tuple[float, int]], cur: list[tuple[float, int]]) -> tuple[list[str], dict, dict]:
    edges, counts = _from_histograms(ref, cur)
    bounds = [-math.inf, *edges, math.inf]
    labels = [f"[{bounds[i]:.4g}, {bounds[i + 1]:.4g})" for i in range(len(edges) + 1)]
    return labels, {labels[k]: v for k, v in counts[0].items()}, {labels[k]: v for k, v in counts[1].items()}


def _categorical(counts: list[dict[str, int]]) -> tuple:
    labels = sorted(set(counts[0]) | set(counts[1]))
    return labels, counts[0], counts[1]


def _segments(session: Session, window: Filters) -> dict[str, int]:
    return {
        str(k[0]): v[0] for k, v in read.totals(session, "traffic", window, by=("segment",)).items() if v[0]
    }


def _scores(session: Session, window: Filters, judge_id: int | None) -> dict[str, int]:
    where = {"judge_config_id": judge_id if judge_id is not None else -1, "question_key": "groundedness",
             "has_score": True}  # fmt: skip
    sums = read.totals(session, "verdict", window, by=("score",), where=where)
    return {str(float(k[0])): v[0] for k, v in sums.items() if v[0]}


def _retrieval(session: Session, ref: Filters, cur: Filters) -> tuple[int, dict[str, list[list[float]]]]:
    """The team's k and, per retrieval metric, the per-trace values of the reference and current weeks."""
    k = settings.get(session, "retrieval.k").k
    out: dict[str, list[list[float]]] = {m: [] for m in RETRIEVAL_METRICS}
    for window in (ref, cur):
        judged = retrieval.judged_traces(
            session, k=k, release=window.release, window=(window.start, window.end)
        )
        out["retrieval_precision_at_k"].append([j.precision for j in judged if j.precision is not None])
        out["retrieval_recall"].append([j.recall for j in judged if j.recall is not None])
    return k, out


def _histogram(values: list[float]) -> list[tuple[float, int]]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items())


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _shares(labels: list[str], counts: dict[str, int]) -> tuple[list[float], int]:
    n = sum(counts.values())
    return [counts.get(label, 0) / n if n else 0.0 for label in labels], n


def drift_report(
    session: Session, *, end: datetime, release: str | None = None, judge_id: Any = NO_JUDGE
) -> list[DriftResult]:
    """PSI of each metric for the week before `end` against the week before that, with its status.

    `judge_id` (from dashboards.groundedness_judge_id) may be passed by a page that already has it.
    """
    thresholds = settings.get(session, "drift.psi")
    cur_start, ref_start = end - timedelta(days=7), end - timedelta(days=14)
    ref, cur = Filters(ref_start, cur_start, release), Filters(cur_start, end, release)
    if judge_id is NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    k, judged = _retrieval(session, ref, cur)
    results = []
    for metric, label in METRICS.items():
        means: tuple[float | None, float | None] = (None, None)
        if metric in RETRIEVAL_METRICS:
            label = label.format(k=k)
            ref_values, cur_values = judged[metric]
            bins, r, c = _binned(_histogram(ref_values), _histogram(cur_values))
            means = (_mean(ref_values), _mean(cur_values))
        elif metric == "input_length":
            bins, r, c = _continuous(session, "input_chars", ref, cur)
        elif metric == "top_retrieval_score":
            bins, r, c = _continuous(session, "top_score", ref, cur)
        elif metric == "segment_mix":
            bins, r, c = _categorical([_segments(session, ref), _segments(session, cur)])
        else:
            bins, r, c = _categorical([_scores(session, ref, judge_id), _scores(session, cur, judge_id)])
        ref_share, ref_n = _shares(bins, r)
        cur_share, cur_n = _shares(bins, c)
        value = psi(ref_share, cur_share) if ref_n and cur_n else None
        status = (
            "no data"
            if value is None
            else "act"
            if value >= thresholds.act
            else "watch"
            if value >= thresholds.watch
            else "ok"
        )
        results.append(
            DriftResult(
                metric, label, value, status, ref_n, cur_n, bins, ref_share, cur_share, cur_start, end, *means
            )
        )
    return results


def drift_alerts(
    session: Session, *, end: datetime, release: str | None = None, judge_id: Any = NO_JUDGE
) -> list[DriftResult]:
    """The metrics at watch or act for the week before `end`, worst first (the Overview's alert list)."""
    report = drift_report(session, end=end, release=release, judge_id=judge_id)
    alerts = [r for r in report if r.status in ("watch", "act")]
    return sorted(alerts, key=lambda r: -(r.psi or 0))


def drift_history(
    session: Session, *, start: datetime, end: datetime, release: str | None = None
) -> list[dict]:
    """PSI per metric for weekly windows ending every 7 days back from `end` (not before start + 14 days)."""
    out, window_end = [], end
    judge_id = groundedness_judge_id(session)
    while window_end - timedelta(days=14) >= start:
        for r in drift_report(session, end=window_end, release=release, judge_id=judge_id):
            out.append(
                {"end": window_end, "metric": r.metric, "label": r.label, "psi": r.psi, "status": r.status}
            )
        window_end -= timedelta(days=7)
    return sorted(out, key=lambda row: (row["end"], row["metric"]))
