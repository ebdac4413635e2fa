"""Judge runs: judge the traces lacking a verdict of a config, one LLM call per question.

Each verdict is written in its own small transaction from the calling thread (workers only talk HTTP,
see judge_llm), so a crash loses at most the calls in flight. Every failure becomes a JudgeVerdict with
`error` set and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from review_store import audit
from review_store import rubrics as rubric_store
from review_store.db import read_session, session_scope
from review_store.errors import NotFound, ValidationFailed
from review_store.judge.config import get_judge_config, label_of
from review_store.judge.llm import Outcome, base_call, call_judge, messages, provider_ready, render_prompt
from review_store.models import JudgeConfig, JudgeRun, JudgeVerdict, Trace, utcnow
from review_store.permissions import Actor, require
from review_store.rollups.maintain import add_verdicts
from review_store.rubrics import Question

MAX_ERRORS_IN_REPORT = 20


@dataclass
class JudgeRunReport:
    run_id: int
    config: str
    n_traces: int = 0
    n_calls: int = 0
    n_ok: int = 0
    n_error: int = 0
    n_duplicate: int = 0  # another run wrote the same verdict first
    n_cost_unknown: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None
    stopped_reason: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Task:
    trace_id: int
    question: Question
    prompt: str
    messages: list[dict[str, str]] | None = None  # None: judge.llm.messages(question, prompt)


def _pending_tasks(
    engine: Engine,
    config: JudgeConfig,
    questions: tuple[Question, ...],
    *,
    limit: int | None,
    trace_ids: list[int] | None,
    retry_errors: bool,
    batch: int = 200,
):
    """(trace, question) pairs still lacking a verdict, newest traces first, fetched in small batches."""
    keys = [q.key for q in questions]
    done_filter = [col(JudgeVerdict.judge_config_id) == config.id, col(JudgeVerdict.question_key).in_(keys)]
    if retry_errors:
        done_filter.append(col(JudgeVerdict.error).is_(None))
    fully_done = (
        select(JudgeVerdict.trace_id)
        .where(*done_filter)
        .group_by(col(JudgeVerdict.trace_id))
        .having(func.count(func.distinct(JudgeVerdict.question_key)) >= len(keys))
    )
    cursor, remaining = None, limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        query = select(Trace).where(col(Trace.id).not_in(fully_done))
        if trace_ids is not None:
            query = query.where(col(Trace.id).in_(trace_ids))
        if cursor is not None:
            query = query.where(col(Trace.id) < cursor)
        with read_session(engine) as session:
            traces = session.exec(query.order_by(col(Trace.id).desc()).limit(size)).all()
            if not traces:
                return
            have = session.exec(
                select(JudgeVerdict.trace_id, JudgeVerdict.question_key).where(
                    *done_filter, col(JudgeVerdict.trace_id).in_([t.id for t in traces])
                )
            ).all()
            done = set(have)
            tasks = [
                Task(t.id, q, render_prompt(config.prompt_template, q, t))
                for t in traces
                for q in questions
                if (t.id, q.key) not in done
            ]
            cursor, n_traces = traces[-1].id, len(traces)
        if remaining is not None:
            remaining -= n_traces
        yield from tasks


def _store(engine: Engine, run_id: int, config_id: int, out: Outcome) -> bool:
    """Write one verdict and bump the run's counters in one small transaction; False if already there."""
    try:
        with session_scope(engine) as session:
            row = session.exec(
                select(JudgeVerdict).where(
                    JudgeVerdict.trace_id == out.trace_id,
                    JudgeVerdict.judge_config_id == config_id,
                    JudgeVerdict.question_key == out.question_key,
                )
            ).first()
            if row is not None and row.error is None:
                return False
            if row is None:
                ts, segment, release = session.exec(
                    select(Trace.ts, Trace.segment, Trace.release).where(Trace.id == out.trace_id)
                ).first() or (None, "", "")
                row = JudgeVerdict(
                    trace_id=out.trace_id,
                    judge_config_id=config_id,
                    question_key=out.question_key,
                    trace_ts=ts,  # copies of the trace's ts/segment/release for the dashboards
                    segment=segment,
                    release=release,
                )
            for name in ("value", "score", "confidence", "rationale", "cost_usd", "latency_ms", "error"):
                setattr(row, name, getattr(out, name))
            row.judge_run_id, row.created_at = run_id, utcnow()
            session.add(row)
            add_verdicts(session.connection(), [row.model_dump()])  # rollups (successful verdicts only)
            run = session.get(JudgeRun, run_id)
            run.n_ok += out.error is None
            run.n_error += out.error is not None
            run.cost_usd += out.cost_usd or 0.0
            session.add(run)
        return True
    except IntegrityError:  # a concurrent run inserted it first, or the trace was deleted meanwhile
        return False


