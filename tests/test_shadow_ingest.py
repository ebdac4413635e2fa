"""Shadow traces (`shadow_of`): one mapping for file ingest and OTLP (`review_desk.shadow_of`), checked with
`file:line: field: message` errors, stored on the trace, and kept out of the traffic rollups (whole hours,
raw edges and a rebuild agree), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from review_store.dashboards.common import Filters
from review_store.db import read_session
from review_store.ingest import ingest_file
from review_store.models import Trace
from review_store.rollups import read
from review_store.rollups.rebuild import rebuild
from tests.test_rollups import snapshot

START = datetime(2026, 5, 1, 9, 0)


def prod(i: int, **extra) -> dict:
    ts = START + timedelta(minutes=7 * i)
    return {
        "trace_id": f"p{i}", "timestamp": ts.isoformat() + "Z", "input": f"q{i}", "output": "old answer",
        "release": "r2", "segment": "billing", "latency_ms": 100.0 + i, "tokens_in": 10, "cost_usd": 0.001,
        "guardrails": [{"name": "pii", "stage": "output", "action": "flagged"}] if i % 2 else [],
        **extra,
    }  # fmt: skip


def shadow(i: int, **extra) -> dict:
    return {**prod(i), "trace_id": f"s{i}", "shadow_of": f"p{i}", "release": "r3", "output": "new", **extra}


def write(path, recs) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


def test_shadow_of_is_stored_and_stays_out_of_the_traffic_rollups(engine, tmp_path):
    recs = [prod(i) for i in range(20)] + [shadow(i) for i in range(20)]
    report = ingest_file(engine, path=write(tmp_path / "t.jsonl", recs))
    assert report.inserted == 40
    with read_session(engine) as session:
        rows = dict(session.exec(select(Trace.external_id, Trace.shadow_of)).all())
        assert rows["s3"] == "p3" and rows["p3"] is None
        whole = Filters(START, START + timedelta(hours=3))
        edge = Filters(START + timedelta(minutes=5), START + timedelta(minutes=50))  # raw rows only
        traces = read.traffic_sum("traces")
        assert read.one(read.totals(session, "traffic", whole), "traffic")[traces] == 20
        assert (
            read.one(read.totals(session, "traffic", edge), "traffic")[traces] == 7
        )  # p1..p7 (s1..s7 share their times)
        by_release = read.totals(session, "traffic", whole, by=("release",))
        assert set(by_release) == {("r2",)}  # the candidate's shadow traffic is not production traffic
        assert read.one(read.totals(session, "guard", whole), "guard")[0] == 10  # p1, p3, ..., p19
        assert read.one(read.totals(session, "guard", edge), "guard")[0] == 4  # p1, p3, p5, p7
        value = read.totals(session, "value", edge, by=("metric",))
        assert value[("latency",)][0] == 7
    with engine.connect() as conn:
        kept = snapshot(conn)
    with engine.begin() as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert snapshot(conn) == kept
    # --update turning production traces into shadows takes them (and their events) out of the rollups
    turned = [prod(i, shadow_of="p0", release="r3") for i in (1, 2)]
    ingest_file(engine, path=write(tmp_path / "u.jsonl", turned), update=True)
    with read_session(engine) as session:
        whole = Filters(START, START + timedelta(hours=3))
        assert read.one(read.totals(session, "traffic", whole), "traffic")[read.traffic_sum("traces")] == 18
        assert read.one(read.totals(session, "guard", whole), "guard")[0] == 9
    with engine.connect() as conn:
        kept = snapshot(conn)
    with engine.begin() as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert snapshot(conn) == kept


def test_bad_shadow_of_names_file_line_and_field(engine, tmp_path):
    recs = [prod(0), shadow(0, shadow_of="s0"), shadow(1, release=""), shadow(2, shadow_of="x" * 201)]
    path = write(tmp_path / "bad.jsonl", recs)
    report = ingest_file(engine, path=path)
    assert report.aborted
    lines = report.problem_lines()
    assert f"{path}:2: shadow_of: 's0' is this trace's own id; a shadow answers another trace" in lines
    assert f"{path}:3: release: a shadow trace (shadow_of set) must name its candidate release" in lines
    assert f"{path}:4: shadow_of: 201 characters; the limit is 200" in lines
    with read_session(engine) as session:
        assert session.exec(select(Trace.id)).all() == []


def test_otlp_attribute_review_desk_shadow_of(engine, tmp_path, pinned_clock):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4.1")
        span.set_attribute("gen_ai.prompt", "Where is my parcel?")
        span.set_attribute("gen_ai.completion", "On its way (candidate).")
        span.set_attribute("review_desk.release", "r3")
        span.set_attribute("review_desk.shadow_of", "prod-trace-17")
    path = tmp_path / "spans.json"
    finished = exporter.get_finished_spans()
    path.write_text(MessageToJson(encode_spans(finished), indent=None))
    pinned_clock.set(datetime(1970, 1, 1) + timedelta(microseconds=max(s.end_time for s in finished) // 1000))
    report = ingest_file(engine, path=path)
    assert report.inserted == 1
    with read_session(engine) as session:
        [trace] = session.scalars(select(Trace)).all()
        assert (trace.release, trace.shadow_of) == ("r3", "prod-trace-17")
        assert "review_desk.shadow_of" not in trace.meta["otel"]["attributes"]
