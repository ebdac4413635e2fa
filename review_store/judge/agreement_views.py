"""What the Agreement page shows beyond the headline numbers: per segment, per config version, the
disagreements (largest gaps first) with the trace behind each, two configs side by side, reviewer
quality, and which traces a lead's "run judge on N sampled traces" should judge.

Everything reads through `judge_agreement` so the page, the CLI and the release gate agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, func
from sqlmodel import Session, col, select

from review_store import agreement as ag
from review_store.judge import agreement as ja
from review_store.judge import get_judge_config, label_of
from review_store.models import Adjudication, JudgeConfig, JudgeVerdict, Label, ReviewItem, Trace, User
from review_store.permissions import Actor, require

_HEADLINE = (
    "krippendorff_alpha",
    "ci95",
    "cohen_kappa",
    "percent_agreement",
    "adjacent_agreement",
    "n_items",
    "n_labelled_items",
    "verdict",
)


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    row = {key: result.get(key) for key in _HEADLINE}
    lo, hi = row.pop("ci95") or (None, None)
    return row | {"ci_low": lo, "ci_high": hi}


def by_segment(
    session: Session, *, judge: str, question: str, human: ja.HumanMode = "each", resamples: int = 500
) -> list[dict[str, Any]]:
    """One row per segment with labelled items: judge-vs-human headline numbers and the human ceiling."""
    rows = []
    for segment in ja.segments(session):
        result = ja.judge_vs_human(
            session, judge=judge, question=question, segment=segment, human=human, resamples=resamples
        )
        rows.append(
            {"segment": segment, **_headline(result), "human_human_alpha": result["human_human_alpha"]}
        )
    return rows


def version_trend(
    session: Session,
    *,
    judge: str,
    question: str,
    segment: str | None = None,
    human: ja.HumanMode = "each",
    resamples: int = 500,
) -> list[dict[str, Any]]:
    """Every version of judge `judge` (name or name@v) on one question, oldest first: is it improving?

    A version without verdicts on labelled traces yet is a row with n_labelled_items 0 and no alpha.
    """
    name = get_judge_config(session, judge).name
    versions = session.exec(
        select(JudgeConfig).where(JudgeConfig.name == name).order_by(col(JudgeConfig.version))
    ).all()
    rows = []
    for config in versions:
        result = ja.judge_vs_human(
            session,
            judge=label_of(config),
            question=question,
            segment=segment,
            human=human,
            resamples=resamples,
        )
        cost = ja.cost_per_1k(session, config=config)
        rows.append(
            {"config": label_of(config), "version": config.version, "created_at": config.created_at}
            | _headline(result)
            | cost
        )
    return rows


def disagreements(
    session: Session, *, judge: str, question: str, segment: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Labelled items where the judge and the humans differ most, largest gap first (ties: item id).

    The gap of an item is the largest |judge - human| over its labels, or against the adjudicated
    answer when a lead settled it (for label questions: 1 when they differ). Computed in SQL; only
    items with a gap of at least one scale step are listed.
    """
    config = get_judge_config(session, judge)
    q = ja.comparable_question(session, config, question)
    if q.kind == "rating":
        human = func.coalesce(
            col(Adjudication.answers)[q.key].as_float(), col(Label.answers)[q.key].as_float()
        )
        gap = func.max(func.abs(col(JudgeVerdict.score) - human))
    else:
        human = func.coalesce(
            col(Adjudication.answers)[q.key].as_string(), col(Label.answers)[q.key].as_string()
        )
        judged = func.trim(cast(JudgeVerdict.value, String), '"')  # a JSON string's text, unquoted
        gap = func.max(case((human != judged, 1.0), else_=0.0))
    # SQLite would start from the config's index (every verdict of it, 1M at 1M traces) and look the
    # labels up; `+ 0` hides that index, and grouping by label.item_id (= reviewitem.id) lets the few
    # labels lead in item order, each verdict a trace_id lookup: ~900 ms -> ~5 ms at 1M.
    config_id = col(JudgeVerdict.judge_config_id)
    if session.get_bind().dialect.name == "sqlite":
        config_id = config_id + 0
    query = (
        select(Label.item_id, ReviewItem.trace_id, Trace.segment, gap.label("gap"))
        .join(Label, col(Label.item_id) == ReviewItem.id)
        .outerjoin(Adjudication, col(Adjudication.item_id) == ReviewItem.id)
        .join(Trace, col(Trace.id) == ReviewItem.trace_id)
        .join(
            JudgeVerdict,
            and_(
                col(JudgeVerdict.trace_id) == ReviewItem.trace_id,
                config_id == config.id,
                col(JudgeVerdict.question_key) == q.key,
                col(JudgeVerdict.error).is_(None),
            ),
        )
        .group_by(col(Label.item_id), col(ReviewItem.trace_id), col(Trace.segment))
        .having(gap >= 1)
        .order_by(gap.desc(), col(Label.item_id))
        .limit(limit)
    )
    if segment is not None:
        query = query.where((col(Trace.segment) + "") == segment)  # see judge.pairs.segment_filter
    top = session.exec(query).all()
    if not top:
        return []
    items = [item for item, *_ in top]
    labels: dict[int, list[str]] = {}
    for item, username, answers in session.exec(
        select(Label.item_id, User.username, Label.answers)
        .join(User, col(User.id) == Label.reviewer_id)
        .where(col(Label.item_id).in_(items))
        .order_by(col(Label.item_id), col(User.username))
    ).all():
        labels.setdefault(item, []).append(f"{username}: {(answers or {}).get(q.key, '—')}")
    settled = {
        item: (answers or {}).get(q.key)
        for item, answers in session.exec(
            select(Adjudication.item_id, Adjudication.answers).where(col(Adjudication.item_id).in_(items))
        ).all()
    }
    verdicts = {
        trace_id: (value, confidence, rationale)
        for trace_id, value, confidence, rationale in session.exec(
            select(JudgeVerdict.trace_id, JudgeVerdict.value, JudgeVerdict.confidence, JudgeVerdict.rationale)
            .where(JudgeVerdict.judge_config_id == config.id, JudgeVerdict.question_key == q.key)
            .where(col(JudgeVerdict.trace_id).in_([t for _, t, *_ in top]))
        ).all()
    }
    return [
        {
            "item_id": item,
            "trace_id": trace_id,
            "segment": seg,
            "gap": float(g),
            "judge_value": verdicts[trace_id][0],
            "judge_confidence": verdicts[trace_id][1],
            "human_labels": ", ".join(labels.get(item, [])),
            "adjudicated": settled.get(item),
            "judge_rationale": verdicts[trace_id][2],
        }
        for item, trace_id, seg, g in top
    ]


