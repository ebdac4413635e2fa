"""LLM-as-a-judge through litellm: versioned judge configs, runs and their verdicts.

A judge config is data with a version and a content hash (model, prompt template, rubric version, params,
api_base); editing it creates the next version, so every verdict names exactly what produced it.
A run asks one question per LLM call and writes each verdict in its own small transaction from the
calling thread (workers only talk HTTP), so a crash loses at most the calls in flight.

Prompt template placeholders (anything else in braces is left alone, so JSON examples are fine):
{question} {key} {kind} {allowed} {guidelines} {input} {output} {context}.

Failure policy: rate limits (HTTP 429), 5xx and connection errors are retried with exponential backoff
and jitter up to `max_retries`; a timeout is stored at once as an error verdict (a hung server rarely
recovers, and retrying would multiply the wait); auth and bad-request errors are not retried. Every
failure becomes a JudgeVerdict with `error` set and the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from review_store import audit
from review_store import rubrics as rubric_store
from review_store.db import read_session, session_scope
from review_store.errors import NotFound, ValidationFailed
from review_store.models import JudgeConfig, JudgeRun, JudgeVerdict, Rubric, Trace, utcnow
from review_store.permissions import Actor, require
from review_store.rubrics import Question

PLACEHOLDERS = ("question", "key", "kind", "allowed", "guidelines", "input", "output", "context")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
# Set by the run itself, so a config may not carry them (and never a secret).
RESERVED_PARAMS = frozenset(
    {
        "model",
        "messages",
        "api_key",
        "api_base",
        "base_url",
        "timeout",
        "mock_response",
        "max_retries",
        "num_retries",
        "response_format",
        "stream",
    }
)
# Fast path for provider_ready: the common providers' key variables, without importing litellm.
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
}
MAX_ERRORS_IN_REPORT = 20

DEFAULT_TEMPLATE = """You are grading one answer of a customer-support assistant for a quality review.

Question ({key}, {kind}): {question}
Allowed values: {allowed}
Guidelines for graders:
{guidelines}

--- Customer input ---
{input}

--- Retrieved context ---
{context}

--- Assistant output ---
{output}

