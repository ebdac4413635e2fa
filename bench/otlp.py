"""OTLP over HTTP: `review-desk api` on this machine fed by the real OpenTelemetry SDK exporter
(`python -m bench.otlp [--spans N] [--batch 1000] [--clients 2]`).

- otlp_http_spans_per_s: N GenAI chat spans (a prompt, a completion, token counts and no cost, so every
  one gets a computed cost; one in ten with a guardrail event), made as SDK ReadableSpans and sent by
  the real `OTLPSpanExporter.export` in batches of --batch from --clients separate processes at once;
  spans acknowledged (committed) per second of wall time, from the first request to the last answer.
  Each client builds --pool batches of real ReadableSpans before the clock starts (building them is the
  instrumented application's cost, not the export's) and exports them round and round, giving every
  span a fresh SpanContext (new random trace and span ids) before each export, so every export is new
  data to the receiver and 1M spans do not need 1M span objects in memory. The exporter's own protobuf
  encoding (`encode_spans`, inside `export`) is timed: it runs on the same cores as the server.
- otlp_http_batch_ms_p50/p99: one export call (encode, send, store, commit, answer) per batch.
- otlp_http_server_cpu_us_per_span / otlp_http_client_cpu_us_per_span: CPU time per span of the
  receiver process (decode, map, check, cost, store, commit, HTTP) and of the exporters (encoding, HTTP),
  which, unlike the rate, does not depend on what else the machine runs.
- otlp_http_vs_ingest: that rate over `review-desk ingest`'s rate on a JSONL file of the same number of
  records into a fresh database, measured in the same run (the target is >= 0.5).
Afterwards every span is checked to be stored exactly once. Results are merged into bench/results.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _batches(seed: int, n: int, size: int, start_ns: int):
    """ReadableSpans as the SDK's BatchSpanProcessor hands them to the exporter, `size` at a time."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

    rng = random.Random(seed)
    resource = Resource.create({"service.name": "acme-support", "service.version": "r3"})
    scope = InstrumentationScope("acme.llm", "1.0")
    segments = ("billing", "technical", "account", "refunds")
    batch = []
    for i in range(n):
        context = SpanContext(rng.getrandbits(128) | 1, rng.getrandbits(64) | 1, False, TraceFlags(1))
        t = start_ns + i * 1_000
        events = (
            [Event("guardrail", {"guardrail.name": "pii", "guardrail.action": "redacted"}, t + 1000)]
            if i % 10 == 0
            else []
        )
        batch.append(
            ReadableSpan(
                name="chat gpt-4o-mini", context=context, parent=None, resource=resource,
                instrumentation_scope=scope, kind=SpanKind.CLIENT, start_time=t, end_time=t + 650_000_000,
                events=events,
                attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 250 + i % 700,
                    "gen_ai.usage.output_tokens": 40 + i % 160,
                    "gen_ai.prompt": f"Customer {seed}-{i} asks: can I still return an order I placed {i % 60} days ago?",
                    "gen_ai.completion": "Refunds are accepted within 30 days of delivery; after that we can offer store credit.",
                    "review_desk.segment": segments[i % 4], "review_desk.prompt_version": "support-v3",
                },
            )
        )  # fmt: skip
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fresh_ids(batch: list, rng: random.Random, count: int) -> list:
    """The first `count` spans of `batch`, each given a new SpanContext (random trace and span id)."""
    from opentelemetry.trace import SpanContext, TraceFlags

    sampled = TraceFlags(1)
    for span in batch[:count]:
        # ReadableSpan keeps its context in `_context` (no setter): a new one makes it a new span
        span._context = SpanContext(rng.getrandbits(128) | 1, rng.getrandbits(64) | 1, False, sampled)
    return batch[:count]


