"""Judge versus humans from the store: may this judge config be trusted on this rubric question?

`judge_trust` is THE trust verdict. The release gate (per metric, with the metric's segment), the
Agreement page and `review-desk agreement` all show its result and compute none of their own:

- the numbers: Krippendorff's alpha of the judge against the human reference answer of each labelled
  item (adjudicated, else median / majority: review_store.reference), in one segment or all of them,
  with a seeded bootstrap 95% CI over items (labels of one item are correlated: resampling them as
  independent units would make the CI look tighter than the evidence is);
- the rule (`agreement.trust_verdict`, thresholds of the "judge.trust" setting): trusted when at least
  `min_items` items are labelled AND the CI lower bound is at or above `trusted_alpha`; otherwise
  "needs calibration" (alpha at or above `calibrate_alpha`), "untrusted", or "insufficient data".
  Only "trusted" counts as release evidence.

`judge_vs_human` adds the descriptive statistics a lead reads beside the verdict (kappa, exact and
adjacent agreement, confusion matrix, human-human ceiling), for any way of pairing the humans; the
statistics are `review_store.agreement`'s, so they equal `review-desk agreement --ratings` on the same
table. The rows behind both come from `judge.pairs`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from review_store import agreement as ag
from review_store import settings as team_settings
from review_store.judge.config import get_judge_config, label_of
from review_store.judge.pairs import (
    ADJUDICATED,
    HUMAN_MODES,
    HUMAN_RATER,
    JUDGE_RATER,
    HumanMode,
    adjudicated_rows,
    comparable_question,
    judge_rows,
    label_rows,
    level_of,
    pairs,
    pairs_table,
    question_from_labels,
    scale_of,
    segments,
)
from review_store.models import JudgeConfig
from review_store.rollups.tables import RollupVerdict
from review_store.rubrics import Question

__all__ = [
    "ADJUDICATED",
    "HUMAN_MODES",
    "HUMAN_RATER",
    "JUDGE_RATER",
    "TRUST_RESAMPLES",
    "TRUST_SEED",
    "HumanMode",
    "Thresholds",
    "TrustResult",
    "adjudicated_rows",
    "comparable_question",
    "cost_per_1k",
    "human_human",
    "judge_rows",
    "judge_trust",
    "judge_vs_human",
    "label_rows",
    "level_of",
    "pairs",
    "pairs_table",
    "question_from_labels",
    "scale_of",
    "segments",
    "thresholds",
]

TRUST_SEED = 0  # fixed, so every screen and the gate give the same answer on every run
TRUST_RESAMPLES = 1000


@dataclass(frozen=True)
class Thresholds:
    trusted: float
    calibrate: float
    min_items: int


@dataclass(frozen=True)
class TrustResult:
    """THE verdict on a judge config for one question (and segment): may its scores count as release
    evidence, and why. `trusted` is exactly `verdict == "trusted"`."""

    trusted: bool
    verdict: ag.Verdict
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int
    reason: str
    judge: str
    question: str
    segment: str | None = None
    thresholds: Thresholds | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def thresholds(session: Session) -> Thresholds:
    """The team's trust thresholds (Settings > Thresholds, key "judge.trust")."""
    trust = team_settings.get(session, "judge.trust")
    return Thresholds(trusted=trust.trusted_alpha, calibrate=trust.calibrate_alpha, min_items=trust.min_items)


# --- the numbers -----------------------------------------------------------------------------------


def judge_vs_human(
    session: Session,
    *,
    judge: str,
    question: str,
    segment: str | None = None,
    human: HumanMode = "each",
    seed: int = 0,
    resamples: int = 1000,
) -> dict[str, Any]:
    """Agreement of judge config `judge` ("name" = latest or "name@3") with the humans on `question`.

    Returns the keys of `review-desk agreement --ratings` (AgreementSummary.to_dict, source,
    n_blank_values) plus judge, question, segment, human, n_labelled_items (items with both a judge
    verdict and a human answer), human_human_alpha (the inter-annotator ceiling), thresholds, the
    confusion matrix (rows human, columns judge, over the full scale), and `verdict` / `trust`: THE
    verdict of `judge_trust` for the same judge, question and segment, whatever `human` is.
    """
    config = get_judge_config(session, judge)
    q = comparable_question(session, config, question)
    level = level_of(q)
    frame = pairs(session, config=config, question=q, segment=segment, human=human)
    limits = thresholds(session)
    trust = _trust_of(session, config=config, question=q, segment=segment, limits=limits)
    ceiling = human_human(session, question=question, segment=segment, rubric_question=q, resamples=0)
    scale = scale_of(q, frame["human"] if human == "item" else ())
    if frame.empty:
        payload = _empty_summary(level, seed, resamples)
    else:
        summary = ag.summarize(
            pairs_table(frame), level=level, seed=seed, resamples=resamples, value_domain=scale
        )
        payload = summary.to_dict()
    both = frame.dropna(subset=["human", "judge"])
    n_labelled = int(both["item"].nunique())
    matrix = ag.confusion_matrix(both["human"].tolist(), both["judge"].tolist(), labels=_cast_scale(q, scale))
    payload.update(
        source=f"store: {label_of(config)} / {question}" + (f" / {segment}" if segment else ""),
        n_blank_values=int(frame["human"].isna().sum()),
        verdict=trust.verdict,
        trust=trust.as_dict(),
        judge=label_of(config),
        judge_config_id=config.id,
        question=question,
        segment=segment,
        human=human,
        n_labelled_items=n_labelled,
        human_human_alpha=ceiling["krippendorff_alpha"],
        thresholds=asdict(limits),
        confusion={
            "labels": scale,
            "rows": "human",
            "columns": "judge",
            "matrix": matrix.to_numpy().tolist(),
        },
    )
    return payload