Reply with one JSON object only: {"value": <one of the allowed values>, "confidence": <0..1>, "rationale": "<one or two sentences>"}
"""

SYSTEM_PROMPT = (
    "You are a strict, consistent evaluator. Answer with a single JSON object with the keys "
    '"value", "confidence" (a number from 0 to 1) and "rationale" (a short string), and nothing else.'
)


# --- configs -----------------------------------------------------------------------------------------


def check_template(template: str) -> None:
    """ValidationFailed when the template has an unknown placeholder or lacks {output}/{question}."""
    unknown = sorted({m for m in _PLACEHOLDER_RE.findall(template) if m not in PLACEHOLDERS})
    if unknown:
        raise ValidationFailed(
            f"prompt template: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )
    for needed in ("question", "output"):
        if "{" + needed + "}" not in template:
            raise ValidationFailed(f"prompt template: must contain {{{needed}}}")


def config_hash(
    *, model: str, prompt_template: str, rubric_id: int, params: dict[str, Any], api_base: str | None
) -> str:
    body = {
        "model": model,
        "prompt_template": prompt_template,
        "rubric_id": rubric_id,
        "params": params,
        "api_base": api_base,
    }
    return hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


def create_judge_config(
    session: Session,
    *,
    actor: Actor,
    name: str,
    model: str,
    prompt_template: str = DEFAULT_TEMPLATE,
    rubric_id: int,
    params: dict[str, Any] | None = None,
    api_base: str | None = None,
) -> JudgeConfig:
    """Save the next version of judge `name`; unchanged content returns the latest version as it is."""
    require(actor, "edit_judges")
    name, model = name.strip(), model.strip()
    if not name or "@" in name:
        raise ValidationFailed("judge name: must not be empty or contain '@'")
    if not model:
        raise ValidationFailed(
            "judge model: must not be empty (a litellm model string, e.g. openai/gpt-4o-mini)"
        )
    check_template(prompt_template)
    rubric_store.spec_of(rubric_store.get(session, rubric_id))  # exists and parses
    params = dict(params or {})
    reserved = sorted(RESERVED_PARAMS & set(params))
    if reserved:
        raise ValidationFailed(f"judge params: {', '.join(reserved)} may not be set in a config")
    try:
        audit.canonical_json(params)
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"judge params: not JSON ({exc})") from None
    api_base = (api_base or "").strip() or None
    digest = config_hash(
        model=model, prompt_template=prompt_template, rubric_id=rubric_id, params=params, api_base=api_base
    )
    current = _latest(session, name)
    if current is not None and current.content_hash == digest:
        return current
    config = JudgeConfig(
        name=name,
        version=(current.version if current else 0) + 1,
        model=model,
        prompt_template=prompt_template,
        rubric_id=rubric_id,
        params=params,
        api_base=api_base,
        content_hash=digest,
        created_by=actor.username,
    )
    session.add(config)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="judge_config.create",
        entity="judge_config",
        entity_id=label_of(config),
        payload={"content_hash": digest, "model": model, "rubric_id": rubric_id, "api_base": api_base},
    )
    return config


def _latest(session: Session, name: str) -> JudgeConfig | None:
    query = select(JudgeConfig).where(JudgeConfig.name == name).order_by(col(JudgeConfig.version).desc())
    return session.exec(query.limit(1)).first()


def label_of(config: JudgeConfig) -> str:
    return f"{config.name}@{config.version}"


def get_judge_config(session: Session, name: str, version: int | None = None) -> JudgeConfig:
    """A config by name (latest version) or by "name@3" / an explicit version; NotFound otherwise."""
    if version is None and "@" in name:
        name, _, raw = name.rpartition("@")
        try:
            version = int(raw)
        except ValueError:
            raise ValidationFailed(f"judge config {name}@{raw}: version must be a whole number") from None
    if version is None:
        config = _latest(session, name)
    else:
        query = select(JudgeConfig).where(JudgeConfig.name == name, JudgeConfig.version == version)
        config = session.exec(query).first()
    if config is None:
        raise NotFound(f"no judge config {name}" + (f"@{version}" if version is not None else ""))
    return config


def list_judge_configs(session: Session) -> list[dict[str, Any]]:
    """Every config version with its rubric and verdict counts (ok / error), for the CLI and Settings."""
    ok = func.count(JudgeVerdict.id).filter(col(JudgeVerdict.error).is_(None))
    errors = func.count(JudgeVerdict.id).filter(col(JudgeVerdict.error).is_not(None))
    query = (
        select(JudgeConfig, Rubric.name, Rubric.version, ok, errors)
        .join(Rubric, col(Rubric.id) == JudgeConfig.rubric_id)
        .outerjoin(JudgeVerdict, col(JudgeVerdict.judge_config_id) == JudgeConfig.id)
        .group_by(col(JudgeConfig.id), col(Rubric.name), col(Rubric.version))
        .order_by(col(JudgeConfig.name), col(JudgeConfig.version))
    )
    return [
        {
            "config": label_of(c),
            "id": c.id,
            "model": c.model,
            "api_base": c.api_base,
            "params": c.params,
            "rubric": f"{rname}@{rversion}",
            "verdicts_ok": n_ok,
            "verdicts_error": n_err,
            "created_by": c.created_by,
            "created_at": c.created_at,
        }
        for c, rname, rversion, n_ok, n_err in session.exec(query).all()
    ]


# --- provider readiness -------------------------------------------------------------------------------


def provider_ready(config: JudgeConfig) -> tuple[bool, str]:
    """Whether a key for the config's model is configured, with a message naming the variable to set."""
    if config.api_base:
        return True, f"{config.model} is served by {config.api_base} (self-hosted: no provider key needed)"
    provider = config.model.split("/", 1)[0] if "/" in config.model else ""
    if provider in PROVIDER_KEYS:
        var = PROVIDER_KEYS[provider]
        if os.environ.get(var):
            return True, f"{var} is set"
        return False, f"no API key for {config.model}: set {var} in the environment of the app or CLI"
    litellm = _litellm()
    try:
        check = litellm.validate_environment(config.model)
    except Exception as exc:  # noqa: BLE001 - litellm raises many types for unknown models
        return False, f"cannot tell whether {config.model} is configured: {exc}"
    if check.get("keys_in_environment"):
        return True, f"provider environment for {config.model} is set"
    missing = ", ".join(check.get("missing_keys") or []) or "the provider's API key"
    return False, f"no API key for {config.model}: set {missing} in the environment of the app or CLI"


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


# --- prompts and parsing --------------------------------------------------------------------------------


def allowed_values(question: Question) -> str:
    if question.kind == "rating":
        return f"a whole number from {question.min} to {question.max}"
    if question.kind == "label":
        return "one of " + ", ".join(json.dumps(o) for o in question.options)
    if question.kind == "multi_label":
        return "a list of any of " + ", ".join(json.dumps(o) for o in question.options)
    return "free text"


