"""end_user and tenant on ingest: every path (JSONL, CSV, Parquet, OTLP file, live OTLP spans) fills them
through the one record mapping; bad values are `file:line: field: message` problems."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlmodel import select

from review_store.db import read_session, session_scope
from review_store.desk import Desk, FixedClock
from review_store.ingest import ingest_file
from review_store.ingest.otlp_proto import JSON, decode, spans_of_request
from review_store.models import Trace
from tests.factories import make_user

NOW = datetime(2026, 6, 1, 12, 0)


def _record(n: int, **extra) -> dict:
    return {
        "trace_id": f"r-{n}",
        "timestamp": f"2026-05-31T10:0{n}:00Z",
        "input": "hi",
        "output": "hello",
        "app": "support",
        **extra,
    }


def _stored(engine) -> dict[str, tuple[str, str]]:
    with read_session(engine) as session:
        return {t.external_id: (t.end_user, t.tenant) for t in session.exec(select(Trace)).all()}


def test_jsonl_csv_parquet_store_end_user_and_tenant(engine, tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                _record(1, end_user="u-1", tenant="acme"),
                _record(2, end_user=42, tenant=" globex "),  # an id given as a number; trimmed
                _record(3),  # neither: ""
            )
        )
    )
    assert ingest_file(engine, path=jsonl).ok
    path = tmp_path / "b.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["trace_id", "timestamp", "input", "output", "end_user", "tenant"])
        writer.writeheader()
        writer.writerow(
            {"trace_id": "r-4", "timestamp": "2026-05-31T10:04:00Z", "input": "hi", "output": "x",
             "end_user": "u-4", "tenant": "initech"}
        )  # fmt: skip
        writer.writerow(
            {"trace_id": "r-5", "timestamp": "2026-05-31T10:05:00Z", "input": "hi", "output": "x", "end_user": "",
             "tenant": ""}
        )  # fmt: skip
    assert ingest_file(engine, path=path).ok
    table = pa.table(
        {
            "trace_id": ["r-6"],
            "timestamp": ["2026-05-31T10:06:00Z"],
            "input": ["hi"],
            "output": ["x"],
            "end_user": ["u-6"],
            "tenant": ["umbrella"],
        }
    )
    pq.write_table(table, tmp_path / "c.parquet")
    assert ingest_file(engine, path=tmp_path / "c.parquet").ok
    assert _stored(engine) == {
        "r-1": ("u-1", "acme"),
        "r-2": ("42", "globex"),
        "r-3": ("", ""),
        "r-4": ("u-4", "initech"),
        "r-5": ("", ""),
        "r-6": ("u-6", "umbrella"),
    }


def test_bad_end_user_and_tenant_are_named_problems_and_store_nothing(engine, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(_record(1, tenant="t" * 121)),
                json.dumps(_record(2, end_user={"id": 1})),
                json.dumps(_record(3, end_user="ok", tenant="a\x00b")),
            ]
        )
    )
    report = ingest_file(engine, path=path)
    assert not report.ok and report.inserted == 0
    lines = report.problem_lines()
    assert f"{path}:1: tenant: 121 characters; the limit is 120" in lines
    assert any(line.startswith(f"{path}:2: end_user: expected text, got ") for line in lines)
    assert any(line.startswith(f"{path}:3: tenant: ") for line in lines)
    assert _stored(engine) == {}


def _otlp_doc(*, span_attrs: list[dict], resource_attrs: list[dict]) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support"}}, *resource_attrs]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": f"{n + 1:032x}",
                                "spanId": f"{n + 1:016x}",
                                "name": "chat",
                                "startTimeUnixNano": str(int(datetime(2026, 5, 31, 10, n).timestamp()) * 10**9),
                                "endTimeUnixNano": str((int(datetime(2026, 5, 31, 10, n).timestamp()) + 1) * 10**9),
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.prompt", "value": {"stringValue": "hi"}},
                                    {"key": "gen_ai.completion", "value": {"stringValue": "hello"}},
                                    *attrs,
                                ],
                            }
                            for n, attrs in enumerate(span_attrs)
                        ]
                    }
                ],
            }
        ]
    }  # fmt: skip


def _s(key: str, value) -> dict:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


SPAN_ATTRS = [
    [_s("user.id", "u-1"), _s("tenant.id", "acme")],  # OpenTelemetry / OpenInference names
    [_s("enduser.id", "u-2")],  # the older OTel name; tenant from the resource
    [_s("review_desk.end_user", "u-3"), _s("user.id", "ignored"), _s("review_desk.tenant", "globex")],
    [_s("user.id", 77)],
]
EXPECTED = [("u-1", "acme"), ("u-2", "initech"), ("u-3", "globex"), ("77", "initech")]


def _by_span(engine) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        rows = session.exec(select(Trace).order_by(Trace.ts)).all()
        return [(t.end_user, t.tenant) for t in rows], [t.meta["otel"]["attributes"] for t in rows]


def test_otlp_file_maps_user_and_tenant_attributes(engine, tmp_path):
    doc = _otlp_doc(span_attrs=SPAN_ATTRS, resource_attrs=[_s("tenant.id", "initech")])
    path = tmp_path / "export.otlp.json"
    path.write_bytes(orjson.dumps(doc))
    report = ingest_file(engine, path=path, format="otlp")
    assert report.ok, report.problem_lines()
    parties, attributes = _by_span(engine)
    assert parties == EXPECTED
    assert "user.id" not in attributes[0] and "tenant.id" not in attributes[0]  # mapped, not kept twice


def test_live_otlp_spans_map_the_same_way(engine):
    doc = _otlp_doc(span_attrs=SPAN_ATTRS, resource_attrs=[_s("tenant.id", "initech")])
    spans = spans_of_request(decode(orjson.dumps(doc), JSON))
    with session_scope(engine) as session:
        lead = make_user(session, role="lead", username="lena")
    Desk(engine, clock=FixedClock(NOW)).ingest.import_spans(actor=lead, spans=spans)
    assert _by_span(engine)[0] == EXPECTED


def test_live_otlp_rejects_a_tenant_over_the_limit(engine):
    doc = _otlp_doc(span_attrs=[[_s("tenant.id", "x" * 121)]], resource_attrs=[])
    spans = spans_of_request(decode(orjson.dumps(doc), JSON))
    with session_scope(engine) as session:
        lead = make_user(session, role="lead", username="lena")
    view = Desk(engine, clock=FixedClock(NOW)).ingest.import_spans(actor=lead, spans=spans)
    assert [(r.field, r.message) for r in view.rejected] == [("tenant", "121 characters; the limit is 120")]
    assert _by_span(engine)[0] == []
