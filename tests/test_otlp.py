"""OTLP-JSON in: spans made by the real opentelemetry-sdk, encoded by the official OTLP encoder."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import orjson
import pytest
from google.protobuf.json_format import MessageToDict, MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id, set_span_in_context
from sqlmodel import select

from review_store.db import read_session
from review_store.ingest import detect_format, ingest_file
from review_store.ingest.otlp import attr_value
from review_store.models import GuardrailEvent, Trace

T0 = 1_767_614_400_000_000_000  # 2026-01-05T12:00:00Z in ns
EPOCH = datetime(1970, 1, 1)
DOCS = [
    ("policy-refunds-3", 0.82, "Refunds are accepted within 30 days."),
    ("policy-shipping-1", 0.41, "We ship in 2 days."),
]


def ms(n: float) -> int:
    return T0 + int(n * 1_000_000)


def when(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


@pytest.fixture
def spans():
    """Three traces: GenAI chat with a retriever child and guardrails, OpenInference LLM, GenAI events."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "acme-support", "service.version": "r2"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("review-desk-test")

    chat = tracer.start_span("chat gpt-4o-mini", start_time=ms(0))
    chat.set_attributes(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": 512,
            "gen_ai.usage.output_tokens": 64,
            "gen_ai.prompt": "Can I still return my order from 40 days ago?",
            "gen_ai.completion": "Yes, refunds are accepted within 60 days.",
            "gen_ai.request.temperature": 0.2,
            "review_desk.segment": "refunds",
            "review_desk.prompt_version": "support-v3",
        }
    )
    chat.add_event(
        "guardrail",
        {"guardrail.name": "pii", "guardrail.stage": "input", "guardrail.action": "redacted"},
        ms(1),
    )
    inside = set_span_in_context(chat)
    retriever = tracer.start_span("retrieve policies", context=inside, start_time=ms(2))
    retriever.set_attribute("openinference.span.kind", "RETRIEVER")
    for i, (doc_id, score, content) in enumerate(DOCS):
        retriever.set_attribute(f"retrieval.documents.{i}.document.id", doc_id)
        retriever.set_attribute(f"retrieval.documents.{i}.document.score", score)
        retriever.set_attribute(f"retrieval.documents.{i}.document.content", content)
    retriever.end(end_time=ms(30))
    guard = tracer.start_span("guardrail grounding", context=inside, start_time=ms(900))
    guard.set_attributes(
        {"guardrail.name": "grounding", "guardrail.action": "flagged", "guardrail.score": 0.35}
    )
    guard.end(end_time=ms(950))
    passed = tracer.start_span(
        "guardrail toxicity", context=inside, start_time=ms(960)
    )  # no action: it passed
    passed.end(end_time=ms(970))
    chat.end(end_time=ms(1234.5))

    chain = tracer.start_span("rag pipeline", start_time=ms(5000))
    chain.set_attribute("openinference.span.kind", "CHAIN")
    in_chain = set_span_in_context(chain)
    oi_retriever = tracer.start_span("retriever", context=in_chain, start_time=ms(5001))
    oi_retriever.set_attributes(
        {
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.id": "faq-7",
            "retrieval.documents.0.document.score": 0.9,
            "retrieval.documents.0.document.content": "Reset your password from the login page.",
        }
    )
    oi_retriever.end(end_time=ms(5040))
    embed = tracer.start_span("embeddings", context=in_chain, start_time=ms(5000))
    embed.set_attributes(
        {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small"}
    )
    embed.end(end_time=ms(5001))
    oi = tracer.start_span("ChatCompletion", context=in_chain, start_time=ms(5050))
    oi.set_attributes(
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "claude-3-5-haiku-20241022",
            "llm.token_count.prompt": 300,
            "llm.token_count.completion": 45,
            "input.value": "How do I reset my password?",
            "output.value": "Use 'Forgot password' on the login page.",
            "llm.prompt_template.version": "faq-v1",
        }
    )
    oi.end(end_time=ms(5850))
    chain.end(end_time=ms(5900))

    events = tracer.start_span("chat mistral", start_time=ms(9000))
    events.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "mistral-small"})
    events.add_event("gen_ai.user.message", {"content": "Cancel my subscription"}, ms(9000))
    events.add_event(
        "gen_ai.choice",
        {"index": 0, "message": json.dumps({"role": "assistant", "content": "Done."})},
        ms(9400),
    )
    events.end(end_time=ms(9400))
    return exporter.get_finished_spans(), {"chat": chat, "oi": oi, "events": events}


def ext_id(span) -> str:
    ctx = span.get_span_context()
    return f"{format_trace_id(ctx.trace_id)}:{format_span_id(ctx.span_id)}"


def to_hex_ids(doc):
    """The Collector's OTLP/JSON spelling: trace and span ids as hex, not base64."""
    import base64

    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return doc


def load(engine):
    with read_session(engine) as session:
        traces = {t.external_id: t for t in session.exec(select(Trace)).all()}
        events = session.exec(select(GuardrailEvent)).all()
        session.expunge_all()
    return traces, events


