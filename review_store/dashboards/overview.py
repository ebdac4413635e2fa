"""Dashboard queries: KPI aggregates computed in SQL over a date range, release and segment.

Every rate is a rate (per trace or per 1,000 traces), never a raw count alone, and each KPI comes with
the same measure over the preceding period of equal length, so a tile can say "up" or "down".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, text
from sqlmodel import Session, col, select

from review_store.models import GuardrailEvent, JudgeConfig, JudgeVerdict, Trace

HALLUCINATION_MAX_SCORE = 2.0  # a groundedness verdict of 1-2 (of 5) counts as a hallucination
BUCKETS = ("hour", "day", "week")
_SQLITE_PREFIX = {"hour": 13, "day": 10}
_SQLITE_BUCKET = {
    "hour": ("%Y-%m-%d %H:00:00",),
    "day": ("%Y-%m-%d 00:00:00",),
    "week": ("%Y-%m-%d 00:00:00", "weekday 0", "-6 days"),  # back to Monday, as PostgreSQL's ISO week
}


def bucket_expr(session: Session, column: Any, bucket: str) -> Any:
    """The SQL expression that truncates a timestamp column to its hour, day or (Monday) week.

    SQLite has no date_trunc: strftime formats the start of the bucket (and 'weekday 0', '-6 days' walks a
    date back to its Monday); PostgreSQL uses date_trunc. Parse the values with `bucket_start()`.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{bucket}'"), column)
    if bucket in _SQLITE_PREFIX:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff': a prefix is the bucket, cheaply
        return func.substr(column, 1, _SQLITE_PREFIX[bucket])
    fmt, *modifiers = _SQLITE_BUCKET[bucket]
    return func.strftime(fmt, column, *modifiers)


def bucket_start(value: Any) -> datetime:
    """A bucket value from either backend (a string on SQLite, a timestamp on PostgreSQL) as a datetime."""
    if isinstance(value, datetime):
        return value
    text = str(value)
    return datetime.fromisoformat(text + ":00" if len(text) == 13 else text)  # 'YYYY-MM-DD HH' (hour)


def floor_time(ts: datetime, bucket: str) -> datetime:
    """Python's twin of bucket_expr, for building the full grid of buckets (empty ones included)."""
    if bucket == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if bucket == "day" else day - timedelta(days=day.weekday())


def bucket_grid(start: datetime, end: datetime, bucket: str) -> list[datetime]:
    """Every bucket start that overlaps [start, end), whether or not it holds data."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[bucket]
    out, current = [], floor_time(start, bucket)
    while current < end:
        out.append(current)
        current += step
    return out


@dataclass(frozen=True)
class Filters:
    """What the Overview's filter bar selects; None means all."""

    start: datetime
    end: datetime
    release: str | None = None
    segment: str | None = None

    def previous(self) -> Filters:
        span = self.end - self.start
        return Filters(self.start - span, self.start, self.release, self.segment)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str  # "%", "ms", "usd", "per_1k"
    higher_is_better: bool
    help: str

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "delta": self.delta}


def _trace_conditions(filters: Filters) -> list[Any]:
    conditions = [Trace.ts >= filters.start, Trace.ts < filters.end]
    if filters.release:
        conditions.append(Trace.release == filters.release)
    if filters.segment:
        conditions.append(Trace.segment == filters.segment)
    return conditions


def _event_conditions(filters: Filters) -> list[Any]:
    conditions = [GuardrailEvent.ts >= filters.start, GuardrailEvent.ts < filters.end]
    if filters.release:
        conditions.append(GuardrailEvent.release == filters.release)
    if filters.segment:
        conditions.append(GuardrailEvent.segment == filters.segment)
    return conditions


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def percentile(
    session: Session, column: Any, conditions: list[Any], q: float, *, n: int | None = None
) -> float | None:
    """Nearest-rank percentile in SQL (ORDER BY ... OFFSET), the same on SQLite and PostgreSQL.

    For an upper percentile the rows are walked from the top (ORDER BY DESC, offset n - rank), so the
    database keeps a small top-N heap instead of sorting every row. `n` (the non-null count) may be
    passed when the caller already has it.
    """
    if n is None:
        n = session.exec(select(func.count(column)).where(*conditions, column.is_not(None))).one()
    if not n:
        return None
    rank = max(1, math.ceil(q * n))  # 1-based, ascending
    order, offset = (column.desc(), n - rank) if rank > n // 2 else (column, rank - 1)
    value = session.exec(
        select(column).where(*conditions, column.is_not(None)).order_by(order).offset(offset).limit(1)
    ).one()
    return float(value)


