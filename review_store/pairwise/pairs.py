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

    A production trace with several shadow traces of the candidate pairs with the first one stored."""
    if not candidate or not baseline:
        raise ValidationFailed("shadow pairs: name both a candidate and a baseline release")
    if candidate == baseline:
        raise ValidationFailed(f"shadow pairs: candidate and baseline are both {candidate!r}")
    prod, shadow = aliased(Trace), aliased(Trace)
    first = (
        select(shadow.shadow_of, func.min(shadow.id).label("sid"))
        .where(shadow.release == candidate, shadow.shadow_of.is_not(None))
        .group_by(shadow.shadow_of)
        .subquery()
    )
    stmt = (
        select(prod.external_id, prod.id, first.c.sid)
        .join(first, first.c.shadow_of == prod.external_id)
        .where(prod.release == baseline, prod.shadow_of.is_(None))
        .order_by(prod.ts, prod.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        ShadowPair(key, pid, sid, candidate_shown_as_a(key)) for key, pid, sid in session.exec(stmt).all()
    ]
