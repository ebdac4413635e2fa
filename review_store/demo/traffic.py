"""Demo world traffic: 30 days of traces with their guardrail events, and the latent truth behind each
(what a careful human would answer), which the judge and reviewer simulations read.

What the story depends on is counted, not drawn (see quota.py): traces per day (weekends at 45% of a
weekday), the segment mix of each day, r2's share at each canary stage, and per day and segment how many
answers are wrong and how many of each guardrail fire. So the refunds grounding shift after r2's canary and
the flat rates before it are the same for every seed; the seed picks which traces, hours and words.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from review_store.demo.quota import Quota, split
from review_store.demo.text import SEGMENT_WEIGHTS, SEGMENTS
from review_store.demo.words import TraceFate, Truth, trace_row, xss_row
from review_store.models import GuardrailEvent, Trace
from review_store.rollups.maintain import add_traces

__all__ = [
    "DAYS",
    "R2_CANARY",
    "BuildCounts",
    "TraceFacts",
    "generate",
    "r2_share",
    "write_traffic",
]

DAYS = 30
WEEKEND_SHARE = 0.45  # weekend days carry 45% of a weekday's traffic
HOUR_WEIGHTS = [0.25 + math.exp(-((h - 13.5) ** 2) / 18) for h in range(24)]  # office hours busiest
R2_CANARY = [(16.0, 5), (16.5, 25), (17.0, 50), (18.0, 100)]  # (day, percent of traffic on r2)
WRONG_RATE = {"r1": 0.06, "r2": 0.08}
R2_REFUNDS_WRONG_RATE = 0.30  # r2's short prompt and top-k 8 without reranker: refunds answers drift
GROUNDING_WHEN_WRONG, GROUNDING_BACKGROUND = 0.45, 0.015
INPUT_GUARDRAILS = (("prompt_injection", 0.006), ("pii_detector", 0.02), ("off_topic", 0.015))
OUTPUT_GUARDRAILS = (("citation_check", 0.01), ("low_confidence", 0.01))
POLICY_BLOCK_RATE = 0.003
# Who each trace was for (tenant, end user): a hash of the trace id, never a draw of the seeded generator,
# so the story's traces, words and counts are the same as without them.
TENANTS = ("acme-retail", "acme-retail", "acme-retail", "globex", "globex", "initech", "umbrella")
END_USERS = 240


@dataclass(slots=True)
class TraceFacts:
    """What the later steps (verdicts, labels) need to know about a written trace."""

    id: int
    ts: datetime
    segment: str
    release: str
    truth: Truth
    blocked: bool


@dataclass
class BuildCounts:
    traces: int = 0
    guardrail_events: int = 0
    verdicts: int = 0
    labels: int = 0
    items: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def day_weights(start: datetime) -> list[float]:
    return [WEEKEND_SHARE if (start + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(DAYS)]


def r2_share(day: float) -> int:
    """Percent of traffic on r2 at `day` (days since the world's start): the canary stages."""
    share = 0
    for canary_day, pct in R2_CANARY:
        if day >= canary_day:
            share = pct
    return share


def _pick(rng: random.Random, pool: list[TraceFate], k: int) -> list[TraceFate]:
    return rng.sample(pool, min(k, len(pool)))


def _plan_cell(rng: random.Random, quota: Quota, segment: str, cell: list[TraceFate]) -> None:
    """Decide release, correctness and guardrails of one day's traces of one segment, by exact counts."""
    by_stage: dict[int, list[TraceFate]] = {}
    for fate in cell:
        by_stage.setdefault(fate.r2_pct, []).append(fate)
    for pct, members in sorted(by_stage.items()):
        for fate in _pick(rng, members, quota.take(("r2", segment), len(members), pct / 100)):
            fate.release = "r2"
    inputs = [quota.take((name, segment), len(cell), rate) for name, rate in INPUT_GUARDRAILS]
    chosen = _pick(rng, cell, sum(inputs))
    for (name, _), k in zip(INPUT_GUARDRAILS, inputs, strict=True):
        for fate in chosen[:k]:
            fate.input_guard = name
        chosen = chosen[k:]
    for name, rate in OUTPUT_GUARDRAILS:
        for fate in _pick(rng, cell, quota.take((name, segment), len(cell), rate)):
            fate.output_guards.append(name)
    for release in ("r1", "r2"):
        open_ = [f for f in cell if f.release == release and f.input_guard != "prompt_injection"]
        if not open_:
            continue
        rate = R2_REFUNDS_WRONG_RATE if (release, segment) == ("r2", "refunds") else WRONG_RATE[release]
        wrong = _pick(rng, open_, quota.take(("wrong", segment, release), len(open_), rate))
        for fate in wrong:
            fate.correct = False
        right = [f for f in open_ if f.correct]
        flagged = _pick(
            rng, wrong, quota.take(("grounding/wrong", segment, release), len(wrong), GROUNDING_WHEN_WRONG)
        )
        flagged += _pick(
            rng, right, quota.take(("grounding/right", segment, release), len(right), GROUNDING_BACKGROUND)
        )
        for fate in flagged:
            fate.output_guards.append("grounding")
        calm = [f for f in right if "grounding" not in f.output_guards]
        for fate in _pick(rng, calm, quota.take(("policy", segment, release), len(calm), POLICY_BLOCK_RATE)):
            fate.output_guards.append("policy")


def _plan_day(rng: random.Random, quota: Quota, start: datetime, day: int, n: int) -> list[TraceFate]:
    fates: list[TraceFate] = []
    for segment, count in zip(SEGMENTS, quota.split("segment", n, SEGMENT_WEIGHTS), strict=True):
        cell = []
        for hour in rng.choices(range(24), weights=HOUR_WEIGHTS, k=count):
            ts = start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
            cell.append(
                TraceFate(ts=ts, segment=segment, r2_pct=r2_share((ts - start).total_seconds() / 86400))
            )
        _plan_cell(rng, quota, segment, cell)
        fates += cell
    fates.sort(key=lambda f: f.ts)
    return fates


def generate(
    rng: random.Random, start: datetime, n: int
) -> Iterator[tuple[dict[str, Any], Truth, list[dict[str, Any]]]]:
    """n traces over DAYS days from `start`, in time order: (trace row with id, truth, guardrail event rows).

    Deterministic for the rng's seed; public so benchmarks can write the same traffic as JSONL.
    """
    quota = Quota()
    i = 0
    for day, count in enumerate(split(n, day_weights(start))):
        for fate in _plan_day(rng, quota, start, day, count):
            i += 1
            yield trace_row(rng, i, fate)


def write_traffic(
    session: Session, rng: random.Random, counts: BuildCounts, start: datetime, n: int
) -> list[TraceFacts]:
    """Insert the traffic (plus one trace whose output carries HTML, for the escaping test) in batches."""
    trace_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    facts: list[TraceFacts] = []
    for row, truth, events in generate(rng, start, n):
        row["tenant"], row["end_user"] = parties(row["id"])
        trace_rows.append(row)
        event_rows.extend(events)
        blocked = any(e["action"] == "blocked" for e in events)
        facts.append(TraceFacts(row["id"], row["ts"], row["segment"], row["release"], truth, blocked))
        if len(trace_rows) >= 2000:
            _flush(session, counts, trace_rows, event_rows)
    xss, truth = xss_row(n + 1, start + timedelta(days=DAYS - 1, hours=10))
    xss["tenant"], xss["end_user"] = parties(xss["id"])  # every row of one insert has the same keys
    trace_rows.append(xss)
    facts.append(TraceFacts(xss["id"], xss["ts"], xss["segment"], xss["release"], truth, False))
    _flush(session, counts, trace_rows, event_rows)
    return facts


def parties(trace_id: int) -> tuple[str, str]:
    """The demo trace's tenant and end user (Knuth's multiplicative hash of its id)."""
    mixed = (trace_id * 2654435761) % 2**32
    return TENANTS[mixed % len(TENANTS)], f"user-{(mixed >> 8) % END_USERS:03d}"


def _flush(session: Session, counts: BuildCounts, trace_rows: list, event_rows: list) -> None:
    if trace_rows:
        session.connection().execute(insert(Trace.__table__), trace_rows)
    if event_rows:
        session.connection().execute(insert(GuardrailEvent.__table__), event_rows)
    add_traces(session.connection(), trace_rows, event_rows)  # rollups, same transaction
    counts.traces += len(trace_rows)
    counts.guardrail_events += len(event_rows)
    trace_rows.clear()
    event_rows.clear()