_SQLITE_JUDGE_COUNT = text(
    "SELECT count(*) FROM judgeverdict INDEXED BY ix_judgeverdict_ok_ts "
    "WHERE judge_config_id = :c AND question_key = 'groundedness' AND error IS NULL"
)


def groundedness_judge(session: Session) -> JudgeConfig | None:
    """The judge config whose groundedness verdicts feed the hallucination KPI: the one covering the most
    traces (a new config tried on a few hundred labelled traces must not redefine a production KPI).

    One index-only count per config (partial index ix_judgeverdict_ok_ts), ties to the newest config.
    """
    best: tuple[int, int] | None = None
    sqlite = session.get_bind().dialect.name == "sqlite"
    for config_id in session.exec(select(JudgeConfig.id).order_by(col(JudgeConfig.id).desc())).all():
        if sqlite:  # its planner prefers the non-covering (config, question) index and reads every row
            n = session.connection().execute(_SQLITE_JUDGE_COUNT, {"c": config_id}).scalar_one()
        else:
            n = session.exec(
                select(func.count())
                .select_from(JudgeVerdict)
                .where(
                    JudgeVerdict.judge_config_id == config_id,
                    JudgeVerdict.question_key == "groundedness",
                    JudgeVerdict.error.is_(None),
                )
            ).one()
        if n and (best is None or n > best[0]):
            best = (n, config_id)
    return session.get(JudgeConfig, best[1]) if best else None


def _verdict_conditions(filters: Filters, judge_id: int) -> list[Any]:
    """Successful groundedness verdicts of one judge on traces in the filter (the trace's ts, segment and
    release are copied onto the verdict, so no join: index ix_judgeverdict_ok_ts)."""
    conditions = [
        JudgeVerdict.judge_config_id == judge_id,
        JudgeVerdict.question_key == "groundedness",
        JudgeVerdict.error.is_(None),
        JudgeVerdict.trace_ts >= filters.start,
        JudgeVerdict.trace_ts < filters.end,
        JudgeVerdict.score.is_not(None),
    ]
    if filters.release:
        conditions.append(JudgeVerdict.release == filters.release)
    if filters.segment:
        conditions.append(JudgeVerdict.segment == filters.segment)
    return conditions


def _kpi_aggregates() -> tuple[Any, ...]:
    """The per-trace sums behind the KPI tiles, in the order _periods and kpi_trends unpack them:
    traces, successes, success known, cost, cache hits, cache known, latencies known."""
    return (
        func.count(),
        func.sum(case((Trace.task_success.is_(True), 1), else_=0)),
        func.count(Trace.task_success),
        func.sum(Trace.cost_usd),
        func.sum(case((Trace.cache_hit.is_(True), 1), else_=0)),
        func.count(Trace.cache_hit),
        func.count(Trace.latency_ms),
    )


