"""Shadow pairs: a production trace of the baseline release and the shadow trace of the candidate release
that answers the same input, with the positions (A or B) they are shown in.

Positions are randomised per pair but deterministically: a hash of the production trace's external id
decides whether the candidate is shown as A, so every reviewer and the judge see a pair the same way,
a re-run gives the same layout, and about half the pairs put the candidate first (no position bias
in aggregate). `candidate_outcome` maps an answer given on the screen ("a", "b", "tie") back to the
candidate's outcome, so results are attributed to the right release whatever the layout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from review_store.errors import ValidationFailed
from review_store.models import Trace

CHOICES = ("a", "b", "tie")


def candidate_shown_as_a(key: str) -> bool:
    """Whether the candidate is position A for the pair keyed `key` (its production trace's external id)."""
    return hashlib.sha256(f"pairwise-position:{key}".encode()).digest()[0] & 1 == 1


def candidate_outcome(choice: str, *, candidate_is_a: bool) -> str:
    """A screen answer ("a" = the left/first output better) -> the candidate's outcome: "a" candidate
    better, "b" baseline better, "tie" (the convention of review_store.pairwise.stats)."""
    if choice not in CHOICES:
        raise ValidationFailed(f"pairwise answer: expected one of a, b, tie, got {choice!r}")
    if choice == "tie" or candidate_is_a:
        return choice
    return "b" if choice == "a" else "a"


@dataclass(frozen=True)
class ShadowPair:
    """One input answered by both releases, and how it is shown."""

    key: str  # the production trace's external id
    baseline_trace_id: int
    candidate_trace_id: int
    candidate_is_a: bool

    @property
    def a_trace_id(self) -> int:
        return self.candidate_trace_id if self.candidate_is_a else self.baseline_trace_id

    @property
    def b_trace_id(self) -> int:
        return self.baseline_trace_id if self.candidate_is_a else self.candidate_trace_id

    def release_of(self, position: str, *, candidate: str, baseline: str) -> str:
        """The release shown at position "a" or "b" (revealed after an answer is submitted)."""
        if position not in ("a", "b"):
            raise ValidationFailed(f"position must be a or b, got {position!r}")
        return candidate if (position == "a") == self.candidate_is_a else baseline


def shadow_pairs(
    session: Session, *, candidate: str, baseline: str, limit: int | None = None
) -> list[ShadowPair]:
    """The pairs of `candidate` shadowing `baseline`'s production traces, oldest production trace first.

    A production trace pairs with its first shadow trace stored of another release (as `pair_for_trace`,
    what reviewers are shown): with several shadows of one candidate, the first; when another candidate's
    shadow was stored first, the trace is that candidate's pair, not this one's."""
    if not candidate or not baseline:
        raise ValidationFailed("shadow pairs: name both a candidate and a baseline release")
    if candidate == baseline:
        raise ValidationFailed(f"shadow pairs: candidate and baseline are both {candidate!r}")
    prod, shadow, chosen = aliased(Trace), aliased(Trace), aliased(Trace)
    first = (
        select(prod.id.label("pid"), func.min(shadow.id).label("sid"))
        .join(shadow, shadow.shadow_of == prod.external_id)
        .where(prod.release == baseline, prod.shadow_of.is_(None), shadow.release != prod.release)
        .group_by(prod.id)
        .subquery()
    )
    stmt = (
        select(prod.external_id, prod.id, first.c.sid)
        .join(first, first.c.pid == prod.id)
        .join(chosen, chosen.id == first.c.sid)
        .where(chosen.release == candidate)
        .order_by(prod.ts, prod.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        ShadowPair(key, pid, sid, candidate_shown_as_a(key)) for key, pid, sid in session.exec(stmt).all()
    ]


@dataclass(frozen=True)
class TracePair:
    """The shadow pair a review item's trace is shown with, and the two releases (revealed after submit)."""

    pair: ShadowPair
    candidate: str
    baseline: str

    def release_of(self, position: str) -> str:
        return self.pair.release_of(position, candidate=self.candidate, baseline=self.baseline)


def pair_for_trace(session: Session, *, trace_id: int) -> TracePair | None:
    """The pair a pairwise question on this trace compares, or None when it has none.

    A trace has a pair when it is production traffic (not itself a shadow), names its release, and a
    shadow trace of another release answers its input; with shadows of several candidates (or several of
    one), the first one stored is the pair, so what reviewers saw and what a report reads stay the same
    as more shadows arrive."""
    trace = session.get(Trace, trace_id)
    if trace is None or trace.shadow_of is not None or not trace.release:
        return None
    row = session.exec(
        select(Trace.id, Trace.release)
        .where(Trace.shadow_of == trace.external_id, Trace.release != trace.release)
        .order_by(Trace.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    key = trace.external_id
    return TracePair(ShadowPair(key, trace.id, row[0], candidate_shown_as_a(key)), row[1], trace.release)
