"""May a judge's scores count as release evidence for one rubric question? Judge vs human labels.

The judge is one rater, the humans are the other: per labelled trace the human reference is the
adjudicated answer when a lead adjudicated the item, else the median of the reviewers' labels (a
half-point median, e.g. 4.5, stays its own ordinal value rather than being rounded either way).
Alpha is Krippendorff's ordinal alpha (the `krippendorff` package, through review_store.agreement) and the
lower 95 % bound comes from a seeded bootstrap over items. Rule (settings "judge.trust"): trusted when at
least `min_items` items are paired and the CI lower bound is at or above `trusted_alpha`.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from review_store import agreement, settings
from review_store.errors import NotFound, ValidationFailed
from review_store.models import Adjudication, JudgeConfig, JudgeVerdict, Label, ReviewItem

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class TrustResult:
    trusted: bool
    reason: str
    alpha: float | None
    ci_low: float | None
    n_items: int
    ci_high: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_judge_ref(judge: str) -> tuple[str, int]:
    """'name@version' -> (name, version)."""
    name, _, version = judge.rpartition("@")
    if not name or not version.isdigit():
        raise ValidationFailed(f"judge: expected 'name@version', got {judge!r}")
    return name, int(version)


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def paired_ratings(session: Session, *, judge: str, question: str) -> pd.DataFrame:
    """One row per labelled trace the judge scored: trace_id, judge, human (the reference value)."""
    name, version = parse_judge_ref(judge)
    config = session.exec(
        select(JudgeConfig).where(JudgeConfig.name == name, JudgeConfig.version == version)
    ).first()
    if config is None:
        raise NotFound(f"no judge config {judge}")
    verdicts = dict(
        session.exec(
            select(JudgeVerdict.trace_id, JudgeVerdict.score).where(
                JudgeVerdict.judge_config_id == config.id,
                JudgeVerdict.question_key == question,
                col(JudgeVerdict.score).is_not(None),
            )
        ).all()
    )
    labels = session.exec(
        select(ReviewItem.trace_id, Label.item_id, Label.answers)
        .join(ReviewItem, col(ReviewItem.id) == Label.item_id)
        .order_by(col(Label.item_id))
    ).all()
    adjudicated = dict(
        session.exec(
            select(Adjudication.item_id, Adjudication.answers).join(
                Label, col(Label.item_id) == Adjudication.item_id
            )
        ).all()
    )
    humans: dict[tuple[int, int], list[float]] = {}
    for trace_id, item_id, answers in labels:
        value = _numeric((answers or {}).get(question))
        if value is not None:
            humans.setdefault((trace_id, item_id), []).append(value)
    rows = []
    for (trace_id, item_id), values in humans.items():
        if trace_id not in verdicts:
            continue
        final = _numeric((adjudicated.get(item_id) or {}).get(question))
        reference = final if final is not None else float(statistics.median(values))
        rows.append({"trace_id": trace_id, "judge": float(verdicts[trace_id]), "human": reference})
    return pd.DataFrame(rows, columns=["trace_id", "judge", "human"])


def judge_trust(session: Session, *, judge: str, question: str) -> TrustResult:
    """Whether `judge` ('name@version') may count as evidence for `question`, with the numbers behind it."""
    rule = settings.get(session, "judge.trust")
    trusted_alpha, min_items = float(rule["trusted_alpha"]), int(rule["min_items"])
    pairs = paired_ratings(session, judge=judge, question=question)
    n = len(pairs)
    if n < 2:
        return TrustResult(
            False, f"judge not trusted for {question}: only {n} labelled item(s)", None, None, n
        )
    table = pd.DataFrame([pairs["judge"].to_numpy(), pairs["human"].to_numpy()], index=["judge", "human"])
    alpha = agreement.krippendorff_alpha(table, level="ordinal")
    lo, hi = agreement.bootstrap_alpha_ci(
        table, level="ordinal", seed=BOOTSTRAP_SEED, resamples=BOOTSTRAP_RESAMPLES
    )
    ok = alpha is not None and agreement.may_count_as_evidence(
        lo, n, trusted=trusted_alpha, min_items=min_items
    )
    numbers = (
        f"alpha {alpha:.3f} (CI {lo:.3f}..{hi:.3f}, n={n})"
        if alpha is not None and lo is not None and hi is not None
        else f"alpha undefined (n={n})"
    )
    if ok:
        reason = f"judge trusted for {question}: {numbers}"
    elif n < min_items:
        reason = f"judge not trusted for {question}: {numbers}; needs at least {min_items} labelled items"
    else:
        reason = f"judge not trusted for {question}: {numbers}; CI lower bound below {trusted_alpha:.2f}"
    return TrustResult(ok, reason, alpha, lo, n, hi)