def _cast_scale(q: Question, scale: list[Any]) -> list[Any]:
    return [float(v) for v in scale] if q.kind == "rating" else scale


def _empty_summary(level: str, seed: int, resamples: int) -> dict[str, Any]:
    empty = ag.AgreementSummary(
        n_items=0,
        n_raters=2,
        n_ratings=0,
        level=level,
        krippendorff_alpha=None,
        ci95=[None, None],
        percent_agreement=None,
        adjacent_agreement=None,
        n_pairable_items=0,
        n_unpairable_items=0,
        n_missing=0,
        seed=seed,
        resamples=resamples,
    )
    return empty.to_dict()


def human_human(
    session: Session,
    *,
    question: str,
    segment: str | None = None,
    rubric_question: Question | None = None,
    seed: int = 0,
    resamples: int = 1000,
) -> dict[str, Any]:
    """Inter-annotator agreement of the reviewers' raw labels: the ceiling a judge is compared with.

    Raters are the reviewers, items the review items; adjudications are left out (they are not an
    independent opinion). The rubric question is looked up among the labelled rubrics when not given.
    """
    q = rubric_question or question_from_labels(session, question)
    labels = label_rows(session, question=q, segment=segment)
    if labels.empty:
        return _empty_summary(level_of(q), seed, resamples) | {"question": question, "segment": segment}
    table = ag.table_from_rows(labels[["item", "rater", "value"]])
    summary = ag.summarize(table, level=level_of(q), seed=seed, resamples=resamples, value_domain=scale_of(q))
    return summary.to_dict() | {"question": question, "segment": segment}


def judge_trust(session: Session, *, judge: str, question: str, segment: str | None = None) -> TrustResult:
    """THE trust verdict: may `judge` ("name" = latest, or "name@3") count as release evidence for
    `question`, over all segments or in `segment` only (a gate metric with a segment is judged here)?

    See the module docstring for the numbers and the rule. NotFound / ValidationFailed for an unknown
    config or question; a judge without verdicts (or a segment without labels) is simply not trusted,
    with the reason.
    """
    config = get_judge_config(session, judge)
    q = comparable_question(session, config, question)
    return _trust_of(session, config=config, question=q, segment=segment, limits=thresholds(session))


def _trust_of(
    session: Session, *, config: JudgeConfig, question: Question, segment: str | None, limits: Thresholds
) -> TrustResult:
    frame = pairs(session, config=config, question=question, segment=segment, human="item")
    n = int(frame.dropna(subset=["human", "judge"])["item"].nunique())
    alpha = lo = hi = None
    if n >= 2:
        table, level = pairs_table(frame), level_of(question)
        alpha = ag.krippendorff_alpha(table, level=level)
        lo, hi = ag.bootstrap_alpha_ci(table, level=level, seed=TRUST_SEED, resamples=TRUST_RESAMPLES)
    verdict = ag.trust_verdict(
        alpha, lo, n, trusted=limits.trusted, calibrate=limits.calibrate, min_items=limits.min_items
    )
    trusted = verdict == "trusted"
    numbers = (
        f"alpha {alpha:.3f} (CI {lo:.3f}..{hi:.3f}, n={n})"
        if alpha is not None and lo is not None and hi is not None
        else f"alpha undefined (n={n})"
    )
    scope = question.key + (f" in segment {segment}" if segment is not None else "")
    if trusted:
        reason = f"judge trusted for {scope}: {numbers}"
    elif n < limits.min_items:
        reason = f"judge not trusted for {scope}: {numbers}; needs at least {limits.min_items} labelled items"
    elif alpha is None or lo is None:
        reason = f"judge not trusted for {scope}: {numbers}; no variation in the answers"
    else:
        reason = (
            f"judge not trusted for {scope}: {numbers}; CI lower bound is below the trusted "
            f"threshold {limits.trusted:.2f}"
        )
    return TrustResult(
        trusted, verdict, alpha, lo, hi, n, reason, label_of(config), question.key, segment, limits
    )


def cost_per_1k(session: Session, *, config: JudgeConfig) -> dict[str, Any]:
    """Mean known cost of a successful verdict x 1,000, and how many verdicts had no known cost, read from
    the verdict rollup (integer nanodollars: equal to the raw verdicts' mean to the nanodollar, and it
    still counts the verdicts of pruned traces)."""
    query = select(
        func.coalesce(func.sum(RollupVerdict.verdicts), 0),
        func.coalesce(func.sum(RollupVerdict.cost_nanos), 0),
        func.coalesce(func.sum(RollupVerdict.cost_known), 0),
    ).where(RollupVerdict.judge_config_id == config.id)
    n, nanos, known = (int(v) for v in session.exec(query).one())
    return {
        "n_verdicts": n,
        "cost_per_1k_usd": nanos / known / 1_000_000 if known else None,
        "n_cost_unknown": n - known,
    }