def _periods(session: Session, filters: Filters, judge_id: int | None) -> tuple[dict, dict]:
    """The KPIs of the filter's period and of the one before it (1 = now, 0 = before): one plain aggregate
    per period and table (no GROUP BY on a period flag, which makes SQLite sort every row)."""
    per: dict[int, dict[str, Any]] = {}
    events: dict[int, int] = {}
    judged: dict[int, tuple[int, int]] = {}
    for flag, period in ((1, filters), (0, filters.previous())):
        row = session.exec(select(*_kpi_aggregates()).where(*_trace_conditions(period))).one()
        per[flag] = dict(
            zip(("traces", "ok", "known", "cost", "hits", "cache_known", "n_latency"), row, strict=True)
        )
        events[flag] = session.exec(select(func.count()).where(*_event_conditions(period))).one()
        if judge_id is not None:
            n, bad = session.exec(
                select(
                    func.count(),
                    func.sum(case((JudgeVerdict.score <= HALLUCINATION_MAX_SCORE, 1), else_=0)),
                ).where(*_verdict_conditions(period, judge_id))
            ).one()
            judged[flag] = (n, bad or 0)
    out = []
    for flag, period in ((1, filters), (0, filters.previous())):
        row = per[flag]
        traces = row.get("traces", 0)
        n, bad = judged.get(flag, (0, 0))
        out.append(
            {
                "traces": traces,
                "task_success_rate": _ratio(row.get("ok"), row.get("known")),
                "hallucination_rate": _ratio(bad, n) if judge_id is not None else None,
                "p95_latency_ms": percentile(
                    session, Trace.latency_ms, _trace_conditions(period), 0.95, n=row.get("n_latency", 0)
                ),
                "cost_per_successful_task_usd": _ratio(row.get("cost"), row.get("ok")),
                "safety_triggers_per_1k": _ratio(events.get(flag, 0) * 1000, traces),
                "cache_hit_rate": _ratio(row.get("hits"), row.get("cache_known")),
            }
        )
    return out[0], out[1]


KPI_DEFINITIONS = [
    ("task_success_rate", "Task success", "%", True, "Share of traces whose task succeeded (where known)."),
    (
        "hallucination_rate",
        "Hallucination rate",
        "%",
        False,
        "Share of judged traces with a groundedness verdict of 1-2 of 5 (newest judge with verdicts).",
    ),
    ("p95_latency_ms", "p95 latency", "ms", False, "95th percentile of end-to-end latency (nearest rank)."),
    (
        "cost_per_successful_task_usd",
        "Cost per successful task",
        "usd",
        False,
        "Total cost divided by the number of successful tasks.",
    ),
    (
        "safety_triggers_per_1k",
        "Safety triggers / 1k traces",
        "per_1k",
        False,
        "Guardrail events (all guardrails, stages and actions) per 1,000 traces.",
    ),
    ("cache_hit_rate", "Cache hit rate", "%", True, "Share of traces answered from cache (where known)."),
]


_NO_JUDGE: Any = object()


def groundedness_judge_id(session: Session) -> int | None:
    judge = groundedness_judge(session)
    return judge.id if judge else None


def overview_kpis(session: Session, filters: Filters, *, judge_id: Any = _NO_JUDGE) -> list[Kpi]:
    """The Overview's six KPI tiles for the filter, each with its previous-period value.

    `judge_id` (from groundedness_judge_id) may be passed by a page that already looked it up.
    """
    if judge_id is _NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    now, before = _periods(session, filters, judge_id)
    return [
        Kpi(key, label, now[key], before[key], unit, higher, help_text)
        for key, label, unit, higher, help_text in KPI_DEFINITIONS
    ]


def trace_count(session: Session, filters: Filters) -> int:
    return session.exec(select(func.count()).where(*_trace_conditions(filters))).one()


@dataclass(frozen=True)
class FilterOptions:
    first_ts: datetime | None
    last_ts: datetime | None
    releases: list[str]
    segments: list[str]


def filter_options(session: Session) -> FilterOptions:
    """What the filter bar offers: the data's time span and the known releases and segments."""
    # min and max as separate subqueries: each is one index probe (together in one SELECT, SQLite scans)
    first, last = session.exec(
        select(select(func.min(Trace.ts)).scalar_subquery(), select(func.max(Trace.ts)).scalar_subquery())
    ).one()
    releases = [r for r in session.exec(select(Trace.release).distinct().order_by(Trace.release)).all() if r]
    segments = [s for s in session.exec(select(Trace.segment).distinct().order_by(Trace.segment)).all() if s]
    return FilterOptions(first, last, releases, segments)


_TRACE_COLUMNS = (
    Trace.external_id,
    Trace.ts,
    Trace.segment,
    Trace.release,
    Trace.model,
    Trace.prompt_version,
    Trace.latency_ms,
    Trace.cost_usd,
    Trace.task_success,
    Trace.input,
    Trace.output,
)