def trace_side_by_side(session: Session, *, trace_id: int, judge: str) -> dict[str, Any]:
    """One trace with this judge config's verdicts (every question, with rationale) beside the human
    labels and any adjudication of it, for the disagreement drill-down."""
    config = get_judge_config(session, judge)
    trace = session.get(Trace, trace_id)
    if trace is None:
        from review_store.errors import NotFound

        raise NotFound(f"no trace with id {trace_id}")
    verdicts = session.exec(
        select(JudgeVerdict)
        .where(JudgeVerdict.trace_id == trace_id, JudgeVerdict.judge_config_id == config.id)
        .order_by(col(JudgeVerdict.question_key))
    ).all()
    labels = session.exec(
        select(User.username, Label.answers, Label.correction, Label.created_at)
        .join(ReviewItem, col(ReviewItem.id) == Label.item_id)
        .join(User, col(User.id) == Label.reviewer_id)
        .where(ReviewItem.trace_id == trace_id)
        .order_by(col(Label.created_at))
    ).all()
    adjudications = session.exec(
        select(User.username, Adjudication.answers, Adjudication.note)
        .join(ReviewItem, col(ReviewItem.id) == Adjudication.item_id)
        .join(User, col(User.id) == Adjudication.adjudicator_id)
        .where(ReviewItem.trace_id == trace_id)
    ).all()
    return {
        "trace": {
            "id": trace.id,
            "external_id": trace.external_id,
            "segment": trace.segment,
            "release": trace.release,
            "input": trace.input,
            "output": trace.output,
            "context": trace.context,
        },
        "judge": label_of(config),
        "verdicts": [
            {
                "question": v.question_key,
                "value": v.value,
                "confidence": v.confidence,
                "rationale": v.rationale,
                "error": v.error,
            }
            for v in verdicts
        ],
        "labels": [{"reviewer": u, "answers": a, "correction": c, "created_at": t} for u, a, c, t in labels],
        "adjudications": [{"adjudicator": u, "answers": a, "note": n} for u, a, n in adjudications],
    }


