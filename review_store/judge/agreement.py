"""Judge versus humans from the store: may this judge config be trusted on this rubric question?

The rows come from SQL (verdicts, labels, adjudications joined to review items and traces, filtered by
question and segment); the statistics are `review_store.agreement`'s, so the numbers here are exactly
what `review-desk agreement --ratings` gives for the same table.

Human answer of an item: an adjudicated answer wins when there is one (a lead settled it); otherwise
the reviewers' labels, either each label as its own unit paired with the judge (`human="each"`, the
default: no information is thrown away), the majority of the labels (`human="majority"`: ties have no
consensus and are reported unpairable), or one answer per item (`human="item"`: the median of the labels
for ratings, a half-point staying its own ordinal value; the majority for labels). The human-human
ceiling uses the raw labels only.

`judge_trust` is THE trust rule (the release gate and the Agreement page both call it): per-item answers,
because labels of one item are correlated and resampling them as independent units would make the CI
look tighter than the evidence is.
Rating questions are compared at the ordinal level over the full scale (min..max), label questions at
the nominal level; multi-label and text questions have no agreement statistic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from review_store import agreement as ag
from review_store import rubrics as rubric_store
from review_store import settings as team_settings
from review_store.errors import ValidationFailed
from review_store.judge import get_judge_config, label_of
from review_store.models import Adjudication, JudgeConfig, JudgeVerdict, Label, ReviewItem, Trace, User
from review_store.rubrics import Question

HumanMode = Literal["each", "majority", "item"]
HUMAN_MODES: tuple[str, ...] = ("each", "majority", "item")
TRUST_SEED = 0  # fixed, so the gate gives the same answer on every run
TRUST_RESAMPLES = 1000
JUDGE_RATER = "judge"
HUMAN_RATER = "human"
ADJUDICATED = "(adjudicated)"


@dataclass(frozen=True)
class Thresholds:
    trusted: float
    calibrate: float
    min_items: int


@dataclass(frozen=True)
class TrustResult:
    """Whether a judge config's scores on one question may count as release evidence, and why."""

    trusted: bool
    verdict: ag.Verdict
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int
    reason: str
    judge: str
    question: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def thresholds(session: Session) -> Thresholds:
    """The team's trust thresholds (Settings > Thresholds, key "judge.trust")."""
    raw = team_settings.get(session, "judge.trust")
    return Thresholds(
        trusted=float(raw["trusted_alpha"]),
        calibrate=float(raw["calibrate_alpha"]),
        min_items=int(raw["min_items"]),
    )


# --- what is compared ------------------------------------------------------------------------------


def comparable_question(session: Session, config: JudgeConfig, question: str) -> Question:
    """The rubric question of this judge config; ValidationFailed for unknown or free-text questions."""
    spec = rubric_store.spec_of(rubric_store.get(session, config.rubric_id))
    keys = [q.key for q in spec.questions if q.kind in ("rating", "label")]
    if question not in keys:
        raise ValidationFailed(
            f"question {question!r}: not a rating or label question of rubric {spec.name!r} "
            f"(judge {label_of(config)}); choose one of {', '.join(keys) or '(none)'}"
        )
    return spec.question(question)


def level_of(question: Question) -> ag.Level:
    return "ordinal" if question.kind == "rating" else "nominal"


def scale_of(question: Question, observed: Any = ()) -> list[Any]:
    """The full value domain: unused scale points still count as steps for weighted kappa.

    `observed` values off the scale (half-point medians of `human="item"`) join it in order.
    """
    if question.kind == "rating":
        points = set(range(question.min, question.max + 1))
        return sorted(points | {v for v in observed if not pd.isna(v) and v not in points})
    return list(question.options)


def _norm(question: Question, value: Any) -> Any:
    if value is None:
        return None
    if question.kind == "rating":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value)


def _segment_filter(query, segment: str | None):
    """Filter on the trace's segment without letting SQLite drive the join from ix_trace_segment_ts
    (every trace of the segment, ~200k at 1M) instead of from the few labels: `segment || ''` is the
    same value but no index matches it, so the labels lead and each trace is a primary-key lookup."""
    if segment is None:
        return query
    return query.where((col(Trace.segment) + "") == segment)


def judge_rows(session: Session, *, config: JudgeConfig, question: Question, segment: str | None = None):
    """(trace_id, value) of the config's successful verdicts on the labelled traces."""
    labelled = select(ReviewItem.trace_id).join(Label, col(Label.item_id) == ReviewItem.id).distinct()
    query = (
        select(JudgeVerdict.trace_id, JudgeVerdict.value)
        .join(Trace, col(Trace.id) == JudgeVerdict.trace_id)
        .where(
            JudgeVerdict.judge_config_id == config.id,
            JudgeVerdict.question_key == question.key,
            col(JudgeVerdict.error).is_(None),
            col(JudgeVerdict.trace_id).in_(labelled),
        )
    )
    rows = session.exec(_segment_filter(query, segment)).all()
    return {
        trace_id: _norm(question, value) for trace_id, value in rows if _norm(question, value) is not None
    }