def _context_text(context: list[dict[str, Any]] | None) -> str:
    if not context:
        return "(none)"
    lines = []
    for i, chunk in enumerate(context, 1):
        if isinstance(chunk, dict):
            ref = chunk.get("id") or i
            lines.append(f"[{ref}] {chunk.get('text') or chunk.get('content') or json.dumps(chunk)}")
        else:
            lines.append(f"[{i}] {chunk}")
    return "\n".join(lines)


def render_prompt(template: str, question: Question, trace: Trace) -> str:
    """One pass over the known placeholders: trace text containing braces is never re-interpreted."""
    values = {
        "question": question.prompt,
        "key": question.key,
        "kind": question.kind,
        "allowed": allowed_values(question),
        "guidelines": question.guidelines or "(none)",
        "input": trace.input,
        "output": trace.output,
        "context": _context_text(trace.context),
    }
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


_FENCE_RE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_verdict(content: str | None, question: Question) -> tuple[Any, float | None, str]:
    """(value, confidence, rationale) from the model's reply; ValidationFailed says what is wrong."""
    text = _FENCE_RE.sub("", (content or "").strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            data = None
    if not isinstance(data, dict):
        raise ValidationFailed(f"reply is not a JSON object: {(content or '')[:200]!r}")
    if "value" not in data:
        raise ValidationFailed(f"reply has no 'value': {text[:200]!r}")
    value = question.check_answer(data["value"])
    confidence = data.get("confidence")
    if confidence is not None:
        if isinstance(confidence, bool):
            raise ValidationFailed(f"confidence {confidence!r} is not a number in 0..1")
        try:
            confidence = float(confidence)
        except (TypeError, ValueError):
            raise ValidationFailed(f"confidence {confidence!r} is not a number in 0..1") from None
        if not 0.0 <= confidence <= 1.0:
            raise ValidationFailed(f"confidence {confidence} is outside 0..1")
    rationale = data.get("rationale")
    return value, confidence, "" if rationale is None else str(rationale)


# --- one call ------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    trace_id: int
    question_key: str
    value: Any = None
    score: float | None = None
    confidence: float | None = None
    rationale: str | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    error: str | None = None


def _cost(litellm: Any, response: Any) -> float | None:
    try:
        hidden = getattr(response, "_hidden_params", {}) or {}
        if hidden.get("response_cost") is not None:
            return float(hidden["response_cost"])
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # noqa: BLE001 - unknown models raise; the cost is then unknown, not fatal
        return None


def _retry_after(exc: Exception) -> float | None:
    try:
        raw = exc.response.headers.get("retry-after")  # type: ignore[attr-defined]
        return min(float(raw), 30.0) if raw else None
    except Exception:  # noqa: BLE001
        return None


def _judge_one(
    call: dict[str, Any], question: Question, trace_id: int, *, max_retries: int, backoff_s: float
) -> _Outcome:
    """Runs in a worker thread: HTTP only, never the database."""
    litellm = _litellm()
    retryable = (
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIConnectionError,
    )
    out = _Outcome(trace_id=trace_id, question_key=question.key)
    for attempt in range(max_retries + 1):
        started = time.perf_counter()
        try:
            response = litellm.completion(**call)
        except litellm.Timeout:
            out.latency_ms = (time.perf_counter() - started) * 1000
            out.error = f"timeout after {call['timeout']} s (not retried)"
            return out
        except retryable as exc:
            out.latency_ms = (time.perf_counter() - started) * 1000
            out.error = f"{type(exc).__name__} after {attempt + 1} attempt(s): {str(exc)[:300]}"
            if attempt < max_retries:
                delay = _retry_after(exc) or backoff_s * 2**attempt
                time.sleep(delay + random.uniform(0, delay / 2))
            continue
        except Exception as exc:  # noqa: BLE001 - auth, bad request, anything: stored, never fatal
            out.latency_ms = (time.perf_counter() - started) * 1000
            out.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return out
        out.latency_ms = (time.perf_counter() - started) * 1000
        out.cost_usd = _cost(litellm, response)
        out.error = None
        try:
            content = response.choices[0].message.content
            out.value, out.confidence, out.rationale = parse_verdict(content, question)
            out.score = question.score(out.value)
        except ValidationFailed as exc:
            out.error = f"invalid verdict: {exc}"
        return out
    return out


def _supports_json_mode(litellm: Any, model: str) -> bool:
    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
        params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider) or []
        return "response_format" in params
    except Exception:  # noqa: BLE001 - unknown model: just ask for JSON in the prompt
        return False


