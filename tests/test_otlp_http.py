"""POST /v1/traces: uvicorn on a loopback port, fed by the real OpenTelemetry SDK OTLP/HTTP exporter.

Checks what a team relies on: spans stored with their context, guardrails and cost; acknowledged only
once committed; an exporter's retry never duplicates (even across a SIGKILL of the server); partial
success names the rejected spans; 413, 401/403, 400/415 and a full queue (503 + Retry-After, honoured
by the exporter) store nothing. The store side (`desk.ingest.import_spans`) also runs on PostgreSQL.
"""

from __future__ import annotations

import base64
import gzip
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id, set_span_in_context
from sqlalchemy import text

from review_store.clock import FixedClock
from review_store.desk import SYSTEM, Desk
from review_store.ingest import costs

ROOT = Path(__file__).resolve().parent.parent
PROTO, JSON = "application/x-protobuf", "application/json"
DAY_NS = 86_400 * 10**9
TEST_NOW = datetime(2026, 6, 1, 12)  # the clock of the users and keys made in the test process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    db: Path
    port: int
    log: Path
    env: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def start(self) -> None:
        env = {**os.environ, "REVIEW_STORE_URL": self.url, **self.env}
        env.pop("REVIEW_DESK_TOKEN", None)
        log = open(self.log, "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "review_store.cli", "api", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 300  # its start imports litellm: ~14 s of CPU, over a minute at load 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(signal.SIGKILL)  # no server left behind on its port
                raise RuntimeError(f"the receiver did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def post(self, body: bytes, *, kind: str = PROTO, key: str | None = "lead", headers: dict | None = None):
        """(status, headers, body) of one raw POST."""
        sent = {"Content-Type": kind, **(headers or {})}
        if key is not None:
            sent["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        request = urllib.request.Request(self.endpoint, data=body, headers=sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def exporter(self, key: str = "lead", **options) -> OTLPSpanExporter:
        return OTLPSpanExporter(
            endpoint=self.endpoint, headers={"Authorization": f"Bearer {self.keys[key]}"}, **options
        )

    def rows(self, sql: str) -> list[tuple]:
        """A plain sqlite3 read (WAL: it does not wait for a writer holding the lock)."""
        conn = sqlite3.connect(self.db)
        try:
            return [tuple(r) for r in conn.execute(sql)]
        finally:
            conn.close()


def _server(folder: Path, **env: str) -> Server:
    server = Server(folder / "store.db", free_port(), folder / "server.log", env)
    desk = Desk.open(server.url, migrate=True, clock=FixedClock(TEST_NOW))
    desk.users.add(actor=SYSTEM, username="lee", role="lead")
    desk.users.add(actor=SYSTEM, username="rita", role="reviewer")
    for name, user in (("lead", "lee"), ("reviewer", "rita")):
        server.keys[name] = desk.apikeys.create(actor=SYSTEM, username=user, label="otlp").secret
    revoked = desk.apikeys.create(actor=SYSTEM, username="lee", label="old collector")
    desk.apikeys.revoke(actor=SYSTEM, key_id=revoked.token.id)
    server.keys["revoked"] = revoked.secret
    personal = desk.users.issue_token(actor=SYSTEM, username="lee", label="laptop")
    server.keys["personal"] = personal.secret  # a CLI token is not an API key
    desk.engine.dispose()
    return server


@contextmanager
def running(folder: Path, **env: str):
    server = _server(folder, **env)
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One receiver with the default limits, shared by the tests that only add their own spans."""
    with running(tmp_path_factory.mktemp("otlp")) as s:
        yield s


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """A receiver with small limits: 1 MB bodies (2 MB decompressed), one request at a time, Retry-After 2."""
    env = {
        "REVIEW_STORE_OTLP_MAX_BODY_MB": "1",
        "REVIEW_STORE_OTLP_MAX_DECODED_MB": "2",
        "REVIEW_STORE_OTLP_QUEUE": "1",
        "REVIEW_STORE_OTLP_RETRY_AFTER_S": "2",
    }
    with running(tmp_path_factory.mktemp("otlp-tight"), **env) as s:
        yield s


def stored(server: Server, spans) -> dict[str, int]:
    """external_id -> how many times it is stored, for these spans."""
    want = {ext_id(s) for s in spans}
    return {
        e: n
        for e, n in server.rows("SELECT external_id, count(*) FROM trace GROUP BY external_id")
        if e in want
    }


def ingest_events(server: Server) -> list[dict]:
    return [
        orjson.loads(p)
        for (p,) in server.rows("SELECT payload FROM auditevent WHERE action = 'data.ingest' ORDER BY seq")
    ]


# --- spans made by the real SDK ------------------------------------------------------------------------


def make_spans(n: int, *, start_ns: int | None = None, prefix: str = "q", cost: bool = False) -> list:
    """`n` GenAI chat spans (each its own trace), ended, as the SDK hands them to an exporter."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "acme-support", "service.version": "r3"})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("review-desk-test")
    start_ns = start_ns or time.time_ns() - 60 * 10**9
    for i in range(n):
        span = tracer.start_span("chat gpt-4o-mini", start_time=start_ns + i * 1000)
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 400 + i,
            "gen_ai.usage.output_tokens": 60,
            "gen_ai.prompt": f"{prefix} {i}: can I return my order?",
            "gen_ai.completion": "Yes, within 30 days.",
            "review_desk.segment": "refunds",
        }
        if cost:
            attrs["llm.cost.total"] = 0.5
        span.set_attributes(attrs)
        span.end(end_time=start_ns + i * 1000 + 800_000_000)
    provider.shutdown()
    return list(memory.get_finished_spans())


def ext_id(span) -> str:
    ctx = span.get_span_context()
    return f"{format_trace_id(ctx.trace_id)}:{format_span_id(ctx.span_id)}"


def proto_body(spans) -> bytes:
    return encode_spans(spans).SerializeToString()


def json_body(spans) -> bytes:
    """OTLP/JSON as the specification writes it: ids in hex, not the protobuf mapping's base64."""
    document = MessageToDict(encode_spans(spans))
    for rs in document["resourceSpans"]:
        for scope in rs["scopeSpans"]:
            for s in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in s:
                        s[key] = base64.b64decode(s[key]).hex()
    return orjson.dumps(document)


def response(body: bytes, kind: str = PROTO) -> ExportTraceServiceResponse:
    parsed = ExportTraceServiceResponse()
    if kind == PROTO:
        parsed.ParseFromString(body)
    else:
        from google.protobuf.json_format import Parse

        Parse(body, parsed)
    return parsed


def status_message(body: bytes, kind: str = PROTO) -> str:
    if kind == JSON:
        return orjson.loads(body)["message"]
    status = Status()
    status.ParseFromString(body)
    return status.message


# --- the tests -----------------------------------------------------------------------------------------


def test_sdk_exporter_stores_genai_spans_with_context_guardrails_and_costs(server):
    """A BatchSpanProcessor with the OTLP/HTTP exporter, as an instrumented app runs it."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "acme-support", "service.version": "r3"})
    )
    provider.add_span_processor(BatchSpanProcessor(server.exporter(), max_export_batch_size=512))
    tracer = provider.get_tracer("acme")
    with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
        chat.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 512,
                "gen_ai.usage.output_tokens": 64,
                "gen_ai.prompt": "Can I return an order from 40 days ago?",
                "gen_ai.completion": "Yes, within 60 days.",
                "review_desk.segment": "refunds",
            }
        )
        chat.add_event(
            "guardrail", {"guardrail.name": "pii", "guardrail.stage": "input", "guardrail.action": "redacted"}
        )
        with provider.get_tracer("acme").start_as_current_span(
            "retrieve", context=set_span_in_context(chat)
        ) as retriever:
            retriever.set_attributes(
                {
                    "openinference.span.kind": "RETRIEVER",
                    "retrieval.documents.0.document.id": "policy-refunds-3",
                    "retrieval.documents.0.document.score": 0.82,
                    "retrieval.documents.0.document.content": "Refunds within 30 days.",
                }
            )
        chat_id = ext_id(chat)
    with tracer.start_as_current_span("llm") as reported:  # OpenInference, with the cost it reports
        reported.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "input.value": "Where is my parcel?",
                "output.value": "It ships tomorrow.",
                "llm.token_count.prompt": 100,
                "llm.token_count.completion": 10,
                "llm.cost.total": 0.25,
            }
        )
        reported_id = ext_id(reported)
    with tracer.start_as_current_span("chat acme-private-model") as unknown:
        unknown.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "acme-private-model",
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 10,
                "gen_ai.prompt": "hi",
                "gen_ai.completion": "hello",
            }
        )
        unknown_id = ext_id(unknown)
    assert provider.force_flush(30_000)
    provider.shutdown()

    ids = {chat_id, reported_id, unknown_id}
    rows = {
        r[0]: r[1:]
        for r in server.rows(
            "SELECT external_id, input, output, segment, app, release, model, tokens_in, cost_usd, cost_source, "
            "context FROM trace"
        )
        if r[0] in ids
    }
    assert set(rows) == ids
    inp, out, segment, app, release, model, tokens_in, cost, source, context = rows[chat_id]
    assert (inp, out, segment, app, release, model, tokens_in) == (
        "Can I return an order from 40 days ago?", "Yes, within 60 days.", "refunds", "acme-support", "r3",
        "gpt-4o-mini", 512,
    )  # fmt: skip
    assert source == "computed"
    assert cost == pytest.approx(costs.compute("gpt-4o-mini", 512, 64), rel=1e-12)
    assert cost == pytest.approx(0.15e-6 * 512 + 0.6e-6 * 64, rel=1e-9)  # gpt-4o-mini's list price
    assert orjson.loads(context) == [
        {"id": "policy-refunds-3", "score": 0.82, "text": "Refunds within 30 days."}
    ]
    assert rows[reported_id][7:9] == (0.25, "reported")
    assert rows[unknown_id][7:9] == (None, None)
    guards = server.rows(
        "SELECT g.name, g.stage, g.action FROM guardrailevent g JOIN trace t ON t.id = g.trace_id "
        f"WHERE t.external_id = '{chat_id}'"
    )
    assert guards == [("pii", "input", "redacted")]
    audit = server.rows("SELECT actor FROM auditevent WHERE action = 'data.ingest'")
    assert audit and {actor for (actor,) in audit} == {"lee"}  # as the key's user


def test_a_retried_export_stores_nothing_twice(server):
    spans = make_spans(300, prefix="retried")
    exporter = server.exporter()
    before = len(ingest_events(server))
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert exporter.export(spans) == SpanExportResult.SUCCESS  # what a retry after a lost response sends
    status, _, body = server.post(json_body(spans[:10]), kind=JSON)  # the same spans as OTLP/JSON
    assert status == 200 and orjson.loads(body) == {}
    counts = stored(server, spans)
    assert len(counts) == 300 and set(counts.values()) == {1}
    events = ingest_events(server)[before:]
    assert [e["inserted"] for e in events] == [300]  # the retries stored nothing, so they left no event


def test_partial_success_names_each_rejected_span_and_why(server):
    now = time.time_ns()
    good = make_spans(2, start_ns=now - 10**9)
    future = make_spans(1, start_ns=now + 3 * DAY_NS, prefix="future")
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    silent = tracer.start_span(
        "chat",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.completion": "x",
        },
    )
    silent.end()
    orphan = tracer.start_span(
        "retrieve",
        attributes={"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.id": "d1"},
    )
    orphan.end()
    tool = tracer.start_span("http GET", attributes={"http.method": "GET"})
    tool.end()
    spans = [*good, *future, *memory.get_finished_spans()]
    status, _, body = server.post(proto_body(spans))
    assert status == 200
    partial = response(body).partial_success
    assert partial.rejected_spans == 3
    message = partial.error_message
    assert message.startswith("3 of 6 spans rejected: ")
    assert f"span {format_span_id(future[0].get_span_context().span_id)} ('chat gpt-4o-mini')" in message
    assert "timestamp: " in message and "is in the future" in message
    assert f"span {format_span_id(silent.get_span_context().span_id)} ('chat')" in message
    assert "input: LLM span 'chat'" in message and "carries no prompt" in message
    assert "a retriever span is stored with its trace's LLM span" in message
    assert "http GET" not in message  # not an LLM span: accepted, nothing of it is kept
    assert set(stored(server, spans)) == {ext_id(s) for s in good}


def test_json_and_gzip_bodies(server):
    spans = make_spans(20)
    status, headers, body = server.post(
        gzip.compress(json_body(spans)), kind=JSON, headers={"Content-Encoding": "gzip"}
    )
    assert status == 200 and headers["content-type"] == JSON
    assert orjson.loads(body) == {}  # full success: an empty ExportTraceServiceResponse
    more = make_spans(20, prefix="gz")
    assert server.exporter(compression=Compression.Gzip).export(more) == SpanExportResult.SUCCESS
    assert set(stored(server, spans + more)) == {ext_id(s) for s in spans + more}
    status, _, body = server.post(b"\x1f\x8b\x08garbage", headers={"Content-Encoding": "gzip"})
    assert status == 400 and "not valid gzip data" in status_message(body)


def test_bad_bodies_wrong_keys_and_roles_store_nothing(server):
    spans = make_spans(5, prefix="refused")
    before = server.rows("SELECT count(*) FROM trace")
    cases = [
        (proto_body(spans), {"key": None}, 401, "an API key is required"),
        (proto_body(spans), {"key": "rdt_" + "x" * 43}, 401, "not valid"),
        (proto_body(spans), {"key": "revoked"}, 401, "not valid"),
        (proto_body(spans), {"key": "personal"}, 401, "not valid"),
        (proto_body(spans), {"key": "reviewer"}, 403, "may not import data"),
        (b"\xff\xff\xff\xff not protobuf", {}, 400, "not a protobuf ExportTraceServiceRequest"),
        (b'{"resourceSpans": 5}', {"kind": JSON}, 400, "not an ExportTraceServiceRequest"),
        (b"[1, 2]", {"kind": JSON}, 400, "must be an ExportTraceServiceRequest object"),
        (b"{not json", {"kind": JSON}, 400, "not valid JSON"),
        (proto_body(spans), {"kind": "text/plain"}, 415, "is not supported"),
        (proto_body(spans), {"headers": {"Content-Encoding": "br"}}, 415, "Content-Encoding 'br'"),
    ]
    for body, options, want, words in cases:
        status, _, answer = server.post(body, **options)
        kind = options.get("kind", PROTO)
        assert status == want, (options, answer)
        assert words in status_message(answer, JSON if kind == JSON else PROTO), (options, answer)
    assert server.rows("SELECT count(*) FROM trace") == before


def test_over_the_size_limit_is_413_compressed_or_not(tight):
    big = make_spans(3500, prefix="big")  # ~ 1.2 MB of protobuf
    body = proto_body(big)
    assert 1024 * 1024 < len(body) < 2 * 1024 * 1024
    status, _, answer = tight.post(body)
    assert status == 413 and "over the limit of 1,048,576" in status_message(answer)
    bomb = gzip.compress(body + b"\x00" * (2 * 1024 * 1024))  # small on the wire, too big inflated
    assert len(bomb) < 1024 * 1024
    status, _, answer = tight.post(bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and "once decompressed" in status_message(answer)
    assert tight.exporter().export(big) == SpanExportResult.FAILURE  # 413 is not retried
    assert stored(tight, big) == {}
    fits = proto_body(big[:500])
    assert tight.post(gzip.compress(fits), headers={"Content-Encoding": "gzip"})[0] == 200
    assert len(stored(tight, big)) == 500


# The README's any-date runs use Debian's faketime: libfaketime fakes the monotonic clock a thread's timed wait
# computes its deadline from, but the kernel's sem_clockwait waits on the real one, so the exporter's retry
# backoff (threading.Event.wait) never returns. These two tests are about retries, not dates: under faketime
# they are skipped, with this reason shown; every other run (CI included) runs them.
needs_timed_waits = pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under faketime a thread's timed wait never returns (libfaketime vs sem_clockwait): "
    "the OTLP exporter's retry backoff would hang",
)


@needs_timed_waits
def test_a_full_queue_answers_503_with_retry_after_and_the_exporter_waits_that_long(tight, caplog):
    server = tight
    first, second = make_spans(50, prefix="first"), make_spans(50, prefix="second")
    lock = sqlite3.connect(server.db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the writer is busy: the admitted request waits for it
    held: dict = {}
    waiting = threading.Thread(target=lambda: held.update(result=server.post(proto_body(first))))
    waiting.start()
    time.sleep(1.0)  # the first request is admitted and waits for the database
    status, headers, answer = server.post(proto_body(second))
    assert status == 503 and headers["retry-after"] == "2"
    assert "queue is full" in status_message(answer)
    assert stored(server, first + second) == {}
    caplog.set_level(logging.WARNING)
    exported: dict = {}
    exporter = server.exporter(timeout=30)
    sender = threading.Thread(target=lambda: exported.update(result=exporter.export(second)))
    sender.start()
    time.sleep(3.0)
    lock.execute("ROLLBACK")
    lock.close()
    waiting.join(60)
    sender.join(60)
    assert held["result"][0] == 200
    assert exported["result"] == SpanExportResult.SUCCESS
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries and all("retrying in 2.00s" in m for m in retries)  # Retry-After, not its own backoff
    counts = stored(server, first + second)
    assert len(counts) == 100 and set(counts.values()) == {1}


@needs_timed_waits
def test_sigkill_mid_stream_every_acknowledged_span_is_stored_exactly_once(tmp_path):
    with running(tmp_path) as server:
        batches = [make_spans(400, prefix=f"b{n}") for n in range(24)]
        exporter = server.exporter(timeout=90)
        acknowledged: list[int] = []
        results: list[SpanExportResult] = []

        def send() -> None:
            for n, batch in enumerate(batches):
                while True:  # the app gives a failed export another go (a Collector's queue would)
                    result = exporter.export(batch)
                    results.append(result)
                    if result == SpanExportResult.SUCCESS:
                        acknowledged.append(n)
                        break

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acknowledged) >= 6
        server.stop(signal.SIGKILL)  # mid-stream: the next batch is being sent or stored
        killed_after = len(acknowledged)
        time.sleep(1.0)
        server.start()  # same port, same database: the exporter's retries reach it
        sender.join(180)
        assert not sender.is_alive()
        assert killed_after < len(batches)
        assert acknowledged == list(range(len(batches)))
        want = {ext_id(s) for n in acknowledged for s in batches[n]}
        counts = dict(server.rows("SELECT external_id, count(*) FROM trace GROUP BY external_id"))
        assert set(counts) == want and set(counts.values()) == {1}
        assert server.rows("PRAGMA integrity_check") == [("ok",)]


# --- the store side on both databases ------------------------------------------------------------------

T0 = datetime(2026, 5, 31, 9, 0)


def _t0_ns() -> int:
    return int((T0 - datetime(1970, 1, 1)) / timedelta(microseconds=1)) * 1000


def test_import_spans_is_idempotent_and_safe_when_two_receivers_race(db_url):
    from review_store.ingest.otlp_proto import decode, spans_of_request

    desk = Desk.open(db_url)
    desk.users.add(actor=SYSTEM, username="lee", role="lead")
    secret = desk.apikeys.create(actor=SYSTEM, username="lee").secret
    lee = desk.apikeys.authenticate(secret=secret, origin="test").actor()
    spans = spans_of_request(decode(proto_body(make_spans(200, start_ns=_t0_ns())), PROTO))
    views = []
    threads = [
        threading.Thread(target=lambda: views.append(desk.ingest.import_spans(actor=lee, spans=spans)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(v.inserted for v in views) == [0, 0, 200]
    assert all(v.inserted + v.unchanged == 200 and not v.rejected for v in views)
    again = desk.ingest.import_spans(actor=lee, spans=spans)
    assert (again.inserted, again.unchanged, again.llm_spans) == (0, 200, 200)
    with desk.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT external_id) FROM trace")).one() == (
            200,
            200,
        )
        sources = conn.execute(text("SELECT DISTINCT cost_source FROM trace")).scalars().all()
    assert sources == ["computed"]
    desk.engine.dispose()