def run_judge(
    engine: Engine,
    *,
    actor: Actor,
    config: JudgeConfig | str,
    limit: int | None = None,
    trace_ids: list[int] | None = None,
    concurrency: int = 4,
    timeout_s: float = 60,
    max_retries: int = 3,
    budget_usd: float | None = None,
    mock_response: str | None = None,
    scheduled: bool = False,
    api_key: str | None = None,
    retry_errors: bool = False,
    backoff_s: float = 0.5,
) -> JudgeRunReport:
    """Judge the traces (newest first, at most `limit`) lacking a verdict of this config, one call a question.

    The caller does not hold a transaction: the run commits its JudgeRun row first, then each verdict as
    it completes, then the totals with one `judge.run` audit event. Previously errored verdicts are kept
    unless `retry_errors`. The budget stops scheduling new calls once the known spend reaches it (calls
    in flight still finish, so a run may overshoot by up to `concurrency - 1` calls; calls of unknown
    cost count as 0). `api_key` is used for this run only and never stored. ValidationFailed when no
    provider key is configured (see provider_ready) unless `mock_response` is given.
    """
    require(actor, "run_judge")
    if concurrency < 1 or timeout_s <= 0 or max_retries < 0 or (limit is not None and limit < 0):
        raise ValidationFailed("run_judge: concurrency >= 1, timeout_s > 0, max_retries >= 0, limit >= 0")
    if budget_usd is not None and budget_usd < 0:
        raise ValidationFailed("run_judge: budget_usd must be >= 0")
    cfg, spec = load_config(engine, config)
    # chunk relevance marks are a reviewer's reading of the context (review_store.retrieval), not judged;
    # a pairwise question is judged on shadow pairs (review_store.judge.pairwise), not on one trace
    questions = tuple(q for q in spec.questions if q.kind not in (rubric_store.CHUNKS, rubric_store.PAIRWISE))
    shared = prepare_call(cfg, timeout_s=timeout_s, api_key=api_key, mock_response=mock_response)
    tasks = _pending_tasks(
        engine, cfg, questions, limit=limit, trace_ids=trace_ids, retry_errors=retry_errors
    )
    return drive(
        engine,
        actor,
        cfg,
        tasks,
        shared=shared,
        concurrency=concurrency,
        max_retries=max_retries,
        budget_usd=budget_usd,
        scheduled=scheduled,
        backoff_s=backoff_s,
    )


def load_config(engine: Engine, config: JudgeConfig | str) -> tuple[JudgeConfig, rubric_store.RubricSpec]:
    """The config (detached, usable after its session) and its rubric; an external evaluator is refused."""
    with read_session(engine) as session:
        cfg = (
            get_judge_config(session, config)
            if isinstance(config, str)
            else session.get(JudgeConfig, config.id)
        )
        if cfg is None:
            raise NotFound("judge config is not in this database")
        if cfg.model == "external":
            raise ValidationFailed(
                f"{cfg.name}@{cfg.version} is an external evaluator: its scores arrive over the API "
                "(POST /api/v1/scores); the desk does not run it"
            )
        spec = rubric_store.spec_of(rubric_store.get(session, cfg.rubric_id))
        session.expunge(cfg)  # keep its loaded values usable after the read session ends
    return cfg, spec


