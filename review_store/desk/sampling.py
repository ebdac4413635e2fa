"""desk.sampling: which production traces humans review (one strategy now, or the stored policy's quota)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from review_store import sampling
from review_store.desk.base import Part, ReadModel
from review_store.hashing import canonical_json
from review_store.models import SamplingPolicy
from review_store.permissions import Actor

STRATEGIES = sampling.STRATEGIES


class SegmentCount(ReadModel):
    segment: str
    created: int


class SampleView(ReadModel):
    strategy: str
    requested: int
    created: int
    per_segment: tuple[SegmentCount, ...]


class PolicyView(ReadModel):
    version: int
    daily_quota: int
    overlap_k: int
    strategies_json: str  # the strategy list as canonical JSON (each entry: strategy, share, parameters)
    content_hash: str
    created_by: str
    created_at: datetime


def _sample(result: sampling.SampleResult) -> SampleView:
    return SampleView(
        strategy=result.strategy,
        requested=result.requested,
        created=result.created,
        per_segment=tuple(SegmentCount(segment=s, created=n) for s, n in sorted(result.per_segment.items())),
    )


def _policy(policy: SamplingPolicy) -> PolicyView:
    return PolicyView(
        version=policy.version,
        daily_quota=policy.daily_quota,
        overlap_k=policy.overlap_k,
        strategies_json=canonical_json(policy.strategies),
        content_hash=policy.content_hash,
        created_by=policy.created_by,
        created_at=policy.created_at,
    )


class SamplingPart(Part):
    def policies(self) -> tuple[PolicyView, ...]:
        """Every stored sampling policy version, newest first (the first is current)."""
        with self._read() as session:
            return tuple(_policy(p) for p in sampling.list_policies(session))

    def save_policy(
        self, *, actor: Actor, strategies: list[dict[str, Any]], daily_quota: int, overlap_k: int
    ) -> PolicyView:
        """Store the policy as the next version (leads); unchanged content returns the current version."""
        with self._write(actor) as (session, who):
            return _policy(
                sampling.save_policy(
                    session, actor=who, strategies=strategies, daily_quota=daily_quota, overlap_k=overlap_k
                )
            )

    def sample(
        self,
        *,
        actor: Actor,
        strategy: str,
        n: int,
        segment: str | None = None,
        mode: str = "proportional",
        threshold: float | None = None,
        overlap_k: int | None = None,
    ) -> SampleView:
        """Create up to n review items with one strategy; a trace already in the queue is never picked."""
        with self._write(actor) as (session, who):
            result = sampling.sample(
                session,
                actor=who,
                strategy=strategy,
                n=n,
                segment=segment,
                mode=mode,
                threshold=threshold,
                overlap_k=overlap_k,
            )
            return _sample(result)

    def run_policy(self, *, actor: Actor) -> tuple[SampleView, ...]:
        """Fill what is left of today's quota (the clock's day) with the current policy's strategies."""
        with self._write(actor) as (session, who):
            return tuple(_sample(r) for r in sampling.run_policy(session, actor=who))