# --- runs ----------------------------------------------------------------------------------------------


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
class _Task:
    trace_id: int
    question: Question
    prompt: str


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
                _Task(t.id, q, render_prompt(config.prompt_template, q, t))
                for t in traces
                for q in questions
                if (t.id, q.key) not in done
            ]
            cursor, n_traces = traces[-1].id, len(traces)
        if remaining is not None:
            remaining -= n_traces
        yield from tasks


def _store(engine: Engine, run_id: int, config_id: int, out: _Outcome) -> bool:
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
            row = row or JudgeVerdict(
                trace_id=out.trace_id, judge_config_id=config_id, question_key=out.question_key
            )
            for name in ("value", "score", "confidence", "rationale", "cost_usd", "latency_ms", "error"):
                setattr(row, name, getattr(out, name))
            row.judge_run_id, row.created_at = run_id, utcnow()
            session.add(row)
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
    with read_session(engine) as session:
        cfg = (
            get_judge_config(session, config)
            if isinstance(config, str)
            else session.get(JudgeConfig, config.id)
        )
        if cfg is None:
            raise NotFound("judge config is not in this database")
        questions = rubric_store.spec_of(rubric_store.get(session, cfg.rubric_id)).questions
        session.expunge(cfg)  # keep its loaded values usable after the read session ends
    if mock_response is None and api_key is None:
        ready, message = provider_ready(cfg)
        if not ready:
            raise ValidationFailed(message)
    litellm = _litellm()
    base_call: dict[str, Any] = {**cfg.params, "model": cfg.model, "timeout": timeout_s, "max_retries": 0}
    if cfg.api_base:
        base_call["api_base"] = cfg.api_base
    if api_key is not None:
        base_call["api_key"] = api_key
    elif cfg.api_base and not os.environ.get(PROVIDER_KEYS.get(cfg.model.split("/", 1)[0], ""), ""):
        base_call["api_key"] = "not-needed"  # self-hosted servers ignore it; the OpenAI client insists on one
    if mock_response is not None:
        base_call["mock_response"] = mock_response
    elif _supports_json_mode(litellm, cfg.model):
        base_call["response_format"] = {"type": "json_object"}

    with session_scope(engine) as session:
        run = JudgeRun(
            judge_config_id=cfg.id, budget_usd=budget_usd, triggered_by=actor.username, scheduled=scheduled
        )
        session.add(run)
        session.flush()
        run_id = run.id
    report = JudgeRunReport(run_id=run_id, config=label_of(cfg), budget_usd=budget_usd)
    traces_seen: set[int] = set()
    tasks = _pending_tasks(
        engine, cfg, questions, limit=limit, trace_ids=trace_ids, retry_errors=retry_errors
    )
    pending: set[Future[_Outcome]] = set()
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
                    call = {
                        **base_call,
                        "messages": [
                            {
                                "role": "system",
                                "content": f"{SYSTEM_PROMPT} The value must be {allowed_values(task.question)}.",
                            },
                            {"role": "user", "content": task.prompt},
                        ],
                    }
                    pending.add(
                        pool.submit(
                            _judge_one,
                            call,
                            task.question,
                            task.trace_id,
                            max_retries=max_retries,
                            backoff_s=backoff_s,
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


def _account(report: JudgeRunReport, out: _Outcome, stored: bool) -> None:
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


# --- reads ---------------------------------------------------------------------------------------------


def verdicts_for_trace(session: Session, *, trace_id: int) -> list[dict[str, Any]]:
    """Every judge verdict on one trace (newest config versions first), as plain dicts for the pages."""
    query = (
        select(JudgeVerdict, JudgeConfig.name, JudgeConfig.version)
        .join(JudgeConfig, and_(col(JudgeConfig.id) == JudgeVerdict.judge_config_id))
        .where(JudgeVerdict.trace_id == trace_id)
        .order_by(col(JudgeConfig.name), col(JudgeConfig.version).desc(), col(JudgeVerdict.question_key))
    )
    return [
        {
            "config": f"{name}@{version}",
            "judge_config_id": v.judge_config_id,
            "question": v.question_key,
            "value": v.value,
            "score": v.score,
            "confidence": v.confidence,
            "rationale": v.rationale,
            "error": v.error,
            "cost_usd": v.cost_usd,
            "latency_ms": v.latency_ms,
            "created_at": v.created_at,
        }
        for v, name, version in session.exec(query).all()
    ]