def label_rows(session: Session, *, question: Question, segment: str | None = None) -> pd.DataFrame:
    """One row per reviewer label answering the question: item, trace, rater (username), value."""
    answer = col(Label.answers)[question.key]
    query = (
        select(ReviewItem.id, ReviewItem.trace_id, User.username, answer)
        .join(Label, col(Label.item_id) == ReviewItem.id)
        .join(User, col(User.id) == Label.reviewer_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .order_by(col(ReviewItem.id), col(User.username))
    )
    rows = session.exec(_segment_filter(query, segment)).all()
    data = [(i, t, u, _norm(question, v)) for i, t, u, v in rows]
    frame = pd.DataFrame(data, columns=["item", "trace_id", "rater", "value"])
    return frame[frame["value"].notna()]


def adjudicated_rows(session: Session, *, question: Question, segment: str | None = None) -> dict[int, Any]:
    """item id -> the adjudicated answer, for items a lead settled (these win over the labels)."""
    answer = col(Adjudication.answers)[question.key]
    query = (
        select(Adjudication.item_id, answer)
        .join(ReviewItem, col(ReviewItem.id) == Adjudication.item_id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
    )
    rows = session.exec(_segment_filter(query, segment)).all()
    return {item: _norm(question, v) for item, v in rows if _norm(question, v) is not None}


def pairs(
    session: Session,
    *,
    config: JudgeConfig,
    question: Question,
    segment: str | None = None,
    human: HumanMode = "each",
) -> pd.DataFrame:
    """The judge/human pairs behind every judge-vs-human number: unit, item, trace_id, human, judge.

    A unit is an (item, reviewer) label with `human="each"`, an item with `"majority"` or `"item"`;
    adjudicated items are one unit with the adjudicated answer. `human` is NaN where the reviewers tie
    (majority, and item on a label question).
    """
    if human not in HUMAN_MODES:
        raise ValidationFailed(f"human must be one of {', '.join(HUMAN_MODES)}, not {human!r}")
    labels = label_rows(session, question=question, segment=segment)
    settled = adjudicated_rows(session, question=question, segment=segment)
    verdicts = judge_rows(session, config=config, question=question, segment=segment)
    labels = labels[labels["trace_id"].isin(list(verdicts))]
    open_labels = labels[~labels["item"].isin(list(settled))]
    units: list[tuple[str, int, int, Any]] = []
    if human == "each":
        units += [
            (f"{i}:{r}", i, t, v)
            for i, t, r, v in open_labels[["item", "trace_id", "rater", "value"]].itertuples(index=False)
        ]
    elif not open_labels.empty:
        if human == "item" and question.kind == "rating":
            answer = open_labels.groupby("item")["value"].median()
        else:
            table = ag.table_from_rows(open_labels[["item", "rater", "value"]])
            answer = ag.consensus(table, level=level_of(question), value_domain=scale_of(question))
        traces = dict(zip(open_labels["item"], open_labels["trace_id"], strict=False))
        units += [(str(i), i, traces[i], None if pd.isna(v) else v) for i, v in answer.items()]
    item_trace = _item_traces(session, list(settled))
    units += [
        (f"{i}:{ADJUDICATED}", i, item_trace[i], v)
        for i, v in settled.items()
        if item_trace.get(i) in verdicts
    ]
    frame = pd.DataFrame(units, columns=["unit", "item", "trace_id", "human"])
    frame["judge"] = frame["trace_id"].map(verdicts)
    return frame.sort_values("unit", kind="stable").reset_index(drop=True)


def _item_traces(session: Session, item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    query = select(ReviewItem.id, ReviewItem.trace_id).where(col(ReviewItem.id).in_(item_ids))
    return dict(session.exec(query).all())


def pairs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The two-rater table (rows human, judge; one column a unit) that agreement.summarize takes."""
    table = pd.DataFrame(
        [frame["human"].to_numpy(dtype=object), frame["judge"].to_numpy(dtype=object)],
        index=pd.Index([HUMAN_RATER, JUDGE_RATER], name="rater"),
        columns=pd.Index(frame["unit"], name="item"),
    )
    return table.infer_objects()


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
    n_blank_values, verdict) plus judge, question, segment, human, n_labelled_items (items with both a
    judge verdict and a human answer), human_human_alpha (the inter-annotator ceiling), thresholds and
    the confusion matrix (rows human, columns judge, over the full scale).
    """
    config = get_judge_config(session, judge)
    q = comparable_question(session, config, question)
    level = level_of(q)
    frame = pairs(session, config=config, question=q, segment=segment, human=human)
    limits = thresholds(session)
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
        verdict=ag.trust_verdict(
            payload["krippendorff_alpha"],
            payload["ci95"][0],
            n_labelled,
            trusted=limits.trusted,
            calibrate=limits.calibrate,
            min_items=limits.min_items,
        ),
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
    q = rubric_question or _question_from_labels(session, question)
    labels = label_rows(session, question=q, segment=segment)
    if labels.empty:
        return _empty_summary(level_of(q), seed, resamples) | {"question": question, "segment": segment}
    table = ag.table_from_rows(labels[["item", "rater", "value"]])
    summary = ag.summarize(table, level=level_of(q), seed=seed, resamples=resamples, value_domain=scale_of(q))
    return summary.to_dict() | {"question": question, "segment": segment}


def _question_from_labels(session: Session, question: str) -> Question:
    rubric_ids = session.exec(select(Label.rubric_id).distinct()).all()
    for rubric_id in sorted(rubric_ids, reverse=True):
        spec = rubric_store.spec_of(rubric_store.get(session, rubric_id))
        for q in spec.questions:
            if q.key == question and q.kind in ("rating", "label"):
                return q
    raise ValidationFailed(f"question {question!r}: no labelled rubric has it as a rating or label question")


def judge_trust(session: Session, *, judge: str, question: str, segment: str | None = None) -> TrustResult:
    """May `judge` ("name" = latest, or "name@3") count as release evidence for `question`?

    Trusted = at least `min_items` labelled items AND the alpha 95% CI lower bound at or above
    `trusted_alpha` (settings "judge.trust"): the point estimate alone could be luck of the sample.
    Alpha compares the judge with one human answer per item (adjudicated, else median/majority of the
    labels; see `pairs(human="item")`), its CI a seeded bootstrap over items. NotFound / ValidationFailed
    for an unknown config or question; a judge without verdicts is simply not trusted, with the reason.
    """
    limits = thresholds(session)
    config = get_judge_config(session, judge)
    q = comparable_question(session, config, question)
    frame = pairs(session, config=config, question=q, segment=segment, human="item")
    n = int(frame.dropna(subset=["human", "judge"])["item"].nunique())
    alpha = lo = hi = None
    if n >= 2:
        table, level = pairs_table(frame), level_of(q)
        alpha = ag.krippendorff_alpha(table, level=level)
        lo, hi = ag.bootstrap_alpha_ci(table, level=level, seed=TRUST_SEED, resamples=TRUST_RESAMPLES)
    trusted = alpha is not None and ag.may_count_as_evidence(
        lo, n, trusted=limits.trusted, min_items=limits.min_items
    )
    numbers = (
        f"alpha {alpha:.3f} (CI {lo:.3f}..{hi:.3f}, n={n})"
        if alpha is not None and lo is not None and hi is not None
        else f"alpha undefined (n={n})"
    )
    if trusted:
        reason = f"judge trusted for {question}: {numbers}"
    elif n < limits.min_items:
        reason = (
            f"judge not trusted for {question}: {numbers}; needs at least {limits.min_items} labelled items"
        )
    elif alpha is None or lo is None:
        reason = f"judge not trusted for {question}: {numbers}; no variation in the answers"
    else:
        reason = (
            f"judge not trusted for {question}: {numbers}; CI lower bound is below the trusted "
            f"threshold {limits.trusted:.2f}"
        )
    verdict = ag.trust_verdict(
        alpha, lo, n, trusted=limits.trusted, calibrate=limits.calibrate, min_items=limits.min_items
    )
    return TrustResult(trusted, verdict, alpha, lo, hi, n, reason, label_of(config), question)


def segments(session: Session) -> list[str]:
    """Segments that have labelled items, for pickers and per-segment breakdowns."""
    query = (
        select(Trace.segment)
        .join(ReviewItem, col(ReviewItem.trace_id) == Trace.id)
        .join(Label, col(Label.item_id) == ReviewItem.id)
        .group_by(col(Trace.segment))
        .order_by(col(Trace.segment))
    )
    return [s for s in session.exec(query).all()]


def cost_per_1k(session: Session, *, config: JudgeConfig) -> dict[str, Any]:
    """Mean known cost of a successful verdict x 1,000 (SQL), and how many verdicts had no known cost."""
    # count(*), not count(id): id is not in ix_judgeverdict_ok_cost, and naming it cost PostgreSQL its
    # index-only scan (~30% slower at 3M verdicts).
    query = (
        select(
            func.count(),
            func.avg(JudgeVerdict.cost_usd),
            func.count().filter(col(JudgeVerdict.cost_usd).is_(None)),
        )
        .select_from(JudgeVerdict)
        .where(JudgeVerdict.judge_config_id == config.id, col(JudgeVerdict.error).is_(None))
    )
    n, mean, unknown = session.exec(query).one()
    return {
        "n_verdicts": int(n),
        "cost_per_1k_usd": None if mean is None else float(mean) * 1000,
        "n_cost_unknown": int(unknown),
    }
