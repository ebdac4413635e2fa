"""Which judge and human answers are compared: the rows behind every judge-vs-human number.

The rows come from SQL (verdicts, labels, adjudications joined to review items and traces, filtered by
question and segment). Human answer of an item: an adjudicated answer wins when there is one (a lead
settled it); otherwise the reviewers' labels, either each label as its own unit paired with the judge
(`human="each"`: no information is thrown away), the majority of the labels (`human="majority"`: ties
have no consensus and are left blank), or the reference answer of the item (`human="item"`: THE
reference answer of review_store.reference, median for ratings, majority for labels).

Rating questions are compared at the ordinal level over the full scale (min..max), label questions at
the nominal level; multi-label and text questions have no agreement statistic.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from sqlmodel import Session, col, select

from review_store import agreement as ag
from review_store import rubrics as rubric_store
from review_store.errors import ValidationFailed
from review_store.judge.config import label_of
from review_store.models import Adjudication, JudgeConfig, JudgeVerdict, Label, ReviewItem, Trace, User
from review_store.reference import reference_answer
from review_store.rubrics import Question

HumanMode = Literal["each", "majority", "item"]
HUMAN_MODES: tuple[str, ...] = ("each", "majority", "item")
JUDGE_RATER = "judge"
HUMAN_RATER = "human"
ADJUDICATED = "(adjudicated)"


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


def norm(question: Question, value: Any) -> Any:
    if value is None:
        return None
    if question.kind == "rating":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value)


def segment_filter(query, segment: str | None):
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
    rows = session.exec(segment_filter(query, segment)).all()
    return {trace_id: norm(question, value) for trace_id, value in rows if norm(question, value) is not None}


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
    rows = session.exec(segment_filter(query, segment)).all()
    data = [(i, t, u, norm(question, v)) for i, t, u, v in rows]
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
    rows = session.exec(segment_filter(query, segment)).all()
    return {item: norm(question, v) for item, v in rows if norm(question, v) is not None}


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
        if human == "item":
            answer = open_labels.groupby("item")["value"].agg(lambda v: reference_answer(question, v))
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


def question_from_labels(session: Session, question: str) -> Question:
    rubric_ids = session.exec(select(Label.rubric_id).distinct()).all()
    for rubric_id in sorted(rubric_ids, reverse=True):
        spec = rubric_store.spec_of(rubric_store.get(session, rubric_id))
        for q in spec.questions:
            if q.key == question and q.kind in ("rating", "label"):
                return q
    raise ValidationFailed(f"question {question!r}: no labelled rubric has it as a rating or label question")


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
