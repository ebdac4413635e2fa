"""The paired report of a candidate release against a baseline, per pairwise question, and the
non-inferiority rule the gate, the CLI and the Releases page share.

Units: one per shadow pair (a baseline production trace and the candidate's shadow of the same input,
`pairs.shadow_pairs`). Human outcome of a pair = the reference answer of its trace's labels
(`reference.reference_answer`: the adjudicated answer, else the majority choice; reviewers who split
evenly give no outcome), mapped to the candidate with `candidate_outcome`. Judge outcomes are counted
per judge config, separately, never mixed with the humans'.

Rule ("promote only if every critical question improves or holds"): the gate policy names the critical
questions as thresholds on the metric `pairwise:<question>` with op ">=" and a threshold of -margin
(e.g. `{"metric": "pairwise:correctness", "op": ">=", "threshold": -0.05}`: the candidate may be at most
5 points of net share worse). The value is the lower end of the paired bootstrap CI of delta =
(wins - losses) / n from the human outcomes: a question holds when even the pessimistic end of the CI
is no worse than the margin. No human outcome on a critical question is no evidence: the rule fails.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from review_store import rubrics
from review_store.errors import ValidationFailed
from review_store.escalations import human_answers
from review_store.models import GatePolicy, JudgeConfig, JudgeVerdict, Rubric, Trace
from review_store.pairwise.answers import choice_of
from review_store.pairwise.pairs import ShadowPair, candidate_outcome, shadow_pairs
from review_store.pairwise.stats import PairedStats, paired_stats
from review_store.reference import reference_answer

METRIC_PREFIX = "pairwise:"


def is_metric(metric: str) -> bool:
    return metric.startswith(METRIC_PREFIX)


def question_of(metric: str) -> str:
    return metric[len(METRIC_PREFIX) :]


@dataclass(frozen=True)
class SourceStats:
    source: str  # "human" or the judge config "name@version"
    stats: PairedStats


@dataclass(frozen=True)
class QuestionReport:
    question: str
    human: PairedStats
    judges: tuple[SourceStats, ...]
    margin: float | None = None  # set when the policy makes the question critical
    holds: bool | None = None  # the rule's verdict on a critical question
    note: str = ""


@dataclass
class PairwiseReport:
    candidate: str
    baseline: str
    pairs: int
    questions: list[QuestionReport] = field(default_factory=list)
    policy_version: int | None = None

    @property
    def critical(self) -> list[QuestionReport]:
        return [q for q in self.questions if q.margin is not None]

    @property
    def passed(self) -> bool:
        """The non-inferiority rule: every critical question holds (no critical question: nothing to fail)."""
        return all(q.holds for q in self.critical)


def pairwise_questions(session: Session) -> dict[str, rubrics.Question]:
    """Every pairwise question of any rubric version, by key (the newest version's wording wins)."""
    out: dict[str, rubrics.Question] = {}
    for rubric in session.exec(select(Rubric).order_by(col(Rubric.id))).all():
        for q in rubrics.spec_of(rubric).questions:
            if q.kind == rubrics.PAIRWISE:
                out[q.key] = q
    return out


def _human_outcomes(session: Session, question: rubrics.Question, pairs: dict[int, ShadowPair]) -> list[str]:
    by_trace: dict[int, list[Any]] = defaultdict(list)
    settled: dict[int, Any] = {}
    for answer in human_answers(session, question_key=question.key, trace_ids=list(pairs)):
        if answer.adjudicated:
            settled[answer.trace_id] = answer.value
        else:
            by_trace[answer.trace_id].append(answer.value)
    out = []
    for trace_id in sorted(set(by_trace) | set(settled)):
        value = reference_answer(question, by_trace.get(trace_id, []), adjudicated=settled.get(trace_id))
        choice = choice_of(value)
        if choice is not None:
            out.append(candidate_outcome(choice, candidate_is_a=pairs[trace_id].candidate_is_a))
    return out


def _judge_outcomes(session: Session, question: str, pairs: dict[int, ShadowPair]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    rows = session.exec(
        select(JudgeVerdict.trace_id, JudgeVerdict.value, JudgeConfig.name, JudgeConfig.version)
        .join(JudgeConfig, col(JudgeConfig.id) == JudgeVerdict.judge_config_id)
        .where(
            JudgeVerdict.question_key == question,
            col(JudgeVerdict.error).is_(None),
            col(JudgeVerdict.trace_id).in_(list(pairs)),
        )
        .order_by(col(JudgeVerdict.trace_id))
    ).all()
    for trace_id, value, name, version in rows:
        choice = choice_of(value)
        if choice is not None:
            out[f"{name}@{version}"].append(
                candidate_outcome(choice, candidate_is_a=pairs[trace_id].candidate_is_a)
            )
    return dict(sorted(out.items()))


def critical_margins(session: Session) -> tuple[int | None, dict[str, float]]:
    """(policy version, {question: margin}) from the newest gate policy's `pairwise:<question>` rows."""
    policy = session.exec(select(GatePolicy).order_by(col(GatePolicy.version).desc()).limit(1)).first()
    if policy is None:
        return None, {}
    margins = {}
    for row in policy.thresholds:
        if is_metric(row["metric"]):
            margins[question_of(row["metric"])] = -float(row["threshold"])
    return policy.version, margins


def check_threshold(row: dict[str, Any], *, where: str) -> None:
    """A policy row on `pairwise:<question>` must read ">= -margin" with 0 <= margin < 1."""
    if not question_of(row["metric"]):
        raise ValidationFailed(f"{where}.metric: name the question, as pairwise:<question key>")
    if row["op"] != ">=" or not -1 < row["threshold"] <= 0:
        raise ValidationFailed(
            f"{where}: a pairwise row is '>= -margin' with a margin from 0 up to 1 "
            f"(e.g. op '>=', threshold -0.05), got {row['op']} {row['threshold']}"
        )


def pairwise_report(session: Session, *, candidate: str, baseline: str) -> PairwiseReport:
    """The paired statistics of every pairwise question (humans, then each judge config) and the rule's
    verdict on the critical ones (see the module doc). ValidationFailed for a bad release pair."""
    candidate, baseline = (candidate or "").strip(), (baseline or "").strip()
    pairs = {p.baseline_trace_id: p for p in shadow_pairs(session, candidate=candidate, baseline=baseline)}
    version, margins = critical_margins(session)
    questions = pairwise_questions(session)
    report = PairwiseReport(candidate=candidate, baseline=baseline, pairs=len(pairs), policy_version=version)
    for key in sorted(set(questions) | set(margins)):
        question = questions.get(key)
        human = paired_stats(_human_outcomes(session, question, pairs) if question and pairs else [])
        judges = tuple(
            SourceStats(source, paired_stats(outcomes))
            for source, outcomes in (_judge_outcomes(session, key, pairs) if pairs else {}).items()
        )
        margin = margins.get(key)
        holds, note = None, ""
        if margin is not None:
            holds, note = decide(human, margin, known=question is not None, pairs=len(pairs))
        report.questions.append(QuestionReport(key, human, judges, margin, holds, note))
    return report


def decide(human: PairedStats, margin: float, *, known: bool, pairs: int) -> tuple[bool, str]:
    """Whether a critical question holds: the CI's lower end of delta is at least -margin."""
    if not known:
        return False, "no evidence: no rubric has this pairwise question"
    if not pairs:
        return False, "no evidence: no shadow pair of the candidate against this baseline"
    if human.n == 0 or human.ci_low is None:
        return False, f"no evidence: no human pairwise outcome on the {pairs} shadow pair(s)"
    shown = f"delta {human.delta:+.3f}, CI [{human.ci_low:+.3f}, {human.ci_high:+.3f}], n={human.n}"
    if human.ci_low >= -margin:
        verdict = "improves" if human.ci_low > 0 else "holds"
        return True, f"{verdict}: {shown}; non-inferior within margin {margin:g}"
    return False, f"{shown}: the CI's lower end is below -{margin:g} (may be worse than the margin)"


def baseline_of(session: Session, candidate: str) -> str | None:
    """The release whose production traces the candidate's shadow traces answer most often (ties: by
    name), or None when the candidate has no shadow trace: the baseline the gate compares against."""
    prod, shadow = aliased(Trace), aliased(Trace)
    rows = session.exec(
        select(prod.release, func.count())
        .join(shadow, shadow.shadow_of == prod.external_id)
        .where(shadow.release == candidate, prod.shadow_of.is_(None), prod.release != candidate)
        .group_by(prod.release)
    ).all()
    ranked = sorted(((-n, release) for release, n in rows if release))
    return ranked[0][1] if ranked else None


def gate_rows(
    session: Session, *, release: str, thresholds: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The gate's view of the rule for `release` as candidate, against `baseline_of(release)`: per policy
    row metric, {"value": the CI's lower end or None, "passed", "note", "question"} (from `decide`)."""
    wanted = [row["metric"] for row in thresholds if is_metric(row["metric"])]
    if not wanted:
        return {}
    baseline = baseline_of(session, release)
    if baseline is None:
        why = f"no evidence: {release} has no shadow run (no shadow trace of it answers a production trace)"
        return {m: {"value": None, "passed": False, "note": why, "question": question_of(m)} for m in wanted}
    report = pairwise_report(session, candidate=release, baseline=baseline)
    by_question = {q.question: q for q in report.questions}
    out = {}
    for metric in wanted:
        q = by_question[question_of(metric)]
        out[metric] = {
            "value": q.human.ci_low,
            "passed": bool(q.holds),
            "note": f"vs {baseline}: {q.note}",
            "question": q.question,
        }
    return out
