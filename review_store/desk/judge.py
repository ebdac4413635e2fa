"""desk.judge: judge configs (list, create, get), runs, provider readiness and verdict reads.

A run calls the LLM outside any open transaction: the store's `run_judge` commits its run row, then
each verdict as it completes, then the totals. The desk's clock is active in the calling thread, which
is the only one that reads the time (worker threads only call the provider).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from review_store import judge as judge_store
from review_store import rubrics
from review_store.desk.agreement_models import Scalar, scalar
from review_store.desk.base import Part, ReadModel
from review_store.errors import NotFound
from review_store.permissions import Actor, refresh_actor


class JudgeConfigView(ReadModel):
    config: str  # NAME@VERSION
    name: str
    version: int
    model: str
    api_base: str | None
    params_json: str
    rubric: str  # NAME@VERSION
    prompt_template: str
    verdicts_ok: int
    verdicts_error: int
    created_by: str
    created_at: datetime


class ExternalScores(ReadModel):
    """What an external evaluator's batch did: stored new verdicts, and scores already there (retries)."""

    evaluator: str  # name@version: use it as the judge in agreement and gate metrics
    stored: int
    unchanged: int


class ProviderReadiness(ReadModel):
    ready: bool
    message: str


class RunError(ReadModel):
    trace_id: int
    question: str
    error: str


class RunReport(ReadModel):
    run_id: int
    config: str
    n_traces: int
    n_calls: int
    n_ok: int
    n_error: int
    n_duplicate: int
    n_cost_unknown: int
    cost_usd: float
    budget_usd: float | None
    stopped_reason: str | None
    errors: tuple[RunError, ...]


class VerdictView(ReadModel):
    """One judge verdict on a trace (desk.review marks agreement with a reviewer's answer)."""

    config: str
    question: str
    value: Scalar
    score: float | None
    confidence: float | None
    rationale: str | None
    error: str | None
    cost_usd: float | None
    latency_ms: float | None
    created_at: datetime


def _config_view(config: Any, *, rubric: str, ok: int, error: int) -> JudgeConfigView:
    return JudgeConfigView(
        config=judge_store.label_of(config),
        name=config.name,
        version=config.version,
        model=config.model,
        api_base=config.api_base,
        params_json=json.dumps(config.params or {}, sort_keys=True),
        rubric=rubric,
        prompt_template=config.prompt_template,
        verdicts_ok=ok,
        verdicts_error=error,
        created_by=config.created_by,
        created_at=config.created_at,
    )


def _rubric_label(session: Any, rubric_id: int) -> str:
    rubric = rubrics.get(session, rubric_id)
    return f"{rubric.name}@{rubric.version}"


