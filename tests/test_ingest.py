"""Trace files in: validation messages, abort/skip, idempotence, --update, CSV and Parquet, record rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from review_store.db import read_session
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.ingest import detect_format, ingest_file, preview_file, validate_file
from review_store.ingest.records import MAX_TEXT_CHARS, parse_record, parse_timestamp
from review_store.models import AuditEvent, GuardrailEvent, Trace
from review_store.permissions import Actor

BASE = datetime(2026, 1, 5, 12, 0, 0)


def good(i: int) -> dict:
    """A varied, valid record; every fifth carries two guardrail events."""
    record = {
        "trace_id": f"tr-{i:05d}",
        "timestamp": (BASE + timedelta(minutes=i)).isoformat() + ("+02:00" if i % 3 == 0 else "Z"),
        "app": "acme-support",
        "segment": ["billing", "technical", "account", "refunds"][i % 4],
        "release": f"r{1 + i % 3}",
        "model": "openai/gpt-4o-mini",
        "prompt_version": "support-v2",
        "input": f"How do I get a refund for order {i}?",
        "output": f"Refunds are possible within 30 days (order {i}).",
        "context": [
            {"id": f"policy-{i % 7}", "score": 0.5 + (i % 10) / 20, "text": "Refunds within 30 days."}
        ],
        "latency_ms": 800 + i,
        "ttft_ms": 120.5,
        "tokens_in": 400 + i,
        "tokens_out": 80,
        "cost_usd": 0.0012,
        "cache_hit": ["yes", "no", True, 0][i % 4],
        "user_feedback": ["up", "down", "none", None][i % 4],
        "task_success": i % 2 == 0,
        "customer_tier": "gold",
    }
    if i % 5 == 0:
        record["guardrails"] = [
            {"name": "pii", "stage": "input", "action": "redacted", "score": 0.97},
            {"name": "grounding", "stage": "output", "action": "flagged", "score": 0.4},
        ]
    return record


BAD_KINDS = {
    "json": b'{"trace_id": "x1", "timestamp": ',
    "output": orjson.dumps({"trace_id": "x2", "timestamp": "2026-01-05T12:00:00Z", "input": "q"}),
    "timestamp": orjson.dumps({"trace_id": "x3", "timestamp": "yesterday noon", "input": "q", "output": "a"}),
    "zone": orjson.dumps(
        {"trace_id": "x4", "timestamp": "2026-01-05T12:00:00+25:00", "input": "q", "output": "a"}
    ),
    "latency_ms": orjson.dumps({**good(0), "trace_id": "x5", "latency_ms": "fast"}),
    "encoding": b'{"trace_id": "x6", "timestamp": "2026-01-05", "input": "caf\xe9", "output": "a"}',
    "input": orjson.dumps(
        {"trace_id": "x7", "timestamp": "2026-01-05", "input": "x" * (MAX_TEXT_CHARS + 1), "output": "a"}
    ),
    "duplicate": orjson.dumps({**good(3)}),
}
FIELD_OF = {"zone": "timestamp", "duplicate": "trace_id"}


def write_mixed(path: Path) -> dict[str, int]:
    """1,000 good records with one of each bad kind spread among them; returns kind -> line number."""
    lines, where = [], {}
    kinds = list(BAD_KINDS)
    for i in range(1000):
        lines.append(orjson.dumps(good(i)))
        if i % 120 == 60 and kinds:
            kind = kinds.pop(0)
            lines.append(BAD_KINDS[kind])
            where[kind] = len(lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return where


def fetch(engine, stmt) -> list:
    """Rows loaded and detached, so their attributes stay readable after the session closes."""
    with read_session(engine) as session:
        rows = list(session.exec(stmt).all())
        session.expunge_all()
    return rows


def one(engine, external_id: str) -> Trace:
    return fetch(engine, select(Trace).where(Trace.external_id == external_id))[0]


def count(engine, model) -> int:
    with read_session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_abort_writes_nothing_and_lists_every_bad_line_with_its_field(engine, tmp_path):
    path = tmp_path / "mixed.jsonl"
    where = write_mixed(path)
    report = ingest_file(engine, path=path)
    assert report.aborted and not report.ok
    assert report.rejected == len(BAD_KINDS) == 8
    assert (count(engine, Trace), count(engine, GuardrailEvent), count(engine, AuditEvent)) == (0, 0, 0)
    listed = {(p.line, p.field) for p in report.errors}
    for kind, line in where.items():
        assert (line, FIELD_OF.get(kind, kind)) in listed, kind
    lines = report.problem_lines()
    assert f"{path}:{where['latency_ms']}: latency_ms: expected a number, got 'fast'" in lines
    assert any(
        f":{where['duplicate']}: trace_id: duplicate trace_id 'tr-00003' (first on line 4)" in x
        for x in lines
    )
    assert any("not valid UTF-8" in x and f":{where['encoding']}: encoding" in x for x in lines)
    assert any("1,000,001 characters; the limit is 1,000,000" in x for x in lines)
    assert any("time zone offset +25:00 is out of range" in x for x in lines)
    assert any("not an ISO 8601 timestamp" in x for x in lines)
    assert any(f":{where['output']}: output: missing required field" in x for x in lines)


def test_skip_imports_exactly_the_good_ones_and_rejects_hold_the_rest(engine, tmp_path):
    path = tmp_path / "mixed.jsonl"
    where = write_mixed(path)
    rejects = tmp_path / "rejects.jsonl"
    report = ingest_file(engine, path=path, on_error="skip", rejects_path=rejects)
    assert (report.inserted, report.rejected, report.guardrail_events) == (1000, 8, 400)
    assert count(engine, Trace) == 1000 and count(engine, GuardrailEvent) == 400
    rows = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert sorted(r["line"] for r in rows) == sorted(where.values())
    by_line = {r["line"]: r for r in rows}
    assert by_line[where["latency_ms"]]["errors"] == [
        {"field": "latency_ms", "message": "expected a number, got 'fast'"}
    ]
    assert orjson.loads(by_line[where["duplicate"]]["source"])["trace_id"] == "tr-00003"
    external = set(fetch(engine, select(Trace.external_id)))
    events = fetch(engine, select(AuditEvent).where(AuditEvent.action == "data.ingest"))
    assert external == {f"tr-{i:05d}" for i in range(1000)}
    assert len(events) == 1 and orjson.loads(events[0].payload)["inserted"] == 1000


def test_reimport_adds_nothing_and_update_rewrites_only_changed(engine, tmp_path):
    path = tmp_path / "t.jsonl"
    records = [good(i) for i in range(50)]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    first = ingest_file(engine, path=path, batch_size=7)
    again = ingest_file(engine, path=path, batch_size=7)
    assert (first.inserted, again.inserted, again.unchanged, again.updated) == (50, 0, 50, 0)
    assert count(engine, Trace) == 50 and count(engine, GuardrailEvent) == 20

    records[5]["output"] = "corrected answer"
    records[10]["guardrails"] = [{"name": "toxicity", "stage": "output", "action": "blocked"}]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    kept = ingest_file(engine, path=path)
    assert (kept.updated, kept.existing_changed, kept.inserted) == (0, 2, 0)
    updated = ingest_file(engine, path=path, update=True)
    assert (updated.updated, updated.unchanged, updated.inserted) == (2, 48, 0)
    t5, t10 = one(engine, "tr-00005"), one(engine, "tr-00010")
    g10 = fetch(engine, select(GuardrailEvent).where(GuardrailEvent.trace_id == t10.id))
    assert t5.output == "corrected answer"
    assert [(g.name, g.action, g.score, g.segment) for g in g10] == [("toxicity", "blocked", None, "account")]
    assert count(engine, GuardrailEvent) == 19
    assert count(engine, Trace) == 50


def test_records_are_normalised(engine, tmp_path):
    path = tmp_path / "one.jsonl"
    record = {
        **good(5),
        "timestamp": "2026-03-01T01:30:00-05:00",
        "guardrails": [{"name": "pii", "stage": "Input", "action": "flagged"}],
    }
    record["context"] = [{"id": 1, "score": 0.2, "text": "a"}, {"id": "b", "score": 0.9, "content": "b"}]
    path.write_bytes(orjson.dumps(record) + b"\n")
    ingest_file(engine, path=path)
    [trace], [event] = fetch(engine, select(Trace)), fetch(engine, select(GuardrailEvent))
    assert trace.ts == datetime(2026, 3, 1, 6, 30)
    assert trace.context == [{"id": "1", "score": 0.2, "text": "a"}, {"id": "b", "score": 0.9, "text": "b"}]
    assert trace.top_retrieval_score == 0.9
    assert (trace.cache_hit, trace.user_feedback, trace.task_success, trace.tokens_in) == (
        False,
        "down",
        False,
        405,
    )
    assert trace.meta == {"customer_tier": "gold"}
    assert (event.ts, event.stage, event.segment, event.release) == (trace.ts, "input", "technical", "r3")


def test_csv_variant_written_with_pandas(engine, tmp_path):
    records = [good(i) for i in range(30)]
    frame = pd.DataFrame(
        [
            {
                **r,
                "context": orjson.dumps(r["context"]).decode(),
                "guardrails": orjson.dumps(r.get("guardrails", [])).decode(),
            }
            for r in records
        ]
    )
    frame["latency_ms"] = frame["latency_ms"].astype(object)
    frame.loc[7, "latency_ms"] = "fast"
    frame.loc[9, "input"] = 'Line one\nline two, with "quotes"'
    path = tmp_path / "traces.csv"
    frame.to_csv(path, index=False)
    assert detect_format(path) == "csv"
    aborted = ingest_file(engine, path=path)
    assert [(p.line, p.field) for p in aborted.errors] == [(9, "latency_ms")]  # header is line 1
    report = ingest_file(engine, path=path, on_error="skip")
    assert (report.inserted, report.rejected, report.guardrail_events) == (29, 1, 12)
    t9, t10, t11 = one(engine, "tr-00009"), one(engine, "tr-00010"), one(engine, "tr-00011")
    assert t9.input == 'Line one\nline two, with "quotes"'
    assert t10.context == records[10]["context"] and t10.meta == {"customer_tier": "gold"}
    assert (t10.cache_hit, t10.user_feedback, t10.ts) == (True, None, BASE + timedelta(minutes=10))
    assert (t11.cache_hit, t11.user_feedback) == (False, None)  # "0"; an empty cell is missing
    assert ingest_file(engine, path=path, on_error="skip").inserted == 0


def test_csv_problems_have_line_numbers(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        b"trace_id,timestamp,input,output\n"
        b'a,2026-01-05T00:00:00Z,"multi\nline",ok\n'
        b"b,2026-01-05T00:00:00Z,caf\xe9,ok\n"
        b"c,2026-01-05T00:00:00Z,q\n"
        b"a,2026-01-05T00:00:00Z,q,ok\n"
        b"d,2026-01-05 CET,q,ok\n"
    )
    report = validate_file(path=path)
    assert report.problem_lines() == [
        f"{path}:4: encoding: not valid UTF-8: byte 0xe9 at byte 27 of the line",
        f"{path}:5: csv: row has 3 values but the header has 4 columns",
        f"{path}:6: trace_id: duplicate trace_id 'a' (first on line 2)",
        f"{path}:7: timestamp: '2026-01-05 CET': time zone names are ambiguous; write an offset like +01:00 or Z",
    ]
    missing = tmp_path / "missing.csv"
    missing.write_text("trace_id,input,output\na,q,ok\n")
    assert validate_file(path=missing).problem_lines() == [
        f"{missing}:1: header: missing required column(s): timestamp"
    ]


def test_parquet_variant_written_with_pyarrow(engine, tmp_path):
    records = [good(i) for i in range(40)]
    table = pa.table(
        {
            "trace_id": [r["trace_id"] for r in records],
            "timestamp": pa.array(
                [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in records],
                pa.timestamp("us", tz="UTC"),
            ),
            "input": [r["input"] for r in records],
            "output": [r["output"] for r in records],
            "segment": [r["segment"] for r in records],
            "latency_ms": [float(r["latency_ms"]) for r in records],
            "tokens_in": pa.array([r["tokens_in"] for r in records], pa.int64()),
            "context": [r["context"] for r in records],
            "guardrails": [r.get("guardrails", []) for r in records],
            "region": ["eu"] * 40,
        }
    )
    path = tmp_path / "traces.parquet"
    pq.write_table(table, path, row_group_size=16)
    report = ingest_file(engine, path=path, batch_size=10)
    assert (report.inserted, report.guardrail_events) == (40, 16)
    t3 = one(engine, "tr-00003")
    assert t3.ts == BASE + timedelta(minutes=3) - timedelta(hours=2)
    assert (t3.latency_ms, t3.tokens_in, t3.context, t3.meta) == (
        803.0,
        403,
        records[3]["context"],
        {"region": "eu"},
    )
    assert ingest_file(engine, path=path).unchanged == 40


def test_many_problems_are_capped_with_a_count(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(f'{{"trace_id": "{i}"}}' for i in range(40)))
    report = validate_file(path=path)
    assert report.n_errors == 120 and len(report.problem_lines()) == 51
    assert report.problem_lines()[-1] == "... and 70 more"


def test_permission_progress_preview_and_gzip(engine, tmp_path):
    import gzip

    path = tmp_path / "t.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(orjson.dumps(good(i)) for i in range(25)))
    with pytest.raises(PermissionDenied, match="import data"):
        ingest_file(engine, path=path, actor=Actor(username="rita", role="reviewer"))
    with pytest.raises(ValidationFailed, match="on_error"):
        ingest_file(engine, path=path, on_error="ignore")  # type: ignore[arg-type]
    seen = []
    report = ingest_file(engine, path=path, batch_size=10, progress=seen.append, actor=Actor("lee", "lead"))
    assert report.inserted == 25
    assert [p.phase for p in seen].count("write") >= 3 and seen[-1].fraction == 1.0
    assert [p.records for p in seen if p.phase == "write"][:2] == [10, 20]
    preview = preview_file(path=path, limit=3)
    assert [r["external_id"] for r in preview.rows] == ["tr-00000", "tr-00001", "tr-00002"]
    assert preview.rows[0]["guardrails"][0]["name"] == "pii" and preview.problems == []


# --- the record parser ------------------------------------------------------------------------------

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))


@given(moment=moments, zone=offsets)
def test_zoned_timestamps_become_naive_utc(moment, zone):
    aware = moment.replace(tzinfo=zone)
    expected = aware.astimezone(UTC).replace(tzinfo=None)
    assert parse_timestamp(aware.isoformat()) == expected
    assert parse_timestamp(aware) == expected
    assert parse_timestamp(moment.isoformat()) == moment  # naive = UTC


no_nul = st.characters(exclude_characters="\x00")  # NUL is refused (tests/test_ingest_hostile.py)
text = st.text(no_nul, max_size=50)
records = st.fixed_dictionaries(
    {
        "trace_id": st.text(no_nul, min_size=1, max_size=40).filter(str.strip),
        "timestamp": moments.map(datetime.isoformat),
        "input": text,
        "output": text,
    },
    optional={
        "latency_ms": st.floats(min_value=0, max_value=1e7) | st.integers(0, 10**7).map(str),
        "tokens_in": st.integers(0, 10**6),
        "cache_hit": st.sampled_from([True, False, "yes", "no", "1", "0", "TRUE", 1, 0]),
        "user_feedback": st.sampled_from(["up", "down", "none", "UP", None]),
        "context": st.lists(
            st.fixed_dictionaries(
                {"id": st.text(no_nul, max_size=5), "score": st.floats(-1, 1), "text": text}
            ),
            max_size=4,
        ),
        "extra": st.integers() | text,
    },
)


@settings(max_examples=200)
@given(record=records)
def test_valid_records_parse(record):
    row, guardrails, problems = parse_record(record)
    assert problems == [] and guardrails == []
    assert row["external_id"] == record["trace_id"].strip() and row["input"] == record["input"]
    scores = [c["score"] for c in record.get("context", [])]
    assert row["top_retrieval_score"] == (max(scores) if scores else None)
    assert row["user_feedback"] in ("up", "down", None)
    assert ("extra" in row["meta"]) == (record.get("extra", "") != "")  # empty = missing


@given(
    record=records,
    field=st.sampled_from(["latency_ms", "tokens_in", "cache_hit", "user_feedback", "context"]),
    bad=st.sampled_from(["fast", "maybe", "[1,"]),
)
def test_a_wrong_value_is_reported_against_its_field(record, field, bad):
    row, _, problems = parse_record({**record, field: bad})
    assert row is None and [f for f, _ in problems] == [field]
