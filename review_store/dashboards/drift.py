"""Week-over-week drift as a population stability index (PSI), counted in SQL.

PSI = sum over bins of (c - r) * ln(c / r), where r and c are the reference and current weeks' shares.
- Windows: current = the 7 days before `end`, reference = the 7 days before that.
- Continuous metrics (input length in characters, top retrieval score): the bin edges are the reference
  week's deciles (nearest rank, duplicates dropped), fixed before the current week is counted; bins are
  [-inf, e1), [e1, e2), ..., [ek, +inf), so every value lands in a bin.
- Categorical metrics (segment mix, the groundedness judge's scores 1-5): one bin per value seen in
  either week.
- An empty bin's share is replaced by EPSILON (1e-4) before the log (no renormalisation), so a value that
  appears or vanishes adds a large but finite term instead of infinity.
Thresholds come from the "drift.psi" setting (default 0.1 watch, 0.25 act).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, select

from review_store import settings
from review_store.dashboards.overview import NO_JUDGE, groundedness_judge_id
from review_store.models import JudgeVerdict, Trace

EPSILON = 1e-4
HISTOGRAM_CAP = 20_000  # distinct values up to which a continuous metric is binned from per-value counts
METRICS = {
    "input_length": "Input length (characters)",
    "segment_mix": "Segment mix",
    "judge_score": "Judge groundedness score",
    "top_retrieval_score": "Top retrieval score",
}


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _window(start: datetime, end: datetime, release: str | None, table: Any = Trace) -> list[Any]:
    """The window's conditions on trace, or on judgeverdict's copies of the trace's ts and release."""
    ts = table.ts if table is Trace else table.trace_ts
    out = [ts >= start, ts < end]
    if release:
        out.append(table.release == release)
    return out


def _deciles(session: Session, value: Any, where: list[Any]) -> list[float]:
    """The distinct nearest-rank deciles (10%..90%) of value over the rows: one sort, not nine."""
    n = session.exec(select(func.count(value)).where(*where, value.is_not(None))).one()
    if not n:
        return []
    ranks = sorted({max(1, math.ceil(q / 10 * n)) for q in range(1, 10)})
    ranked = (
        select(value.label("v"), func.row_number().over(order_by=value).label("rn"))
        .where(*where, value.is_not(None))
        .subquery()
    )
    rows = session.exec(select(ranked.c.v).where(ranked.c.rn.in_(ranks))).all()
    return sorted({float(v) for v in rows})


def _histogram(session: Session, value: Any, where: list[Any]) -> list[tuple[float, int]] | None:
    """(value, rows) for each distinct value in the window, or None when there are more than HISTOGRAM_CAP."""
    rows = session.exec(
        select(value, func.count())
        .where(*where, value.is_not(None))
        .group_by(value)
        .order_by(value)
        .limit(HISTOGRAM_CAP + 1)
    ).all()
    return None if len(rows) > HISTOGRAM_CAP else [(float(v), int(n)) for v, n in rows]


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


def _continuous(session: Session, value: Any, ref: list[Any], cur: list[Any]) -> tuple[list[str], dict, dict]:
    ref_hist = _histogram(session, value, ref)
    cur_hist = _histogram(session, value, cur) if ref_hist is not None else None
    if ref_hist is not None and cur_hist is not None:  # few distinct values: two grouped scans in all
        edges, counts = _from_histograms(ref_hist, cur_hist)
    else:
        edges = _deciles(session, value, ref)
        whens = [(value < edge, i) for i, edge in enumerate(edges)]
        bin_of = case(*whens, else_=len(edges)) if whens else case((value.is_not(None), 0), else_=0)
        counts = []
        for where in (ref, cur):
            rows = session.exec(
                select(bin_of, func.count()).where(*where, value.is_not(None)).group_by(bin_of)
            ).all()
            counts.append({int(b): n for b, n in rows})
    bounds = [-math.inf, *edges, math.inf]
    labels = [f"[{bounds[i]:.4g}, {bounds[i + 1]:.4g})" for i in range(len(edges) + 1)]
    return labels, {labels[k]: v for k, v in counts[0].items()}, {labels[k]: v for k, v in counts[1].items()}


_MAX_PROBED_VALUES = 50


def _probe_values(session: Session, value: Any) -> list[Any] | None:
    """The distinct non-null values of an indexed column by min() probes (one index seek each), or None
    when there are more than _MAX_PROBED_VALUES."""
    out: list[Any] = []
    while len(out) <= _MAX_PROBED_VALUES:
        query = select(func.min(value))
        nxt = session.exec(query.where(value > out[-1]) if out else query).one()
        if nxt is None:
            return out
        out.append(nxt)
    return None


def _categorical(session: Session, value: Any, ref: list[Any], cur: list[Any], probe: bool = False) -> tuple:
    """Counts per value in each window. With `probe` (a column leading an index with ts, few values), one
    range count per value instead of a GROUP BY that sorts every row of the window."""
    values = _probe_values(session, value) if probe else None
    counts = []
    for where in (ref, cur):
        if values is None:
            query = select(value, func.count()).where(*where, value.is_not(None)).group_by(value)
            counts.append({str(k): n for k, n in session.exec(query).all()})
            continue
        per = {str(v): session.exec(select(func.count()).where(*where, value == v)).one() for v in values}
        counts.append({k: n for k, n in per.items() if n})
    labels = sorted(set(counts[0]) | set(counts[1]))
    return labels, counts[0], counts[1]


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
    ref, cur = _window(ref_start, cur_start, release), _window(cur_start, end, release)
    if judge_id is NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    results = []
    for metric, label in METRICS.items():
        if metric == "input_length":
            bins, r, c = _continuous(session, Trace.input_chars, ref, cur)  # stored length(input)
        elif metric == "top_retrieval_score":
            bins, r, c = _continuous(session, Trace.top_retrieval_score, ref, cur)
        elif metric == "segment_mix":
            bins, r, c = _categorical(session, Trace.segment, ref, cur, probe=True)  # ix_trace_segment_ts
        else:
            verdict = [  # the trace's ts and release are copied onto the verdict: no join
                JudgeVerdict.judge_config_id == (judge_id if judge_id is not None else -1),
                JudgeVerdict.question_key == "groundedness",
                JudgeVerdict.error.is_(None),
            ]
            v_ref = _window(ref_start, cur_start, release, JudgeVerdict)
            v_cur = _window(cur_start, end, release, JudgeVerdict)
            bins, r, c = _categorical(session, JudgeVerdict.score, v_ref + verdict, v_cur + verdict)
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
                metric, label, value, status, ref_n, cur_n, bins, ref_share, cur_share, cur_start, end
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