class JudgePart(Part):
    def configs(self) -> tuple[JudgeConfigView, ...]:
        """Every judge config version (by name, then version) with its rubric and verdict counts."""
        from sqlmodel import col, select

        from review_store.judge.config import verdict_counts
        from review_store.models import JudgeConfig

        with self._read() as session:
            counts = verdict_counts(session)
            query = select(JudgeConfig).order_by(col(JudgeConfig.name), col(JudgeConfig.version))
            rows = session.exec(query).all()
            return tuple(
                _config_view(
                    c,
                    rubric=_rubric_label(session, c.rubric_id),
                    ok=counts.get(c.id, (0, 0))[0],
                    error=counts.get(c.id, (0, 0))[1],
                )
                for c in rows
            )

    def get(self, *, config: str) -> JudgeConfigView:
        """One config: NAME (latest version) or NAME@VERSION; NotFound otherwise."""
        from review_store.judge.config import verdict_counts

        with self._read() as session:
            found = judge_store.get_judge_config(session, config)
            ok, error = verdict_counts(session).get(found.id, (0, 0))
            return _config_view(found, rubric=_rubric_label(session, found.rubric_id), ok=ok, error=error)

    def questions(self, *, config: str) -> tuple[str, ...]:
        """The rating and label question keys of the config's rubric (those agreement is measured on)."""
        with self._read() as session:
            found = judge_store.get_judge_config(session, config)
            spec = rubrics.spec_of(rubrics.get(session, found.rubric_id))
            return tuple(q.key for q in spec.questions if q.kind in ("rating", "label"))

    def create(
        self,
        *,
        actor: Actor,
        name: str,
        model: str,
        rubric: str,
        prompt_template: str | None = None,
        params: dict[str, Any] | None = None,
        api_base: str | None = None,
    ) -> JudgeConfigView:
        """Save the next version of judge `name` on `rubric` (NAME = latest, or NAME@VERSION); unchanged
        content keeps the latest version. Leads only; audited. ValidationFailed names the bad field."""
        with self._write(actor) as (session, who):
            rname, _, rversion = rubric.partition("@")
            if rversion:
                found = next(
                    (r for r in rubrics.list_rubrics(session) if f"{r.name}@{r.version}" == rubric), None
                )
                if found is None:
                    raise NotFound(f"no rubric {rubric}")
            else:
                found = rubrics.latest(session, rname)
            config = judge_store.create_judge_config(
                session,
                actor=who,
                name=name,
                model=model,
                prompt_template=prompt_template or judge_store.DEFAULT_TEMPLATE,
                rubric_id=found.id,
                params=params,
                api_base=api_base or None,
            )
            session.flush()
            return _config_view(config, rubric=f"{found.name}@{found.version}", ok=0, error=0)

    def rubric_choices(self) -> tuple[str, ...]:
        """Every rubric version a judge config can answer (NAME@VERSION, oldest first)."""
        with self._read() as session:
            return tuple(f"{r.name}@{r.version}" for r in rubrics.list_rubrics(session))

    def template_help(self) -> tuple[str, tuple[str, ...]]:
        """The built-in prompt template and the placeholders a template may use."""
        return judge_store.DEFAULT_TEMPLATE, tuple(judge_store.PLACEHOLDERS)

    def provider_ready(self, *, config: str) -> ProviderReadiness:
        """Whether the config can call its model now (a provider key set, or a self-hosted api_base)."""
        with self._read() as session:
            ready, message = judge_store.provider_ready(judge_store.get_judge_config(session, config))
            return ProviderReadiness(ready=ready, message=message)

    def run(
        self,
        *,
        actor: Actor,
        config: str,
        limit: int | None = None,
        trace_ids: tuple[int, ...] | None = None,
        sample: int | None = None,
        budget_usd: float | None = None,
        concurrency: int = 4,
        timeout_s: float = 60,
        retry_errors: bool = False,
        scheduled: bool = False,
        mock_response: str | None = None,
    ) -> RunReport:
        """Judge the traces lacking a verdict of `config` (newest first, at most `limit`), or `trace_ids`,
        or `sample` of them (labelled traces first: what agreement needs). Leads and admins; audited.

        No transaction is open while the provider is called; the actor is re-read first.
        """
        from review_store.judge.agreement_views import sample_unjudged_traces

        with self._read() as session:
            who = refresh_actor(session, actor)
            judge_store.get_judge_config(session, config)  # NotFound before anything is written
            if sample is not None:
                trace_ids = tuple(sample_unjudged_traces(session, judge=config, n=sample))
        with self._clock():
            report = judge_store.run_judge(
                self.desk.engine,
                actor=who,
                config=config,
                limit=limit,
                trace_ids=list(trace_ids) if trace_ids is not None else None,
                budget_usd=budget_usd,
                concurrency=concurrency,
                timeout_s=timeout_s,
                retry_errors=retry_errors,
                scheduled=scheduled,
                mock_response=mock_response,
            )
        data = report.as_dict()
        data["errors"] = tuple(RunError(**e) for e in data["errors"])
        return RunReport(**data)

    def verdicts_for_trace(self, *, trace_id: int) -> tuple[VerdictView, ...]:
        """Every judge verdict on one trace (newest config versions first)."""
        with self._read() as session:
            return tuple(
                VerdictView(
                    config=v["config"],
                    question=v["question"],
                    value=scalar(v["value"]),
                    score=v["score"],
                    confidence=v["confidence"],
                    rationale=v["rationale"],
                    error=v["error"],
                    cost_usd=v["cost_usd"],
                    latency_ms=v["latency_ms"],
                    created_at=v["created_at"],
                )
                for v in judge_store.verdicts_for_trace(session, trace_id=trace_id)
            )

    def record_external_scores(
        self, *, actor: Actor, evaluator: str, scores: list[dict[str, Any]]
    ) -> ExternalScores:
        """An external evaluator's scores, stored as its verdicts (all or nothing; audited). The first batch
        registers the evaluator as a judge config with model "external" (leads). An external evaluator is
        just another rater: agreement, trust and the gate read its verdicts like the LLM judge's."""
        from review_store.judge.external import record_scores

        with self._write(actor) as (session, who):
            result = record_scores(session, actor=who, evaluator=evaluator, scores=scores)
            return ExternalScores(
                evaluator=result.evaluator, stored=result.stored, unchanged=result.unchanged
            )