@pytest.mark.parametrize("style", ["lines", "pretty", "collector_hex", "snake_case"])
def test_spans_become_traces_with_their_context_and_guardrails(engine, tmp_path, spans, style):
    finished, named = spans
    request = encode_spans(finished)
    path = tmp_path / "export.otlp.json"
    if style == "lines":  # two requests, one per line, as the file exporter writes them
        first, second = encode_spans(finished[:4]), encode_spans(finished[4:])
        path.write_text(MessageToJson(first, indent=None) + "\n" + MessageToJson(second, indent=None) + "\n")
    elif style == "pretty":
        path.write_text(MessageToJson(request, indent=2))
    elif style == "collector_hex":
        path.write_bytes(orjson.dumps(to_hex_ids(MessageToDict(request))) + b"\n")
    else:
        path.write_text(json.dumps(MessageToDict(request, preserving_proto_field_name=True)))
    assert detect_format(path) == "otlp"
    report = ingest_file(engine, path=path, format="otlp")
    assert report.ok, report.problem_lines()
    assert (report.inserted, report.guardrail_events) == (3, 2)

    traces, events = load(engine)
    chat = traces[ext_id(named["chat"])]
    attrs = named["chat"].attributes
    assert chat.ts == when(named["chat"].start_time) == datetime(2026, 1, 5, 12, 0)
    assert (
        chat.latency_ms == pytest.approx((named["chat"].end_time - named["chat"].start_time) / 1e6) == 1234.5
    )
    assert (chat.model, chat.tokens_in, chat.tokens_out) == (
        attrs["gen_ai.response.model"],
        attrs["gen_ai.usage.input_tokens"],
        attrs["gen_ai.usage.output_tokens"],
    )
    assert (chat.input, chat.output) == (attrs["gen_ai.prompt"], attrs["gen_ai.completion"])
    assert (chat.app, chat.release, chat.segment, chat.prompt_version) == (
        "acme-support",
        "r2",
        "refunds",
        "support-v3",
    )
    assert chat.context == [{"id": d, "score": s, "text": c} for d, s, c in DOCS]
    assert chat.top_retrieval_score == 0.82
    otel = chat.meta["otel"]
    assert otel["span_id"] == format_span_id(named["chat"].get_span_context().span_id)
    assert otel["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
    }
    guard = sorted((e.name, e.stage, e.action, e.score, e.segment, e.release, e.trace_id) for e in events)
    assert guard == [
        ("grounding", "output", "flagged", 0.35, "refunds", "r2", chat.id),
        ("pii", "input", "redacted", None, "refunds", "r2", chat.id),
    ]

    oi = traces[ext_id(named["oi"])]
    oi_attrs = named["oi"].attributes
    assert (oi.model, oi.tokens_in, oi.tokens_out, oi.input, oi.output, oi.prompt_version) == (
        oi_attrs["llm.model_name"],
        oi_attrs["llm.token_count.prompt"],
        oi_attrs["llm.token_count.completion"],
        oi_attrs["input.value"],
        oi_attrs["output.value"],
        oi_attrs["llm.prompt_template.version"],
    )
    assert oi.context == [{"id": "faq-7", "score": 0.9, "text": "Reset your password from the login page."}]
    assert oi.latency_ms == 800.0 and oi.ts == datetime(2026, 1, 5, 12, 0, 5, 50000)

    ev = traces[ext_id(named["events"])]
    assert (ev.input, ev.output, ev.model, ev.context) == (
        "Cancel my subscription",
        "Done.",
        "mistral-small",
        [],
    )

    again = ingest_file(engine, path=path, format="otlp")
    assert (again.inserted, again.unchanged) == (0, 3)


def test_genai_message_attributes_and_missing_content(engine, tmp_path, pinned_clock):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4.1")
        span.set_attribute(
            "gen_ai.input.messages",
            json.dumps(
                [
                    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                    {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]},
                ]
            ),
        )
        span.set_attribute(
            "gen_ai.output.messages",
            json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "On its way."}]}]),
        )
    with tracer.start_as_current_span("chat") as bare:
        bare.set_attribute("gen_ai.request.model", "gpt-4.1")  # content capture off: nothing to review
    path = tmp_path / "spans.json"
    finished = exporter.get_finished_spans()
    path.write_text(MessageToJson(encode_spans(finished), indent=None))
    # the SDK stamps spans with the real time: import as of then (the future tolerance reads the clock)
    pinned_clock.set(datetime(1970, 1, 1) + timedelta(microseconds=max(s.end_time for s in finished) // 1000))
    report = ingest_file(engine, path=path, on_error="skip")
    assert (report.inserted, report.rejected) == (1, 1)
    assert [p.field for p in report.errors] == ["input", "output"]
    assert "carries no prompt" in report.errors[0].message and format_span_id(
        bare.get_span_context().span_id
    ) in str(report.errors[0])
    traces, _ = load(engine)
    [trace] = traces.values()
    assert (trace.input, trace.output, trace.model) == ("Where is my parcel?", "On its way.", "gpt-4.1")


def test_attribute_values():
    assert attr_value({"intValue": "9007199254740993"}) == 9007199254740993
    assert attr_value({"doubleValue": 0.5}) == 0.5 and attr_value({"boolValue": True}) is True
    assert attr_value({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}) == ["a", 2]
    assert attr_value({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}) == {
        "k": "v"
    }
    assert attr_value({}) is None


def test_not_otlp_is_reported(tmp_path):
    from review_store.ingest import validate_file

    path = tmp_path / "x.otlp.json"
    path.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "a"}]}]}]}\n{oops\n[1]\n')
    report = validate_file(path=path)
    assert [(p.line, p.field) for p in report.errors] == [(2, "json"), (3, "otlp")]