def prepare_call(
    cfg: JudgeConfig, *, timeout_s: float, api_key: str | None, mock_response: str | None
) -> dict[str, Any]:
    """The shared litellm kwargs; ValidationFailed when no provider key is configured (see provider_ready)
    unless `mock_response` or `api_key` is given."""
    if mock_response is None and api_key is None:
        ready, message = provider_ready(cfg)
        if not ready:
            raise ValidationFailed(message)
    return base_call(cfg, timeout_s=timeout_s, api_key=api_key, mock_response=mock_response)


def drive(
    engine: Engine,
    actor: Actor,
    cfg: JudgeConfig,
    tasks: Iterator[Task],
    *,
    shared: dict[str, Any],
    concurrency: int,
    max_retries: int,
    budget_usd: float | None,
    scheduled: bool,
    backoff_s: float,
    parse: Callable[[str | None, Question], tuple[Any, float | None, str]] | None = None,
) -> JudgeRunReport:
    """Run `tasks` through the model `concurrency` at a time under the budget, storing each verdict as it
    completes (see run_judge); `parse` reads a reply (default: judge.llm.parse_verdict)."""
    with session_scope(engine) as session:
        run = JudgeRun(
            judge_config_id=cfg.id, budget_usd=budget_usd, triggered_by=actor.username, scheduled=scheduled
        )
        session.add(run)
        session.flush()
        run_id = run.id
    report = JudgeRunReport(run_id=run_id, config=label_of(cfg), budget_usd=budget_usd)
    traces_seen: set[int] = set()
    pending: set[Future[Outcome]] = set()
    exhausted = False
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="judge") as pool:
            while True:
                while len(pending) < concurrency and not exhausted and report.stopped_reason is None:
                    if budget_usd is not None and report.cost_usd >= budget_usd:
                        report.stopped_reason = f"budget: spent ${report.cost_usd:.6f} of ${budget_usd:.6f}"
                        break
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    call = {**shared, "messages": task.messages or messages(task.question, task.prompt)}
                    pending.add(
                        pool.submit(
                            call_judge,
                            call,
                            task.question,
                            task.trace_id,
                            max_retries=max_retries,
                            backoff_s=backoff_s,
                            parse=parse,
                        )
                    )
                    traces_seen.add(task.trace_id)
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    _account(report, future.result(), _store(engine, run_id, cfg.id, future.result()))
    except BaseException as exc:
        for future in pending:
            future.cancel()
        report.stopped_reason = f"interrupted: {type(exc).__name__}"
        _finish(engine, actor, run_id, report, len(traces_seen), scheduled)
        raise
    _finish(engine, actor, run_id, report, len(traces_seen), scheduled)
    return report


def _account(report: JudgeRunReport, out: Outcome, stored: bool) -> None:
    report.n_calls += 1
    report.cost_usd += out.cost_usd or 0.0
    report.n_cost_unknown += out.cost_usd is None and out.error is None
    if not stored:
        report.n_duplicate += 1
    elif out.error is None:
        report.n_ok += 1
    else:
        report.n_error += 1
        if len(report.errors) < MAX_ERRORS_IN_REPORT:
            report.errors.append({"trace_id": out.trace_id, "question": out.question_key, "error": out.error})


def _finish(
    engine: Engine, actor: Actor, run_id: int, report: JudgeRunReport, n_traces: int, scheduled: bool
) -> None:
    report.n_traces = n_traces
    with session_scope(engine) as session:
        run = session.get(JudgeRun, run_id)
        run.finished_at, run.stopped_reason = utcnow(), report.stopped_reason
        session.add(run)
        audit.record(
            session,
            actor=actor,
            action="judge.run",
            entity="judge_run",
            entity_id=run_id,
            payload={
                "config": report.config,
                "n_traces": n_traces,
                "n_ok": report.n_ok,
                "n_error": report.n_error,
                "cost_usd": round(report.cost_usd, 8),
                "budget_usd": report.budget_usd,
                "stopped_reason": report.stopped_reason,
                "scheduled": scheduled,
            },
        )