def traces_in(session: Session, filters: Filters, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest traces behind a filter, for drill-down tables."""
    rows = session.exec(
        select(*_TRACE_COLUMNS)
        .where(and_(*_trace_conditions(filters)))
        .order_by(col(Trace.ts).desc())
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]


# --- trends and drill-down ---------------------------------------------------------------------------


def _p95_by_bucket(
    session: Session, filters: Filters, bucket: str, counts: dict[datetime, int]
) -> dict[datetime, float]:
    """Nearest-rank p95 per bucket: one top-N query per bucket with traffic (see percentile())."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[bucket]
    out = {}
    for start in bucket_grid(filters.start, filters.end, bucket):
        if counts.get(start):
            part = Filters(
                max(start, filters.start), min(start + step, filters.end), filters.release, filters.segment
            )
            value = percentile(session, Trace.latency_ms, _trace_conditions(part), 0.95, n=counts[start])
            if value is not None:
                out[start] = value
    return out


def kpi_trends(
    session: Session, filters: Filters, *, bucket: str = "day", judge_id: Any = _NO_JUDGE
) -> dict[str, list[dict[str, Any]]]:
    """Each Overview KPI per bucket over the filter (sparklines); buckets without traffic hold None."""
    if judge_id is _NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    conditions = _trace_conditions(filters)
    b = bucket_expr(session, Trace.ts, bucket)
    rows = session.exec(select(b, *_kpi_aggregates()).where(*conditions).group_by(b)).all()
    per: dict[datetime, dict[str, Any]] = {}
    latency_counts: dict[datetime, int] = {}
    for key, n, ok, known, cost, hits, cache_known, n_latency in rows:
        latency_counts[bucket_start(key)] = n_latency
        per[bucket_start(key)] = {
            "traces": n,
            "task_success_rate": _ratio(ok, known),
            "cost_per_successful_task_usd": _ratio(cost, ok),
            "cache_hit_rate": _ratio(hits, cache_known),
            "n": n,
        }
    eb = bucket_expr(session, GuardrailEvent.ts, bucket)
    events = dict(
        session.exec(select(eb, func.count()).where(*_event_conditions(filters)).group_by(eb)).all()
    )
    events = {bucket_start(k): v for k, v in events.items()}
    hallucinated: dict[datetime, float | None] = {}
    if judge_id is not None:
        vb = bucket_expr(session, JudgeVerdict.trace_ts, bucket)
        for key, judged, bad in session.exec(
            select(
                vb,
                func.count(),
                func.sum(case((JudgeVerdict.score <= HALLUCINATION_MAX_SCORE, 1), else_=0)),
            )
            .where(*_verdict_conditions(filters, judge_id))
            .group_by(vb)
        ).all():
            hallucinated[bucket_start(key)] = _ratio(bad, judged)
    p95 = _p95_by_bucket(session, filters, bucket, latency_counts)
    out: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in KPI_DEFINITIONS}
    for start in bucket_grid(filters.start, filters.end, bucket):
        row = per.get(start, {})
        values = {
            **row,
            "hallucination_rate": hallucinated.get(start),
            "p95_latency_ms": p95.get(start),
            "safety_triggers_per_1k": _ratio(events.get(start, 0) * 1000, row.get("n")),
        }
        for key in out:
            out[key].append({"bucket": start, "value": values.get(key), "traces": row.get("n", 0)})
    return out


def _poor_condition(session: Session, filters: Filters, key: str, judge_id: Any = _NO_JUDGE) -> Any:
    """Which traces make a KPI poor: the rows a lead wants to read when the tile turns red."""
    if key == "task_success_rate":
        return Trace.task_success.is_(False)
    if key == "cache_hit_rate":
        return Trace.cache_hit.is_(False)
    if key == "cost_per_successful_task_usd":  # money spent without a successful task
        return and_(Trace.cost_usd > 0, Trace.task_success.is_not(True))
    if key == "p95_latency_ms":
        p95 = percentile(session, Trace.latency_ms, _trace_conditions(filters), 0.95)
        return Trace.latency_ms >= (p95 if p95 is not None else float("inf"))
    if key == "safety_triggers_per_1k":
        return select(GuardrailEvent.id).where(GuardrailEvent.trace_id == Trace.id).exists()
    if key == "hallucination_rate":  # a trace in the filter with a successful verdict of 1-2
        if judge_id is _NO_JUDGE:
            judge_id = groundedness_judge_id(session)
        bad = [
            *_verdict_conditions(filters, judge_id if judge_id is not None else -1),
            JudgeVerdict.score <= HALLUCINATION_MAX_SCORE,
        ]
        return col(Trace.id).in_(select(JudgeVerdict.trace_id).where(*bad))
    raise ValueError(f"unknown KPI {key!r}; known: {', '.join(k for k, *_ in KPI_DEFINITIONS)}")


