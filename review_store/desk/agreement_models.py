"""Read models of desk.agreement: the trust verdict, judge-vs-human statistics and their breakdowns.

Built from the store's dicts and dataclasses (review_store.judge.agreement, .agreement_views) by the
`*_of` functions here, inside the part's read transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from review_store.desk.base import ReadModel
from review_store.judge.agreement import TrustResult

Scalar = str | int | float | bool | None


def scalar(value: Any) -> Scalar:
    """A stored JSON answer as a scalar for display: lists and objects as their JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class TrustView(ReadModel):
    """THE trust verdict (judge.agreement.judge_trust): the gate, the page and the CLI show this."""

    judge: str
    question: str
    segment: str | None
    verdict: str
    trusted: bool
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int
    reason: str
    trusted_alpha: float
    calibrate_alpha: float
    min_items: int


def trust_view(result: TrustResult) -> TrustView:
    limits = result.thresholds
    assert limits is not None  # judge_trust always sets them
    return TrustView(
        judge=result.judge,
        question=result.question,
        segment=result.segment,
        verdict=result.verdict,
        trusted=result.trusted,
        alpha=result.alpha,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        n_items=result.n_items,
        reason=result.reason,
        trusted_alpha=limits.trusted,
        calibrate_alpha=limits.calibrate,
        min_items=limits.min_items,
    )


class Confusion(ReadModel):
    """Counts of (human answer, judge answer); rows human, columns judge, over the full scale."""

    labels: tuple[Scalar, ...]
    matrix: tuple[tuple[int, ...], ...]


class Summary(ReadModel):
    """The statistics of one ratings table (the keys of `review-desk agreement --ratings --json`)."""

    source: str
    level: str
    n_items: int
    n_raters: int
    n_ratings: int
    n_pairable_items: int
    n_unpairable_items: int
    n_missing: int
    n_blank_values: int
    unpairable_items: tuple[Scalar, ...]
    krippendorff_alpha: float | None
    ci95: tuple[float | None, float | None]
    percent_agreement: float | None
    adjacent_agreement: float | None = None
    cohen_kappa: float | None = None
    cohen_kappa_unweighted: float | None = None
    fleiss_kappa: float | None = None
    seed: int
    resamples: int
    verdict: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data; keys that do not apply to this table are left out (Cohen's kappa needs
        exactly two raters, Fleiss' kappa more, adjacent agreement an ordered scale)."""
        data = super().to_json()
        if self.n_raters != 2:
            data.pop("cohen_kappa"), data.pop("cohen_kappa_unweighted")
        if self.n_raters <= 2:
            data.pop("fleiss_kappa")
        if self.level == "nominal":
            data.pop("adjacent_agreement")
        return data


def summary_fields(payload: dict[str, Any]) -> dict[str, Any]:
    lo, hi = payload["ci95"]
    return {
        "source": payload["source"],
        "level": payload["level"],
        "n_items": payload["n_items"],
        "n_raters": payload["n_raters"],
        "n_ratings": payload["n_ratings"],
        "n_pairable_items": payload["n_pairable_items"],
        "n_unpairable_items": payload["n_unpairable_items"],
        "n_missing": payload["n_missing"],
        "n_blank_values": payload["n_blank_values"],
        "unpairable_items": tuple(scalar(i) for i in payload.get("unpairable_items", ())),
        "krippendorff_alpha": payload["krippendorff_alpha"],
        "ci95": (lo, hi),
        "percent_agreement": payload["percent_agreement"],
        "adjacent_agreement": payload.get("adjacent_agreement"),
        "cohen_kappa": payload.get("cohen_kappa"),
        "cohen_kappa_unweighted": payload.get("cohen_kappa_unweighted"),
        "fleiss_kappa": payload.get("fleiss_kappa"),
        "seed": payload["seed"],
        "resamples": payload["resamples"],
        "verdict": payload["verdict"],
    }


class JudgeAgreement(Summary):
    """Judge vs humans on one question (and segment). `verdict` and `trust` are THE trust verdict."""

    judge: str
    question: str
    segment: str | None
    human: str
    n_labelled_items: int
    human_human_alpha: float | None
    confusion: Confusion
    trust: TrustView


def judge_agreement_of(payload: dict[str, Any], trust: TrustView) -> JudgeAgreement:
    confusion = payload["confusion"]
    return JudgeAgreement(
        **summary_fields(payload),
        judge=payload["judge"],
        question=payload["question"],
        segment=payload["segment"],
        human=payload["human"],
        n_labelled_items=payload["n_labelled_items"],
        human_human_alpha=payload["human_human_alpha"],
        confusion=Confusion(
            labels=tuple(scalar(v) for v in confusion["labels"]),
            matrix=tuple(tuple(int(c) for c in row) for row in confusion["matrix"]),
        ),
        trust=trust,
    )


class Headline(ReadModel):
    """The short row of numbers shown per segment, per version and per compared config."""

    krippendorff_alpha: float | None
    ci_low: float | None
    ci_high: float | None
    cohen_kappa: float | None
    percent_agreement: float | None
    adjacent_agreement: float | None
    n_items: int | None
    n_labelled_items: int | None
    verdict: str


def headline_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in Headline.model_fields}


class SegmentRow(Headline):
    segment: str
    human_human_alpha: float | None


class TrendRow(Headline):
    config: str
    version: int
    created_at: datetime
    n_verdicts: int
    cost_per_1k_usd: float | None
    n_cost_unknown: int


class CompareSide(Headline):
    config: str
    model: str
    n_verdicts: int
    cost_per_1k_usd: float | None
    n_cost_unknown: int


class Comparison(ReadModel):
    """Two judge configs on the labelled items both judged."""

    question: str
    segment: str | None
    n_common_items: int
    configs: tuple[CompareSide, ...]


class Disagreement(ReadModel):
    item_id: int
    trace_id: int
    segment: str
    gap: float
    judge_value: Scalar
    judge_confidence: float | None
    human_labels: str
    adjudicated: Scalar
    judge_rationale: str | None


class Answer(ReadModel):
    question: str
    value: Scalar


def answers_of(answers: dict[str, Any] | None) -> tuple[Answer, ...]:
    return tuple(Answer(question=k, value=scalar(v)) for k, v in (answers or {}).items())


class TraceText(ReadModel):
    id: int
    external_id: str
    segment: str
    release: str
    input: str
    output: str


class VerdictLine(ReadModel):
    question: str
    value: Scalar
    confidence: float | None
    rationale: str | None
    error: str | None


class HumanLabel(ReadModel):
    reviewer: str
    answers: tuple[Answer, ...]
    correction: str | None = None
    adjudicated: bool = False
    note: str | None = None


class SideBySide(ReadModel):
    """One trace, one judge config's verdicts on it, and every human label and adjudication."""

    trace: TraceText
    judge: str
    verdicts: tuple[VerdictLine, ...]
    labels: tuple[HumanLabel, ...]


class ReviewerRow(ReadModel):
    """One reviewer against the consensus of the others (leads only)."""

    reviewer: str
    n_labels: int
    n_items: int
    n_ties: int
    exact_agreement: float | None
    mean_abs_diff: float | None = None
    adjacent_agreement: float | None = None
