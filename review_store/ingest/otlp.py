"""OTLP spans -> trace records, the same dicts a JSONL line holds, so one validator checks both.

Spans are grouped by traceId within one request/document; one record per LLM span (OpenInference
``openinference.span.kind=LLM`` or ``gen_ai.*`` chat/completion spans). Which attribute becomes which
field is the README's "OTLP mapping" table. A retriever or guardrail span belongs to its nearest LLM
ancestor; without one, to the LLM span of the same trace whose start time is closest. Spans of one trace
split across several lines are not joined: the Collector writes whole batches, and joining would need the
whole file in memory. Reading the documents and spans is `review_store.ingest.otlp_spans`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from review_store.ingest.otlp_spans import Span, attr_value, is_guardrail, iter_documents, spans_of, when

__all__ = ["attr_value", "iter_documents", "records_of", "spans_of", "unowned"]

_DOC_ATTR = re.compile(r"retrieval\.documents\.(\d+)\.document\.(\w+)$")
_MSG_ATTR = re.compile(
    r"(gen_ai\.prompt|gen_ai\.completion|llm\.input_messages|llm\.output_messages)\.(\d+)\.(.+)$"
)
_MSG_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.")
_MAPPED = {
    "gen_ai.response.model", "llm.model_name", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
    "llm.token_count.prompt", "llm.token_count.completion", "gen_ai.usage.cost", "llm.cost.total",
    "gen_ai.prompt", "gen_ai.completion", "input.value", "output.value", "gen_ai.input.messages",
    "gen_ai.output.messages", "llm.prompt_template.version", "openinference.span.kind",
    *"user.id enduser.id tenant.id".split(),
}  # fmt: skip
# who the traffic was for: the span's attribute, else the resource's (an SDK per tenant sets it there).
# user.id: OpenTelemetry's user semantic conventions and OpenInference; enduser.id: the older OTel name.
END_USER_ATTRIBUTES = ("user.id", "enduser.id")
TENANT_ATTRIBUTES = ("tenant.id",)


def _party(rd: dict[str, Any], key: str, span: Span, names: tuple[str, ...]) -> Any:
    """review_desk.<key>, else the first of `names` on the span, else on the resource."""
    return _first(
        rd.pop(key, None), *(span.attrs.get(n) for n in names), *(span.resource.get(n) for n in names)
    )


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _message_text(message: Any) -> str | None:
    if not isinstance(message, dict):
        return message if isinstance(message, str) else None
    if isinstance(message.get("content"), str):
        return message["content"]
    if isinstance(message.get("message"), dict):
        return _message_text(message["message"])
    parts = [
        p.get("content")
        for p in message.get("parts") or []
        if isinstance(p, dict) and p.get("type", "text") == "text"
    ]
    texts = [p for p in parts if isinstance(p, str)]
    return "\n".join(texts) if texts else None


def _indexed_messages(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        m = _MSG_ATTR.match(key)
        if m and m[1] == prefix:
            sub = m[3].removeprefix("message.")
            found.setdefault(int(m[2]), {})[sub] = value
    return [found[i] for i in sorted(found)]


def _input_text(span: Span) -> str | None:
    a = span.attrs
    for key in ("gen_ai.prompt", "input.value"):
        if isinstance(a.get(key), str):
            return a[key]
    messages = _json(a.get("gen_ai.input.messages"))
    if not isinstance(messages, list):
        messages = _indexed_messages(a, "gen_ai.prompt") or _indexed_messages(a, "llm.input_messages")
    users = [m for m in messages if isinstance(m, dict) and m.get("role", "user") == "user"]
    if users:
        return _message_text(users[-1])
    for name, _, attrs in reversed(span.events):
        if name == "gen_ai.user.message":
            return _event_text(attrs)
    return None


def _output_text(span: Span) -> str | None:
    a = span.attrs
    for key in ("gen_ai.completion", "output.value"):
        if isinstance(a.get(key), str):
            return a[key]
    messages = _json(a.get("gen_ai.output.messages"))
    if not isinstance(messages, list):
        messages = _indexed_messages(a, "gen_ai.completion") or _indexed_messages(a, "llm.output_messages")
    if messages:
        return _message_text(messages[0])
    for name, _, attrs in span.events:
        if name in ("gen_ai.choice", "gen_ai.assistant.message"):
            return _event_text(attrs)
    return None


def _event_text(attrs: dict[str, Any]) -> str | None:
    for key in ("content", "message", "gen_ai.event.content"):
        if key in attrs:
            value = attrs[key]
            parsed = _json(value) if isinstance(value, str) and value[:1] in "{[" else value
            return _message_text(parsed) if not isinstance(parsed, str) else parsed
    return None


def _documents(span: Span) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for key, value in span.attrs.items():
        m = _DOC_ATTR.match(key)
        if m:
            found.setdefault(int(m[1]), {})[m[2]] = value
    docs = [
        {"id": d.get("id"), "score": d.get("score"), "text": d.get("content", "")}
        | ({"metadata": d["metadata"]} if "metadata" in d else {})
        for _, d in sorted(found.items())
    ]
    extra = _json(span.attrs.get("gen_ai.retrieval.documents"))
    if isinstance(extra, list):
        for d in extra:
            if isinstance(d, dict):
                docs.append(
                    {"id": d.get("id"), "score": d.get("score"), "text": d.get("content", d.get("text", ""))}
                )
    return docs


def _guardrail(name: str, ts: int | None, attrs: dict[str, Any], llm: Span) -> dict[str, Any] | None:
    action = attrs.get("guardrail.action")
    if action is None:
        if attrs.get("guardrail.triggered") is not True:
            return None  # the guardrail ran and passed
        action = "flagged"
    stage = attrs.get("guardrail.stage")
    if stage is None:
        stage = "input" if ts is not None and llm.start_ns is not None and ts < llm.start_ns else "output"
    return {
        "name": attrs.get("guardrail.name") or name,
        "stage": stage,
        "action": action,
        "score": attrs.get("guardrail.score"),
        "timestamp": when(ts),
    }


def _owner(span: Span, llms: list[Span], by_id: dict[str, Span]) -> Span | None:
    """The nearest LLM ancestor, else the LLM span of the trace whose start is closest."""
    llm_ids = {s.span_id: s for s in llms}
    parent, hops = span.parent_id, 0
    while parent and hops < 1000:
        if parent in llm_ids:
            return llm_ids[parent]
        parent, hops = (by_id[parent].parent_id if parent in by_id else ""), hops + 1
    if not llms:
        return None
    start = span.start_ns or 0
    return min(llms, key=lambda s: (abs((s.start_ns or 0) - start), s.start_ns or 0))


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def records_of(spans: list[Span]) -> Iterator[tuple[dict[str, Any], list[tuple[str, str]]]]:
    """One trace record per LLM span, with its context and guardrail events, plus mapping problems."""
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    for trace_spans in by_trace.values():
        by_id = {s.span_id: s for s in trace_spans}
        llms = [s for s in trace_spans if s.kind == "llm"]
        context: dict[str, list[dict[str, Any]]] = {s.span_id: [] for s in llms}
        guards: dict[str, list[dict[str, Any]]] = {s.span_id: [] for s in llms}
        for span in trace_spans:
            if span.kind in ("retriever", "guardrail"):
                owner = _owner(span, llms, by_id)
                if owner is not None and span.kind == "retriever":
                    context[owner.span_id].extend(_documents(span))
                elif owner is not None:
                    event = _guardrail(span.name, span.start_ns, span.attrs, owner)
                    guards[owner.span_id] += [event] if event else []
            for name, ts, attrs in span.events:
                owner = span if span.kind == "llm" else _owner(span, llms, by_id)
                if owner is not None and is_guardrail(name, attrs):
                    event = _guardrail(name, ts or span.start_ns, attrs, owner)
                    guards[owner.span_id] += [event] if event else []
        for span in llms:
            yield _record(span, context[span.span_id], guards[span.span_id])


def unowned(spans: list[Span]) -> list[Span]:
    """The retriever and guardrail spans `records_of` cannot attach: no LLM span of their trace is among
    `spans`, so what they carry (documents, guardrail verdicts) is not stored."""
    with_llm = {s.trace_id for s in spans if s.kind == "llm"}
    return [s for s in spans if s.kind in ("retriever", "guardrail") and s.trace_id not in with_llm]


def _record(
    span: Span, context: list[dict[str, Any]], guards: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    a, problems = span.attrs, []
    where = f"LLM span {span.name!r} ({span.span_id})"
    text_in, text_out = _input_text(span), _output_text(span)
    if text_in is None:
        problems.append(
            (
                "input",
                f"{where} carries no prompt (gen_ai.prompt, gen_ai.input.messages, input.value or a gen_ai.user.message event)",
            )
        )
    if text_out is None:
        problems.append(
            (
                "output",
                f"{where} carries no completion (gen_ai.completion, gen_ai.output.messages, output.value or a gen_ai.choice event)",
            )
        )
    if span.start_ns is None:
        problems.append(("timestamp", f"{where} has no startTimeUnixNano"))
    latency = (span.end_ns - span.start_ns) / 1e6 if span.start_ns and span.end_ns else None
    rd = {k.removeprefix("review_desk."): v for k, v in a.items() if k.startswith("review_desk.")}
    rest = {
        k: v
        for k, v in a.items()
        if k not in _MAPPED
        and not k.startswith("review_desk.")
        and not (k.startswith(_MSG_PREFIXES) and _MSG_ATTR.match(k))
    }
    model = _first(a.get("gen_ai.response.model"), a.get("gen_ai.request.model"), a.get("llm.model_name"))
    if model is not None and rest.get("gen_ai.request.model") == model:  # kept in meta only when it differs
        rest.pop(
            "gen_ai.request.model"
        )  # (alias vs pinned id); a span with no model at all has nothing to pop
    record = {
        "trace_id": f"{span.trace_id}:{span.span_id}",
        "timestamp": when(span.start_ns),
        "input": text_in,
        "output": text_out,
        "app": _first(span.resource.get("service.name"), rd.pop("app", None)),
        "release": _first(rd.pop("release", None), span.resource.get("service.version")),
        "model": model,
        "tokens_in": _first(
            a.get("gen_ai.usage.input_tokens"),
            a.get("gen_ai.usage.prompt_tokens"),
            a.get("llm.token_count.prompt"),
        ),
        "tokens_out": _first(
            a.get("gen_ai.usage.output_tokens"),
            a.get("gen_ai.usage.completion_tokens"),
            a.get("llm.token_count.completion"),
        ),
        "cost_usd": _first(a.get("gen_ai.usage.cost"), a.get("llm.cost.total")),
        "latency_ms": latency,
        "prompt_version": _first(rd.pop("prompt_version", None), a.get("llm.prompt_template.version")),
        "end_user": _party(rd, "end_user", span, END_USER_ATTRIBUTES),
        "tenant": _party(rd, "tenant", span, TENANT_ATTRIBUTES),
        "context": context,
        "guardrails": guards,
        "meta": {
            "otel": {
                "trace_id": span.trace_id,
                "span_id": span.span_id,
                "parent_span_id": span.parent_id or None,
                "name": span.name,
                "status": span.status or None,
                "attributes": rest,
            }
        },
    }
    for key in ("segment", "user_feedback", "task_success", "cache_hit", "ttft_ms", "shadow_of"):
        if key in rd:
            record[key] = rd.pop(key)
    return record, problems