def _client(
    endpoint: str, key: str, seed: int, n: int, size: int, pool: int, start_ns: int, ready, go, out
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {key}"}, timeout=120)
    made = list(_batches(seed, min(n, pool * size), size, start_ns))  # made before the clock starts
    rng = random.Random(seed * 7919)
    ready.put(seed)
    go.wait()
    latencies, failed, sent, i = [], 0, 0, 0
    cpu = time.process_time()
    while sent < n:
        batch = _fresh_ids(made[i % len(made)], rng, min(size, n - sent))
        i, sent = i + 1, sent + len(batch)
        started = time.perf_counter()
        if exporter.export(batch) != SpanExportResult.SUCCESS:
            failed += len(batch)
        latencies.append((time.perf_counter() - started) * 1000)
    out.put((latencies, failed, time.perf_counter(), time.process_time() - cpu))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), to tell work from waiting for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _file_ingest(work: Path, n: int) -> float:
    """`review-desk ingest` of n JSONL records into a fresh database: rows per second."""
    from bench import world

    jsonl, db = work / "file-ingest-records.jsonl", work / "file-ingest.db"
    world.write_jsonl(jsonl, n)
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    cli = [sys.executable, "-m", "review_store.cli"]
    subprocess.run([*cli, "--db", url, "db", "upgrade"], check=True, capture_output=True, cwd=ROOT)
    started = time.perf_counter()
    subprocess.run([*cli, "--db", url, "ingest", str(jsonl)], check=True, capture_output=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    jsonl.unlink()
    return n / elapsed


def run(
    work: Path,
    *,
    spans: int,
    batch: int = 1000,
    clients: int = 2,
    pool: int = 16,
    ingest_rows_per_s: float | None = None,
) -> dict:
    from review_store.desk import SYSTEM, Desk

    work.mkdir(parents=True, exist_ok=True)
    if ingest_rows_per_s is None:
        ingest_rows_per_s = _file_ingest(work, spans)
    db = work / "otlp.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    desk = Desk.open(url, migrate=True)
    desk.users.add(actor=SYSTEM, username="collector", role="lead")
    key = desk.apikeys.create(actor=SYSTEM, username="collector", label="bench").secret
    desk.engine.dispose()
    port = _free_port()
    log = open(work / "otlp-server.log", "wb")  # noqa: SIM115 (closed below)
    env = {**os.environ, "REVIEW_STORE_URL": url}
    env.pop("REVIEW_DESK_TOKEN", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "review_store.cli", "api", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 600  # its start imports litellm: over a minute at load 20+
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the API did not start: {(work / 'otlp-server.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}/v1/traces"
        start_ns = time.time_ns() - 3600 * 10**9  # an hour ago: inside the receiver's future tolerance
        ctx = mp.get_context("spawn")
        ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        shares = [spans // clients + (1 if c < spans % clients else 0) for c in range(clients)]
        procs = [
            ctx.Process(
                target=_client, args=(endpoint, key, seed, share, batch, pool, start_ns, ready, go, out)
            )
            for seed, share in enumerate(shares, start=1)
        ]
        for p in procs:
            p.start()
        for _ in procs:  # the clients build their spans before the clock starts
            ready.get(timeout=600)
        server_cpu = _cpu_seconds(server.pid)
        started = time.perf_counter()
        go.set()
        answers = [out.get() for _ in procs]
        server_cpu = _cpu_seconds(server.pid) - server_cpu
        for p in procs:
            p.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    elapsed = max(end for _, _, end, _ in answers) - started
    latencies = [ms for lat, _, _, _ in answers for ms in lat]
    failed = sum(f for _, f, _, _ in answers)
    client_cpu = sum(c for _, _, _, c in answers)
    conn = sqlite3.connect(db)
    stored, distinct = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM trace").fetchone()
    computed = conn.execute("SELECT count(*) FROM trace WHERE cost_source = 'computed'").fetchone()[0]
    conn.close()
    assert failed == 0, f"{failed} spans were not acknowledged"
    assert stored == distinct == spans == computed, (stored, distinct, spans, computed)
    rate = (spans - failed) / elapsed
    q = np.percentile(latencies, [50, 99])
    return {
        "otlp_http_spans": spans,
        "otlp_http_batch": batch,
        "otlp_http_clients": clients,
        "otlp_http_pool_batches": pool,
        "otlp_http_spans_per_s": round(rate),
        "otlp_http_batch_ms_p50": round(float(q[0]), 1),
        "otlp_http_batch_ms_p99": round(float(q[1]), 1),
        "otlp_http_server_cpu_us_per_span": round(server_cpu / spans * 1e6, 1),
        "otlp_http_client_cpu_us_per_span": round(client_cpu / spans * 1e6, 1),
        "otlp_ingest_rows_per_s": round(ingest_rows_per_s),
        "otlp_http_vs_ingest": round(rate / ingest_rows_per_s, 3),
        "otlp_machine": f"{platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} after the run",
    }


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="Spans per export request (512-1,000).")
    parser.add_argument("--clients", type=int, default=2, help="Exporter processes sending at once.")
    parser.add_argument(
        "--pool", type=int, default=16, help="Distinct batches a client builds and re-exports with fresh ids."
    )
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="Merged into; other keys kept."
    )
    args = parser.parse_args()
    measured = run(args.work, spans=args.spans, batch=args.batch, clients=args.clients, pool=args.pool)
    from bench.run import merge_into

    merge_into(args.out, measured)


if __name__ == "__main__":
    main()