def compare_configs(
    session: Session,
    *,
    a: str,
    b: str,
    question: str,
    segment: str | None = None,
    human: ja.HumanMode = "each",
    seed: int = 0,
    resamples: int = 1000,
) -> dict[str, Any]:
    """Two judge configs on the SAME labelled items (those both have a verdict for), side by side:
    agreement with the humans (alpha with CI, kappa, exact/adjacent) and cost per 1,000 verdicts."""
    configs = [get_judge_config(session, a), get_judge_config(session, b)]
    q = ja.comparable_question(session, configs[0], question)
    ja.comparable_question(session, configs[1], question)
    frames = [ja.pairs(session, config=c, question=q, segment=segment, human=human) for c in configs]
    judged = [set(f.dropna(subset=["judge"])["trace_id"]) for f in frames]
    common = judged[0] & judged[1]
    verdicts = {  # THE verdict of each config (judge_trust), not one of its own on the shared items
        label_of(c): ja.judge_trust(session, judge=label_of(c), question=question, segment=segment).verdict
        for c in configs
    }
    sides = []
    for config, frame in zip(configs, frames, strict=True):
        shared = frame[frame["trace_id"].isin(list(common))]
        side: dict[str, Any] = {"config": label_of(config), "model": config.model}
        if shared.empty:
            side |= {key: None for key in _HEADLINE if key != "ci95"} | {"ci_low": None, "ci_high": None}
            side["verdict"] = verdicts[label_of(config)]
        else:
            summary = ag.summarize(
                ja.pairs_table(shared),
                level=ja.level_of(q),
                seed=seed,
                resamples=resamples,
                value_domain=ja.scale_of(q, shared["human"]),
            ).to_dict()
            summary["n_labelled_items"] = int(shared["item"].nunique())
            summary["verdict"] = verdicts[label_of(config)]
            side |= _headline(summary)
        sides.append(side | ja.cost_per_1k(session, config=config))
    n_common = int(frames[0][frames[0]["trace_id"].isin(list(common))]["item"].nunique()) if common else 0
    return {"question": question, "segment": segment, "n_common_items": n_common, "configs": sides}


def reviewer_quality(
    session: Session, *, actor: Actor, question: str, segment: str | None = None
) -> list[dict[str, Any]]:
    """Each reviewer against the consensus of the others on one question (leads only): a reviewer who
    needs the guidelines again shows up as low agreement with everybody else."""
    require(actor, "view_reviewer_quality")
    q = ja.question_from_labels(session, question)
    labels = ja.label_rows(session, question=q, segment=segment)
    if labels.empty:
        return []
    table = ag.table_from_rows(labels[["item", "rater", "value"]])
    frame = ag.rater_agreement_with_consensus(table, level=ja.level_of(q), value_domain=ja.scale_of(q))
    counts = labels.groupby("rater").size()
    frame.insert(1, "n_labels", [int(counts.get(r, 0)) for r in frame["rater"]])
    return frame.rename(columns={"rater": "reviewer"}).to_dict("records")


def sample_unjudged_traces(session: Session, *, judge: str, n: int) -> list[int]:
    """Up to n trace ids lacking any verdict of this config: labelled traces first (they are what
    agreement needs), then a random sample of the rest."""
    config = get_judge_config(session, judge)
    judged = select(JudgeVerdict.trace_id).where(JudgeVerdict.judge_config_id == config.id)
    labelled = (
        select(ReviewItem.trace_id)
        .join(Label, col(Label.item_id) == ReviewItem.id)
        .where(col(ReviewItem.trace_id).not_in(judged))
        .group_by(col(ReviewItem.trace_id))
        .order_by(col(ReviewItem.trace_id))
        .limit(n)
    )
    ids = list(session.exec(labelled).all())
    if len(ids) < n:
        rest = (
            select(Trace.id)
            .where(col(Trace.id).not_in(judged), col(Trace.id).not_in(ids or [-1]))
            .order_by(func.random())
            .limit(n - len(ids))
        )
        ids += list(session.exec(rest).all())
    return ids
