"""Talking to the judge model through litellm: prompt rendering, reply parsing, one call with retries,
provider readiness and cost. HTTP only, never the database, so it runs in worker threads.

Prompt template placeholders (anything else in braces is left alone, so JSON examples are fine):
{question} {key} {kind} {allowed} {guidelines} {input} {output} {context}.

Failure policy: rate limits (HTTP 429), 5xx and connection errors are retried with exponential backoff
and jitter up to `max_retries`; a timeout is stored at once as an error verdict (a hung server rarely
recovers, and retrying would multiply the wait); auth and bad-request errors are not retried.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from review_store.errors import ValidationFailed
from review_store.models import JudgeConfig, Trace
from review_store.rubrics import Question

PLACEHOLDERS = ("question", "key", "kind", "allowed", "guidelines", "input", "output", "context")
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")

# Fast path for provider_ready: the common providers' key variables, without importing litellm.
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
}

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


# --- templates and prompts -----------------------------------------------------------------------------


def check_template(template: str) -> None:
    """ValidationFailed when the template has an unknown placeholder or lacks {output}/{question}."""
    unknown = sorted({m for m in PLACEHOLDER_RE.findall(template) if m not in PLACEHOLDERS})
    if unknown:
        raise ValidationFailed(
            f"prompt template: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )
    for needed in ("question", "output"):
        if "{" + needed + "}" not in template:
            raise ValidationFailed(f"prompt template: must contain {{{needed}}}")


def allowed_values(question: Question) -> str:
    if question.kind == "rating":
        scale = f"a whole number from {question.min} to {question.max}"
        if question.anchors:  # the judge reads the same scale points reviewers see
            scale += " (" + "; ".join(f"{point} = {text}" for point, text in question.anchors) + ")"
        return scale
    if question.kind == "label":
        return "one of " + ", ".join(json.dumps(o) for o in question.options)
    if question.kind == "multi_label":
        return "a list of any of " + ", ".join(json.dumps(o) for o in question.options)
    return "free text"


def context_text(context: list[dict[str, Any]] | None) -> str:
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
        "context": context_text(trace.context),
    }
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


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


# --- provider and one call ------------------------------------------------------------------------------


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
    litellm = load_litellm()
    try:
        check = litellm.validate_environment(config.model)
    except Exception as exc:  # noqa: BLE001 - litellm raises many types for unknown models
        return False, f"cannot tell whether {config.model} is configured: {exc}"
    if check.get("keys_in_environment"):
        return True, f"provider environment for {config.model} is set"
    missing = ", ".join(check.get("missing_keys") or []) or "the provider's API key"
    return False, f"no API key for {config.model}: set {missing} in the environment of the app or CLI"


def load_litellm() -> Any:
    """litellm, imported lazily (a slow import) with the local cost map and quiet debug output."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


@dataclass
class Outcome:
    """What one call produced: the fields a JudgeVerdict stores (error set on any failure)."""

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


def call_judge(
    call: dict[str, Any],
    question: Question,
    trace_id: int,
    *,
    max_retries: int,
    backoff_s: float,
    parse: Any = None,
) -> Outcome:
    """Runs in a worker thread: HTTP only, never the database. `parse(content, question)` reads the reply
    into (value, confidence, rationale) (default: parse_verdict)."""
    litellm = load_litellm()
    retryable = (
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIConnectionError,
    )
    out = Outcome(trace_id=trace_id, question_key=question.key)
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
            out.value, out.confidence, out.rationale = (parse or parse_verdict)(content, question)
            out.score = question.score(out.value)
        except ValidationFailed as exc:
            out.error = f"invalid verdict: {exc}"
        return out
    return out


def supports_json_mode(litellm: Any, model: str) -> bool:
    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
        params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider) or []
        return "response_format" in params
    except Exception:  # noqa: BLE001 - unknown model: just ask for JSON in the prompt
        return False


def base_call(
    config: JudgeConfig, *, timeout_s: float, api_key: str | None, mock_response: str | None
) -> dict[str, Any]:
    """litellm.completion kwargs shared by every call of a run (the messages are added per task).

    litellm's own retries are off (`max_retries` 0): call_judge retries with its own policy.
    """
    call: dict[str, Any] = {**config.params, "model": config.model, "timeout": timeout_s, "max_retries": 0}
    if config.api_base:
        call["api_base"] = config.api_base
    if api_key is not None:
        call["api_key"] = api_key
    elif config.api_base and not os.environ.get(PROVIDER_KEYS.get(config.model.split("/", 1)[0], ""), ""):
        call["api_key"] = "not-needed"  # self-hosted servers ignore it; the OpenAI client insists on one
    if mock_response is not None:
        call["mock_response"] = mock_response
    elif supports_json_mode(load_litellm(), config.model):
        call["response_format"] = {"type": "json_object"}
    return call


def messages(question: Question, prompt: str) -> list[dict[str, str]]:
    """System prompt naming the allowed values, then the rendered user prompt."""
    return [
        {"role": "system", "content": f"{SYSTEM_PROMPT} The value must be {allowed_values(question)}."},
        {"role": "user", "content": prompt},
    ]
