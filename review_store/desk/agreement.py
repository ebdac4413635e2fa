"""desk.agreement: may the judge be trusted? THE trust verdict and the statistics a lead reads beside it.

Every verdict this part returns (headline, per segment, per version, compared configs) is
`judge.agreement.judge_trust`'s for that judge, question and segment: the release gate asks the same
function, so the Agreement page, `review-desk agreement` and the gate cannot disagree.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from review_store import agreement as ag
from review_store.desk.agreement_models import (
    CompareSide,
    Comparison,
    Disagreement,
    HumanLabel,
    JudgeAgreement,
    ReviewerRow,
    SegmentRow,
    SideBySide,
    Summary,
    TraceText,
    TrendRow,
    TrustView,
    VerdictLine,
    answers_of,
    headline_fields,
    judge_agreement_of,
    scalar,
    summary_fields,
    trust_view,
)
from review_store.desk.base import Part
from review_store.errors import ValidationFailed
from review_store.judge import agreement as ja
from review_store.judge import agreement_views as views
from review_store.permissions import Actor


def _check(human: str, resamples: int) -> None:
    if human not in ja.HUMAN_MODES:
        raise ValidationFailed(f"human: must be one of {', '.join(ja.HUMAN_MODES)}, not {human!r}")
    if resamples < 0:
        raise ValidationFailed("resamples: must be 0 or more")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


class AgreementPart(Part):
    def trust(self, *, judge: str, question: str, segment: str | None = None) -> TrustView:
        """THE trust verdict of judge config `judge` (NAME or NAME@V) on `question`, in `segment` or all."""
        with self._read() as session:
            return trust_view(ja.judge_trust(session, judge=judge, question=question, segment=segment))

    def judge_vs_human(
        self,
        *,
        judge: str,
        question: str,
        segment: str | None = None,
        human: str = "item",
        seed: int = 0,
        resamples: int = 1000,
    ) -> JudgeAgreement:
        """Judge vs humans on one question: alpha with a bootstrap CI, kappa, exact/adjacent agreement,
        the confusion matrix, the human-human ceiling, and THE trust verdict.

        `human`: "item" (default: the reference answer of each item, the pairing the verdict uses),
        "each" (every label its own unit) or "majority". ValidationFailed / NotFound on bad input.
        """
        _check(human, resamples)
        with self._read() as session:
            payload = ja.judge_vs_human(
                session,
                judge=judge,
                question=question,
                segment=segment,
                human=human,  # type: ignore[arg-type]
                seed=seed,
                resamples=resamples,
            )
            trust = ja.TrustResult(
                **{**payload["trust"], "thresholds": ja.Thresholds(**payload["thresholds"])}
            )
            return judge_agreement_of(payload, trust_view(trust))

    def human_ceiling(self, *, question: str, segment: str | None = None) -> float | None:
        """Krippendorff's alpha of the reviewers among themselves on `question` (None: undefined)."""
        with self._read() as session:
            return ja.human_human(session, question=question, segment=segment, resamples=0)[
                "krippendorff_alpha"
            ]

    def segments(self) -> tuple[str, ...]:
        """Segments that have labelled items."""
        with self._read() as session:
            return tuple(ja.segments(session))

    def by_segment(
        self, *, judge: str, question: str, human: str = "item", resamples: int = 500
    ) -> tuple[SegmentRow, ...]:
        """One row per segment with labelled items; each row's verdict is judge_trust in that segment."""
        _check(human, resamples)
        with self._read() as session:
            rows = views.by_segment(
                session,
                judge=judge,
                question=question,
                human=human,  # type: ignore[arg-type]
                resamples=resamples,
            )
            return tuple(
                SegmentRow(
                    segment=r["segment"], human_human_alpha=r["human_human_alpha"], **headline_fields(r)
                )
                for r in rows
            )

    def version_trend(
        self,
        *,
        judge: str,
        question: str,
        segment: str | None = None,
        human: str = "item",
        resamples: int = 500,
    ) -> tuple[TrendRow, ...]:
        """Every version of the judge on one question, oldest first, with cost per 1,000 verdicts."""
        _check(human, resamples)
        with self._read() as session:
            rows = views.version_trend(
                session,
                judge=judge,
                question=question,
                segment=segment,
                human=human,  # type: ignore[arg-type]
                resamples=resamples,
            )
            return tuple(
                TrendRow(
                    config=r["config"],
                    version=r["version"],
                    created_at=r["created_at"],
                    n_verdicts=r["n_verdicts"],
                    cost_per_1k_usd=r["cost_per_1k_usd"],
                    n_cost_unknown=r["n_cost_unknown"],
                    **headline_fields(r),
                )
                for r in rows
            )

    def compare(
        self,
        *,
        a: str,
        b: str,
        question: str,
        segment: str | None = None,
        human: str = "item",
        resamples: int = 1000,
    ) -> Comparison:
        """Two judge configs on the labelled items both judged, measure by measure, with cost."""
        _check(human, resamples)
        with self._read() as session:
            side = views.compare_configs(
                session,
                a=a,
                b=b,
                question=question,
                segment=segment,
                human=human,  # type: ignore[arg-type]
                resamples=resamples,
            )
            return Comparison(
                question=side["question"],
                segment=side["segment"],
                n_common_items=side["n_common_items"],
                configs=tuple(
                    CompareSide(
                        config=c["config"],
                        model=c["model"],
                        n_verdicts=c["n_verdicts"],
                        cost_per_1k_usd=c["cost_per_1k_usd"],
                        n_cost_unknown=c["n_cost_unknown"],
                        **headline_fields(c),
                    )
                    for c in side["configs"]
                ),
            )

    def disagreements(
        self, *, judge: str, question: str, segment: str | None = None, limit: int = 50
    ) -> tuple[Disagreement, ...]:
        """Labelled items where the judge and the humans differ by a full scale step or more, largest first."""
        if limit < 1:
            raise ValidationFailed("limit: must be 1 or more")
        with self._read() as session:
            rows = views.disagreements(session, judge=judge, question=question, segment=segment, limit=limit)
            return tuple(
                Disagreement(
                    **{
                        **r,
                        "judge_value": scalar(r["judge_value"]),
                        "adjudicated": scalar(r["adjudicated"]),
                    }
                )
                for r in rows
            )

    def side_by_side(self, *, judge: str, trace_id: int) -> SideBySide:
        """One trace with the judge config's verdicts beside every human label and adjudication."""
        with self._read() as session:
            detail = views.trace_side_by_side(session, trace_id=trace_id, judge=judge)
            t = detail["trace"]
            labels = [
                HumanLabel(
                    reviewer=x["reviewer"], answers=answers_of(x["answers"]), correction=x["correction"]
                )
                for x in detail["labels"]
            ] + [
                HumanLabel(
                    reviewer=x["adjudicator"],
                    answers=answers_of(x["answers"]),
                    adjudicated=True,
                    note=x["note"],
                )
                for x in detail["adjudications"]
            ]
            return SideBySide(
                trace=TraceText(
                    id=t["id"],
                    external_id=t["external_id"],
                    segment=t["segment"],
                    release=t["release"],
                    input=t["input"],
                    output=t["output"],
                ),
                judge=detail["judge"],
                verdicts=tuple(
                    VerdictLine(
                        question=v["question"],
                        value=scalar(v["value"]),
                        confidence=v["confidence"],
                        rationale=v["rationale"],
                        error=v["error"],
                    )
                    for v in detail["verdicts"]
                ),
                labels=tuple(labels),
            )

    def reviewer_quality(
        self, *, actor: Actor, question: str, segment: str | None = None
    ) -> tuple[ReviewerRow, ...]:
        """Each reviewer against the consensus of the others (leads only; PermissionDenied otherwise)."""
        with self._read() as session:
            rows = views.reviewer_quality(session, actor=actor, question=question, segment=segment)
            return tuple(ReviewerRow(**{k: _finite(v) for k, v in r.items()}) for r in rows)

    def ratings(self, *, path: Path, level: str = "nominal", seed: int = 0, resamples: int = 1000) -> Summary:
        """Agreement of any ratings CSV (header item,rater,value; no database). The verdict uses the
        default trust thresholds (0.80 / 0.667 / 50 items): a file carries no team settings."""
        from review_store.agreement.ratings import read_ratings_csv

        if level not in ag.LEVELS:
            raise ValidationFailed(f"level: must be one of {', '.join(ag.LEVELS)}, not {level!r}")
        _check("item", resamples)
        parsed = read_ratings_csv(path, level=level)  # type: ignore[arg-type]
        try:
            summary = ag.summarize(parsed.table(), level=level, seed=seed, resamples=resamples)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValidationFailed(f"{path}: {exc}") from exc
        payload = summary.to_dict() | {
            "source": str(path),
            "n_blank_values": parsed.n_blank_values,
            "verdict": ag.trust_verdict(
                summary.krippendorff_alpha, summary.ci95[0], summary.n_pairable_items
            ),
        }
        return Summary(**summary_fields(payload))
