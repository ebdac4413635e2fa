"""External evaluators: another rater, stored like the judge.

An evaluator outside the desk (a RAGAS job, a classifier, a vendor's grader) posts its scores over the API.
It is a judge config whose model is "external" (versioned like any judge, bound to the rubric it scores),
and its scores are judge verdicts, so agreement with humans, the trust verdict and the gate treat it
exactly like the LLM judge. Registering one is a lead's decision (edit_judges); posting scores is an
operation (run_judge). A batch is stored all or nothing: the first bad score names `scores[i].field`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from review_store import audit
from review_store import rubrics as rubric_store
from review_store.errors import ConflictError, ValidationFailed
from review_store.judge.config import create_judge_config, label_of
from review_store.judge.llm import DEFAULT_TEMPLATE
from review_store.models import JudgeConfig, JudgeVerdict, Rubric, Trace, utcnow
from review_store.permissions import Actor, require

EXTERNAL_MODEL = "external"
MAX_SCORES = 5_000


@dataclass(frozen=True)
class ScoresResult:
    evaluator: str  # name@version
    stored: int
    unchanged: int  # the same score sent again (a retry)


def is_external(config: JudgeConfig) -> bool:
    return config.model == EXTERNAL_MODEL


def _evaluator(session: Session, actor: Actor, name: str) -> JudgeConfig:
    name = name.strip()
    if not name or "@" in name or len(name) > 120:
        raise ValidationFailed("evaluator: 1-120 characters, no '@'")
    config = session.exec(
        select(JudgeConfig).where(JudgeConfig.name == name).order_by(col(JudgeConfig.version).desc()).limit(1)
    ).first()
    if config is not None:
        if not is_external(config):
            raise ConflictError(
                f"evaluator: {label_of(config)} is an LLM judge the desk runs, not an external one"
            )
        return config
    newest = session.exec(select(Rubric).order_by(col(Rubric.id).desc()).limit(1)).first()
    if newest is None:
        raise ValidationFailed("evaluator: no rubric yet: a lead creates one in Settings > Rubrics")
    rubric = rubric_store.latest(session, newest.name)
    return create_judge_config(
        session,
        actor=actor,
        name=name,
        model=EXTERNAL_MODEL,
        prompt_template=DEFAULT_TEMPLATE,
        rubric_id=rubric.id,
        params={},
    )


def record_scores(
    session: Session, *, actor: Actor, evaluator: str, scores: list[dict[str, Any]]
) -> ScoresResult:
    """Store an external evaluator's scores as verdicts; the first score registers the evaluator (leads).

    Each score: {trace_id: the trace's external id, question: a rubric key, value, confidence?, rationale?}.
    The same value again is unchanged (idempotent); another value for a stored score is a ConflictError.
    """
    require(actor, "run_judge")
    if not scores:
        raise ValidationFailed("scores: at least one score")
    if len(scores) > MAX_SCORES:
        raise ValidationFailed(f"scores: at most {MAX_SCORES} in one request")
    config = _evaluator(session, actor, evaluator)
    questions = {
        q.key: q for q in rubric_store.spec_of(rubric_store.get(session, config.rubric_id)).questions
    }
    wanted = {str(s.get("trace_id", "")) for s in scores}
    traces = {
        t.external_id: t for t in session.exec(select(Trace).where(col(Trace.external_id).in_(wanted))).all()
    }
    rows: list[tuple[Trace, str, Any, float | None, float | None, str | None]] = []
    for i, score in enumerate(scores):
        where = f"scores[{i}]"
        trace = traces.get(str(score.get("trace_id", "")))
        if trace is None:
            raise ValidationFailed(f"{where}.trace_id: no trace with external id {score.get('trace_id')!r}")
        question = questions.get(score.get("question", ""))
        if question is None:
            raise ValidationFailed(
                f"{where}.question: {score.get('question')!r} is not one of {', '.join(questions)}"
            )
        try:
            value = question.check_answer(score.get("value"))
        except ValidationFailed as exc:
            raise ValidationFailed(f"{where}.value: {exc}") from None
        confidence = score.get("confidence")
        if confidence is not None and not (isinstance(confidence, int | float) and 0 <= confidence <= 1):
            raise ValidationFailed(f"{where}.confidence: a number in 0..1")
        rows.append((trace, question.key, value, question.score(value), confidence, score.get("rationale")))
    stored = unchanged = 0
    seen: dict[tuple[int, str], Any] = {}
    for trace, key, value, numeric, confidence, rationale in rows:
        if (trace.id, key) in seen:
            if seen[(trace.id, key)] != value:
                raise ValidationFailed(f"scores: two different values for trace {trace.external_id} / {key}")
            unchanged += 1
            continue
        seen[(trace.id, key)] = value
        existing = session.exec(
            select(JudgeVerdict).where(
                JudgeVerdict.trace_id == trace.id,
                JudgeVerdict.judge_config_id == config.id,
                JudgeVerdict.question_key == key,
            )
        ).first()
        if existing is not None:
            if existing.value != value:
                raise ConflictError(
                    f"scores: {label_of(config)} already scored trace {trace.external_id} / {key} as "
                    f"{existing.value!r}; a score is not changed after it is stored"
                )
            unchanged += 1
            continue
        session.add(
            JudgeVerdict(
                trace_id=trace.id,
                judge_config_id=config.id,
                question_key=key,
                value=value,
                score=numeric,
                confidence=confidence,
                rationale=None if rationale is None else str(rationale)[:10_000],
                created_at=utcnow(),
                trace_ts=trace.ts,
                segment=trace.segment,
                release=trace.release,
            )
        )
        stored += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="judge.external_scores",
        entity="judge_config",
        entity_id=label_of(config),
        payload={"stored": stored, "unchanged": unchanged},
    )
    return ScoresResult(evaluator=label_of(config), stored=stored, unchanged=unchanged)
