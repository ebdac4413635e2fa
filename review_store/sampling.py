"""Sampling: which production traces humans review, and the stored, versioned policy that says so.

Every strategy is one SQL query over traces that have no review item in the target queue yet, so a trace
is never sampled twice into the same queue (the unique (trace_id, queue) constraint backs this up: the
insert skips conflicts, which keeps concurrent samplers safe).

Strategies (each row becomes a ReviewItem with that `reason`):
- random: uniformly at random (SQL random()).
- stratified: per segment, `proportional` to its traffic or `equal` counts, random within a segment.
- low_score: lowest minimum judge score over the trace's rating verdicts first.
- low_confidence: traces with any judge verdict whose confidence is below `threshold`, least confident first.
- guardrail: traces with a guardrail event (optionally only some `actions`), newest first.
- thumbs_down: user feedback "down", newest first.
- judge_disagreement: two or more judge configs scored the same question at least `threshold` apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from review_store import audit, versioning
from review_store import settings as team_settings
from review_store.errors import ValidationFailed
from review_store.models import GuardrailEvent, JudgeVerdict, ReviewItem, SamplingPolicy, Trace, utcnow
from review_store.permissions import Actor, require

STRATEGIES = (
    "random",
    "stratified",
    "low_score",
    "low_confidence",
    "guardrail",
    "thumbs_down",
    "judge_disagreement",
)
INSERT_SLICE = 2_000  # rows per INSERT statement
ANALYZE_AFTER = 1_000  # rows inserted at once on PostgreSQL: refresh review_item statistics
PRIORITY = {"thumbs_down": 3, "guardrail": 2, "low_confidence": 2, "judge_disagreement": 1, "low_score": 1}


@dataclass
class SampleResult:
    strategy: str
    requested: int
    created: int
    trace_ids: list[int] = field(default_factory=list)
    per_segment: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "requested": self.requested,
            "created": self.created,
            "per_segment": self.per_segment,
        }


def _conditions(queue: str, segment: str | None, since: datetime | None, until: datetime | None) -> list:
    taken = exists().where(ReviewItem.trace_id == Trace.id, ReviewItem.queue == queue)
    # a shadow trace is reviewed beside its production trace (a pairwise question), never on its own
    conditions = [~taken, col(Trace.shadow_of).is_(None)]
    if segment:
        conditions.append(Trace.segment == segment)
    if since:
        conditions.append(col(Trace.ts) >= since)
    if until:
        conditions.append(col(Trace.ts) < until)
    return conditions


def _base(queue: str, segment: str | None, since: datetime | None, until: datetime | None):
    return select(Trace.id).where(*_conditions(queue, segment, since, until))


def _pick(session: Session, strategy: str, n: int, base, params: dict[str, Any]) -> list[int]:
    if n <= 0:
        return []
    if strategy == "random":
        query = base.order_by(func.random())
    elif strategy == "thumbs_down":
        query = base.where(Trace.user_feedback == "down").order_by(col(Trace.ts).desc(), col(Trace.id))
    elif strategy == "guardrail":
        events = select(GuardrailEvent.trace_id)
        if params.get("actions"):
            events = events.where(col(GuardrailEvent.action).in_(list(params["actions"])))
        query = base.where(col(Trace.id).in_(events)).order_by(col(Trace.ts).desc(), col(Trace.id))
    elif strategy == "low_score":
        scores = _verdicts(params).where(col(JudgeVerdict.score).is_not(None))
        worst = scores.with_only_columns(
            JudgeVerdict.trace_id, func.min(JudgeVerdict.score).label("v")
        ).group_by(JudgeVerdict.trace_id)
        sub = worst.subquery()
        query = base.join(sub, sub.c.trace_id == Trace.id).order_by(sub.c.v, col(Trace.id))
    elif strategy == "low_confidence":
        threshold = float(params["threshold"])
        conf = (
            _verdicts(params)
            .with_only_columns(JudgeVerdict.trace_id, func.min(JudgeVerdict.confidence).label("v"))
            .where(col(JudgeVerdict.confidence) < threshold)
            .group_by(JudgeVerdict.trace_id)
            .subquery()
        )
        query = base.join(conf, conf.c.trace_id == Trace.id).order_by(conf.c.v, col(Trace.id))
    elif strategy == "judge_disagreement":
        spread = func.max(JudgeVerdict.score) - func.min(JudgeVerdict.score)
        per_question = (
            _verdicts(params)
            .with_only_columns(JudgeVerdict.trace_id, spread.label("spread"))
            .where(col(JudgeVerdict.score).is_not(None))
            .group_by(JudgeVerdict.trace_id, JudgeVerdict.question_key)
            .having(func.count(func.distinct(JudgeVerdict.judge_config_id)) >= 2)
            .having(spread >= float(params.get("threshold") or 1))
            .subquery()
        )
        worst = (
            select(per_question.c.trace_id, func.max(per_question.c.spread).label("v"))
            .group_by(per_question.c.trace_id)
            .subquery()
        )
        query = base.join(worst, worst.c.trace_id == Trace.id).order_by(worst.c.v.desc(), col(Trace.id))
    else:
        raise ValidationFailed(f"strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    return list(session.exec(query.limit(n)).all())


def _verdicts(params: dict[str, Any]):
    query = select(JudgeVerdict.trace_id).where(col(JudgeVerdict.error).is_(None))
    if params.get("judge_config_id"):
        query = query.where(JudgeVerdict.judge_config_id == int(params["judge_config_id"]))
    if params.get("question_key"):
        query = query.where(JudgeVerdict.question_key == params["question_key"])
    return query


def stratified_quotas(counts: dict[str, int], n: int, mode: str) -> dict[str, int]:
    """How many to take per segment: largest-remainder proportional shares, or equal shares."""
    if mode not in ("proportional", "equal"):
        raise ValidationFailed(f"mode: {mode!r} is not proportional or equal")
    segments = sorted(s for s, c in counts.items() if c > 0)
    if not segments or n <= 0:
        return {}
    total = sum(counts[s] for s in segments)
    exact = {s: (n * counts[s] / total if mode == "proportional" else n / len(segments)) for s in segments}
    quota = {s: int(exact[s]) for s in segments}
    rest = n - sum(quota.values())
    for s in sorted(segments, key=lambda s: (-(exact[s] - quota[s]), s))[:rest]:
        quota[s] += 1
    return {s: min(q, counts[s]) for s, q in quota.items()}


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert, skipping traces a concurrent sampler took meanwhile; the trace ids actually inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted: list[int] = []
    # In slices: one multi-row VALUES per slice stays under SQLite's 32,766 and PostgreSQL's 65,535
    # bound parameters (9 per row), so a sample of 100,000 items is as safe as one of 10.
    for start in range(0, len(rows), INSERT_SLICE):
        statement = (
            insert(ReviewItem)
            .values(rows[start : start + INSERT_SLICE])
            .on_conflict_do_nothing(index_elements=["trace_id", "queue"])
            .returning(ReviewItem.trace_id)
        )
        inserted += session.exec(statement).scalars().all()
    inserted.sort()
    if dialect == "postgresql" and len(inserted) >= ANALYZE_AFTER:
        # Fresh statistics for the planner right after a bulk load (autovacuum would take a while):
        # cheap (a sample), and it runs in this transaction, so it sees the rows just inserted.
        session.exec(text("ANALYZE reviewitem"))
    return inserted


def sample(
    session: Session,
    *,
    actor: Actor,
    strategy: str,
    n: int,
    segment: str | None = None,
    mode: str = "proportional",
    threshold: float | None = None,
    actions: list[str] | None = None,
    judge_config_id: int | None = None,
    question_key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    queue: str = "sampled",
    overlap_k: int | None = None,
    policy_id: int | None = None,
) -> SampleResult:
    """Create up to n review items with one strategy; traces already in `queue` are never picked again.

    `threshold`: low_confidence (default: setting escalation.low_confidence) or judge_disagreement (default 1
    point). `overlap_k` defaults to the current policy's (else 2). Raises ValidationFailed on bad input.
    """
    require(actor, "sample")
    if strategy not in STRATEGIES:
        raise ValidationFailed(f"strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if n < 0:
        raise ValidationFailed("n: must be zero or more")
    if queue not in ("sampled", "escalation"):
        raise ValidationFailed("queue: sampled or escalation")
    policy = current_policy(session)
    k = overlap_k or (policy.overlap_k if policy else 2)
    if k < 1:
        raise ValidationFailed("overlap_k: at least 1")
    if strategy == "low_confidence" and threshold is None:
        threshold = team_settings.get(session, "escalation.low_confidence").threshold
    params = {
        "threshold": threshold,
        "actions": actions,
        "judge_config_id": judge_config_id,
        "question_key": question_key,
    }
    result = SampleResult(strategy=strategy, requested=n, created=0)
    if strategy == "stratified":
        counts_query = (
            select(Trace.segment, func.count())
            .where(*_conditions(queue, segment, since, until))
            .group_by(Trace.segment)
        )
        counts = dict(session.exec(counts_query).all())
        picked: list[int] = []
        for seg, quota in stratified_quotas(counts, n, mode).items():
            ids = _pick(session, "random", quota, _base(queue, seg, since, until), params)
            picked += ids
            result.per_segment[seg] = len(ids)
    else:
        picked = _pick(session, strategy, n, _base(queue, segment, since, until), params)
    now = utcnow()
    rows = [
        {
            "trace_id": trace_id,
            "queue": queue,
            "reason": strategy,
            "priority": PRIORITY.get(strategy, 0),
            "overlap_k": k,
            "status": "open",
            "labels_done": 0,
            "sampling_policy_id": policy_id if policy_id is not None else (policy.id if policy else None),
            "created_at": now,
        }
        for trace_id in picked
    ]
    result.trace_ids = _insert(session, rows)
    result.created = len(result.trace_ids)
    audit.record(
        session,
        actor=actor,
        action="review_item.sample",
        entity="review_item",
        entity_id=strategy,
        payload={
            **result.as_dict(),
            "segment": segment,
            "mode": mode,
            "threshold": threshold,
            "queue": queue,
        },
    )
    return result


# --- the stored policy ------------------------------------------------------------------------------


def current_policy(session: Session) -> SamplingPolicy | None:
    return session.exec(select(SamplingPolicy).order_by(col(SamplingPolicy.version).desc()).limit(1)).first()


def list_policies(session: Session) -> list[SamplingPolicy]:
    return list(session.exec(select(SamplingPolicy).order_by(col(SamplingPolicy.version).desc())).all())


def _check_strategies(strategies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(strategies, list) or not strategies:
        raise ValidationFailed("strategies: a list of at least one {strategy, share, ...} object")
    clean = []
    for i, entry in enumerate(strategies, start=1):
        if not isinstance(entry, dict):
            raise ValidationFailed(f"strategy {i}: expected an object with strategy and share")
        name = entry.get("strategy")
        if name not in STRATEGIES:
            raise ValidationFailed(f"strategy {i}: {name!r} is not one of {', '.join(STRATEGIES)}")
        try:
            share = float(entry.get("share", 0))
        except (TypeError, ValueError):
            raise ValidationFailed(f"strategy {i}: share must be a number") from None
        if not 0 < share <= 1:
            raise ValidationFailed(f"strategy {i}: share must be in (0, 1]")
        clean.append({**entry, "strategy": name, "share": share})
    total = sum(e["share"] for e in clean)
    if total > 1.0001:
        raise ValidationFailed(f"strategies: shares add up to {total:.2f}, more than 1")
    return clean


def save_policy(
    session: Session, *, actor: Actor, strategies: list[dict[str, Any]], daily_quota: int, overlap_k: int
) -> SamplingPolicy:
    """Store the policy as a new version (leads); an unchanged policy returns the current version."""
    require(actor, "edit_settings")
    clean = _check_strategies(strategies)
    if daily_quota < 0:
        raise ValidationFailed("daily_quota: zero or more")
    if not 1 <= overlap_k <= 10:
        raise ValidationFailed("overlap_k: between 1 and 10")
    return versioning.save_version(
        session,
        actor=actor,
        model=SamplingPolicy,
        content={"strategies": clean, "daily_quota": daily_quota, "overlap_k": overlap_k},
        values={"strategies": clean, "daily_quota": daily_quota, "overlap_k": overlap_k},
        entity="sampling_policy",
        payload={"daily_quota": daily_quota, "overlap_k": overlap_k},
    )


def run_policy(session: Session, *, actor: Actor, now: datetime | None = None) -> list[SampleResult]:
    """Fill today's quota of the current policy: each strategy gets its share of what is left today."""
    require(actor, "sample")
    policy = current_policy(session)
    if policy is None:
        raise ValidationFailed("no sampling policy yet: a lead saves one in Settings > Sampling")
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = session.exec(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.queue == "sampled", col(ReviewItem.created_at) >= midnight)
    ).one()
    left = max(policy.daily_quota - int(today), 0)
    results = []
    for entry in policy.strategies:
        params = {
            k: v for k, v in entry.items() if k in ("segment", "mode", "threshold", "actions", "question_key")
        }
        n = int(round(left * float(entry["share"])))
        results.append(
            sample(
                session,
                actor=actor,
                strategy=entry["strategy"],
                n=n,
                overlap_k=policy.overlap_k,
                policy_id=policy.id,
                **params,
            )
        )
    return results