def kpi_drilldown(
    session: Session, *, filters: Filters, key: str, limit: int = 100, judge_id: Any = _NO_JUDGE
) -> dict[str, Any]:
    """The traces behind a poor KPI: which prompt version and model they come from, and each trace's context.

    Returns {"by_version": [prompt_version, model, traces, poor, poor_share], "traces": [...newest poor]}.
    `judge_id` (from groundedness_judge_id) may be passed by a page that already looked it up.
    """
    if key == "hallucination_rate":
        return _hallucination_drilldown(session, filters, judge_id, limit)
    poor = _poor_condition(session, filters, key, judge_id)
    conditions = _trace_conditions(filters)
    poor_count = func.sum(case((poor, 1), else_=0))
    groups = session.exec(
        select(Trace.prompt_version, Trace.model, func.count(), poor_count)
        .where(*conditions)
        .group_by(Trace.prompt_version, Trace.model)
        .order_by(poor_count.desc(), Trace.prompt_version, Trace.model)
    ).all()
    by_version = _by_version([(pv, m, n, int(p or 0)) for pv, m, n, p in groups])
    rows = session.exec(
        select(*_TRACE_COLUMNS, Trace.top_retrieval_score, Trace.context)
        .where(*conditions, poor)
        .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
        .limit(limit)
    ).all()
    return {"by_version": by_version, "traces": [dict(r._mapping) for r in rows]}


def _by_version(groups: list[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """(prompt_version, model, traces, poor) rows, most poor first."""
    groups = sorted(groups, key=lambda g: (-g[3], g[0], g[1]))
    return [
        {"prompt_version": pv, "model": m, "traces": n, "poor": p, "poor_share": _ratio(p, n)}
        for pv, m, n, p in groups
    ]


def _hallucination_drilldown(session: Session, filters: Filters, judge_id: Any, limit: int) -> dict[str, Any]:
    """The hallucination drill-down driven from the (few) bad verdicts, not from every trace in the range:
    traces per group index-only on trace, hallucinated traces per group through the verdicts' index."""
    if judge_id is _NO_JUDGE:
        judge_id = groundedness_judge_id(session)
    bad = [
        *_verdict_conditions(filters, judge_id if judge_id is not None else -1),
        JudgeVerdict.score <= HALLUCINATION_MAX_SCORE,
    ]
    totals = session.exec(
        select(Trace.prompt_version, Trace.model, func.count())
        .where(*_trace_conditions(filters))
        .group_by(Trace.prompt_version, Trace.model)
    ).all()
    bad_ids = select(JudgeVerdict.trace_id).where(*bad).distinct().subquery()
    poor = dict(
        ((pv, m), n)
        for pv, m, n in session.exec(
            select(Trace.prompt_version, Trace.model, func.count())
            .join(bad_ids, bad_ids.c.trace_id == Trace.id)
            # True of every bad verdict's trace (ts, segment, release are copied): lets the planner range-scan.
            .where(*_trace_conditions(filters))
            .group_by(Trace.prompt_version, Trace.model)
        ).all()
    )
    by_version = _by_version([(pv, m, n, poor.get((pv, m), 0)) for pv, m, n in totals])
    newest = (
        select(JudgeVerdict.trace_id, JudgeVerdict.trace_ts)
        .where(*bad)
        .distinct()
        .order_by(col(JudgeVerdict.trace_ts).desc(), col(JudgeVerdict.trace_id).desc())
        .limit(limit)
    ).subquery()
    rows = session.exec(
        select(*_TRACE_COLUMNS, Trace.top_retrieval_score, Trace.context)
        .join(newest, newest.c.trace_id == Trace.id)
        .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
    ).all()
    return {"by_version": by_version, "traces": [dict(r._mapping) for r in rows]}
