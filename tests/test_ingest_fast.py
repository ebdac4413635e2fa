"""The fast ingest paths give the same results as the detailed ones: the record fast path against the
per-field checkers, the SQLite driver writer against SQLAlchemy's own column processing, and the one-pass
abort mode against its guarantee (nothing written, every problem listed)."""

from __future__ import annotations

import gc
import json
from datetime import datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, func
from sqlalchemy.dialects import sqlite
from sqlmodel import select

from review_store.db import make_engine, read_session
from review_store.ingest import ingest_file
from review_store.ingest import writer as ingest_writer
from review_store.ingest.records import parse_record, parse_record_detailed
from review_store.ingest.writer import SQLITE_GUARD_COLUMNS, SQLITE_TRACE_COLUMNS, json_text, sqlite_datetime
from review_store.models import AuditEvent, GuardrailEvent, Trace
from tests.conftest import create_schema

# --- the record fast path ---------------------------------------------------------------------------


def _nested(levels: int) -> dict:
    """{"k": [[...]]}: `levels` levels of lists and objects in all."""
    value: list = []
    for _ in range(levels - 2):
        value = [value]
    return {"k": value}


odd_numbers = st.sampled_from(
    [None, "", 0, 1, -1, 0.5, -0.5, 2**53, 2**53 + 1, 2**70, 1e308, float("inf"), float("nan"), "12", "fast"]
)
any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from([" padded ", "", "  ", "up", "UP", "none", "yes", "0", [], {}, [1], {"a": 1}]),
)
timestamps = st.one_of(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(2200, 1, 1)).flatmap(
        lambda d: st.sampled_from(
            [
                d.isoformat(),
                d.isoformat() + "Z",
                d.isoformat(" ") + "Z",
                d.isoformat() + "+05:30",
                d.isoformat() + "-00:00",
                d.isoformat(timespec="minutes") + "Z",
                d.date().isoformat(),
                d.date().isoformat() + "Z",
                d.isoformat() + "ZZ",
                d.isoformat() + "+00:00Z",
                d.isoformat() + " CET",
                f" {d.isoformat()}Z ",
                d,
            ]
        )
    ),
    st.sampled_from([1767225600, 1767225600123, "1767225600", "", "noon", None, True, 3.5]),
)
chunk_values = st.one_of(
    st.fixed_dictionaries(
        {"id": st.text(max_size=4), "score": st.floats(-1, 1), "text": st.text(max_size=8)}
    ),
    st.dictionaries(
        st.sampled_from(["id", "score", "text", "content", "source"]), any_value | odd_numbers, max_size=4
    ),
    any_value,
)
guard_values = st.one_of(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["pii", " pii ", "", "x" * 121]),
            "stage": st.sampled_from(["input", "output", "Input", "middle", None]),
            "action": st.sampled_from(["blocked", "flagged", "Redacted", "passed"]),
        },
        optional={"score": odd_numbers, "timestamp": timestamps, "ts": timestamps},
    ),
    any_value,
)
fields = {
    "trace_id": st.text(max_size=6) | st.integers(-5, 5) | st.sampled_from([" id ", "x" * 201, None]),
    "timestamp": timestamps,
    "input": st.text(max_size=10) | st.sampled_from([None, 3, ["a"], {"q": 1}]),
    "output": st.text(max_size=10) | st.sampled_from([None, 3]),
    "app": any_value,
    "segment": any_value,
    "release": st.sampled_from(["r1", " r2 ", "x" * 121, None, 7]),
    "model": st.sampled_from(["m" * 200, "m" * 201, "gpt", None]),
    "prompt_version": any_value,
    "latency_ms": odd_numbers | st.floats(0, 1e6),
    "ttft_ms": odd_numbers,
    "cost_usd": odd_numbers,
    "tokens_in": odd_numbers | st.integers(0, 10**6),
    "tokens_out": odd_numbers | st.sampled_from([3.0, 3.5]),
    "cache_hit": any_value,
    "task_success": st.sampled_from([True, False, None, 1, "yes", "maybe"]),
    "user_feedback": st.sampled_from(["up", "down", "none", "UP", " up", None, "", "meh", 1]),
    "context": st.lists(chunk_values, max_size=3) | any_value,
    "guardrails": st.lists(guard_values, max_size=2) | any_value,
    "meta": st.sampled_from(
        [None, {}, {"k": 1}, '{"k": 2}', "[1]", "{bad", "", [1], 3]
        + [{"otel": {"span_id": "ab", "attributes": {"a": [1, 2.5, True, None], "b": {"c": "d"}}}}]
        + [{"k": "a\x00b"}, {"k\x00": 1}, {1: "x"}, {"k": (1, 2)}, {"k": float("inf")}, {"k": 2**64}]
        + [{"k": -(2**63)}, {"k": b"x"}, {"k": datetime(2026, 1, 5)}, {"k": "x" * 1_000_001}]
        + [{"k": {"n": [[[[]]]]}}, _nested(63), _nested(64), _nested(65)]
    ),
    "metadata": st.sampled_from([None, {"team": "a"}]),
    "shadow_of": st.sampled_from(
        ["tr-0", " tr-0 ", "tr-1", " tr-1", "", "  ", None, 3, "x" * 201, "a\x00b", ["x"]]
    ),
    "extra": any_value,
}
usual = {
    "trace_id": "tr-1",
    "timestamp": "2026-01-05T12:00:00Z",
    "input": "q",
    "output": "a",
    "app": "acme",
    "segment": "billing",
    "release": "r1",
    "model": "gpt",
    "prompt_version": "v1",
    "latency_ms": 812.5,
    "ttft_ms": 100.0,
    "cost_usd": 0.001,
    "tokens_in": 10,
    "tokens_out": 5,
    "cache_hit": False,
    "task_success": True,
    "user_feedback": "up",
    "context": [{"id": "doc", "score": 0.8, "text": "t"}],
    "guardrails": [{"name": "pii", "stage": "input", "action": "redacted", "score": 0.9}],
}


@settings(max_examples=1500, deadline=None)
@given(
    field=st.sampled_from(sorted(fields)),
    also_none=st.sets(st.sampled_from(sorted(usual)), max_size=2),
    data=st.data(),
)
def test_fast_path_equals_the_detailed_checkers(field, also_none, data):
    """One field at a time takes an odd value (the rest usual, some missing), so the fast path is tried."""
    record = {k: (None if k in also_none else v) for k, v in usual.items()}
    record[field] = data.draw(fields[field])
    fast, detailed = parse_record(record), parse_record_detailed(record)
    assert fast == detailed
    if fast[0] is not None:
        assert list(fast[0]) == list(detailed[0])  # same column order (the Import preview shows it)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.sets(st.sampled_from(sorted(fields)), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: fields[k] for k in keys})
    ),
)
def test_fast_path_equals_the_detailed_checkers_on_mixed_records(changes):
    record = {**usual, **changes}
    assert parse_record(record) == parse_record_detailed(record)


ODD_CASES = [
    {"latency_ms": None, "ttft_ms": -0.5},
    {"cost_usd": None, "latency_ms": -1e-9},
    {"ttft_ms": 3, "cost_usd": float("nan")},
    {"latency_ms": 2**53 + 1, "ttft_ms": None},
    {"tokens_in": 3.0},
    {"tokens_out": True},
    {"tokens_in": -1},
    {"cache_hit": 1},
    {"task_success": "yes"},
    {"user_feedback": "Down"},
    {"user_feedback": "null"},
    {"app": None, "segment": " padded "},
    {"model": None, "release": "x" * 121},
    {"prompt_version": 12},
    {"trace_id": 42},
    {"trace_id": "  "},
    {"input": ["a", {"b": 1}]},
    {"timestamp": "2026-01-05Z"},
    {"timestamp": "2026-01-05T12:00:00ZZ"},
    {"timestamp": "2026-01-05T12:00:00+00:00Z"},
    {"timestamp": "2026-01-05T12:00:00-05:00"},
    {"timestamp": "2026-01-05T12:00:00Z "},
    {"timestamp": "1767225600"},
    {"timestamp": "0001-01-01T00:30:00+01:00"},
    {"context": [{"id": 7, "score": 1, "text": None}]},
    {"context": [{"id": "a", "score": 0.5, "content": "from content"}]},
    {"context": [{"id": "a", "score": 0.5, "text": "t", "source": "kb"}]},
    {"context": [{"id": "a", "score": "0.5", "text": "t"}]},
    {"context": [{"id": None, "score": None}]},
    {"context": [{"id": "a", "score": float("inf"), "text": "t"}]},
    {"context": ["just text"]},
    {"context": '[{"id": "a", "score": 0.5, "text": "t"}]'},
    {"guardrails": [{"name": "pii", "stage": "input", "action": "flagged", "ts": "2026-01-06T00:00:00Z"}]},
    {"guardrails": [{"name": "pii", "stage": "input", "action": "flagged", "timestamp": ""}]},
    {"guardrails": [{"name": " pii ", "stage": "Input", "action": "FLAGGED", "score": -3}]},
    {"guardrails": [{"name": "  ", "stage": "input", "action": "flagged"}]},
    {"guardrails": [{"name": "pii", "stage": "input", "action": "flagged", "score": ""}]},
    {"meta": {"a": 1}, "extra": 2},
    {"metadata": '{"a": 1}'},
    {"extra": ""},
    {
        "guardrails": [
            {"name": "pii", "stage": "input", "action": "flagged", "timestamp": datetime(2026, 1, 5)}
        ]
    },
    {"guardrails": [{"name": "pii", "stage": "input", "action": "flagged", "timestamp": None, "ts": "x"}]},
    {"meta": {"otel": {"attributes": {"gen_ai.system": "openai", "n": 3}}}, "metadata": {"team": "a"}},
    {"shadow_of": " tr-0 "},
    {"shadow_of": "tr-0", "release": None},
    {"shadow_of": "tr-0", "release": "  "},
    {"shadow_of": 7},
    {"shadow_of": "tr-1"},
]


@pytest.mark.parametrize("change", ODD_CASES, ids=lambda c: ",".join(c))
def test_fast_path_equals_the_detailed_checkers_on_odd_values(change):
    record = {**usual, **change}
    assert parse_record(record) == parse_record_detailed(record)


def test_the_usual_record_takes_the_fast_path():
    from review_store.ingest.records import _fast_record

    assert _fast_record(usual) == parse_record_detailed(usual)


# --- the SQLite writer ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_sqlite_datetime_text_is_what_sqlalchemy_stores(moment):
    dialect = sqlite.dialect()
    column_type = Trace.__table__.c.ts.type
    assert isinstance(column_type, DateTime)
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    assert sqlite_datetime(moment) == processor(moment)


def test_json_text_round_trips_what_orjson_refuses():
    value = {"big": 2**70, "s": "\ud800", "n": [1.5, None]}
    assert json.loads(json_text(value)) == value
    assert json.loads(json_text({"a": [1, "ü"]})) == {"a": [1, "ü"]}


def test_the_sqlite_writer_covers_every_column():
    assert set(SQLITE_TRACE_COLUMNS) == {c.name for c in Trace.__table__.columns}
    assert set(SQLITE_GUARD_COLUMNS) == {c.name for c in GuardrailEvent.__table__.columns} - {"id"}


def _records() -> list[dict]:
    base = datetime(2026, 1, 5, 12, 0, 0)
    return [
        {**usual, "trace_id": "plain", "timestamp": (base).isoformat() + "Z"},
        {
            **usual,
            "trace_id": "micro",
            "timestamp": (base + timedelta(microseconds=7)).isoformat() + "+01:00",
            "context": [
                {"id": "ü", "score": -0.25, "text": 'naïve 🙂 "quoted"\n', "source": {"p": [1, 2.5]}}
            ],
            "meta": {"nested": {"big": 2**62, "list": [None, True, 1e-7]}, "emoji": "🙂"},
            "guardrails": [
                {"name": "pii", "stage": "output", "action": "flagged", "timestamp": "2026-01-05T13:00:00.5Z"}
            ],
        },
        {**usual, "trace_id": "old", "timestamp": "0999-12-31T23:59:59.999999", "context": [], "extra": "x"},
    ]


def _stored(engine) -> list[tuple]:
    with read_session(engine) as session:
        traces = session.exec(select(Trace).order_by(Trace.external_id)).all()
        events = session.exec(select(GuardrailEvent).order_by(GuardrailEvent.ts)).all()
        return [t.model_dump(exclude={"id"}) for t in traces], [
            (e.ts, e.name, e.stage, e.action, e.score, e.segment, e.release) for e in events
        ]


def test_rows_written_by_the_driver_read_back_equal_through_the_orm(sqlite_engine, tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in _records()))
    assert ingest_file(sqlite_engine, path=path).inserted == 3
    fast = _stored(sqlite_engine)
    traces = {t["external_id"]: t for t in fast[0]}
    assert traces["micro"]["ts"] == datetime(2026, 1, 5, 11, 0, 0, 7)
    assert traces["old"]["ts"] == datetime(999, 12, 31, 23, 59, 59, 999999)
    assert traces["micro"]["meta"] == {"nested": {"big": 2**62, "list": [None, True, 1e-7]}, "emoji": "🙂"}
    assert traces["micro"]["context"][0] == {
        "source": {"p": [1, 2.5]},
        "id": "ü",
        "score": -0.25,
        "text": 'naïve 🙂 "quoted"\n',
    }
    assert traces["old"]["meta"] == {"extra": "x"} and traces["old"]["context"] == []
    assert [e[0] for e in fast[1]] == [
        datetime(999, 12, 31, 23, 59, 59, 999999),
        datetime(2026, 1, 5, 12),
        datetime(2026, 1, 5, 13, 0, 0, 500000),
    ]
    # SQL comparisons with datetime parameters see the stored text as SQLAlchemy would have written it
    with read_session(sqlite_engine) as session:
        after = session.exec(select(func.count()).where(Trace.ts >= datetime(2026, 1, 5, 11, 0, 0, 7))).one()
        exact = session.exec(select(Trace.external_id).where(Trace.ts == datetime(2026, 1, 5, 12))).all()
    assert (after, exact) == (2, ["plain"])
    # the same file through SQLAlchemy Core (the PostgreSQL path) stores the same values
    other = tmp_path / "core.db"
    create_schema(f"sqlite:///{other}")
    core_engine = make_engine(f"sqlite:///{other}")
    monkeypatch.setattr(ingest_writer.Writer, "__init__", _core_writer_init)
    assert ingest_file(core_engine, path=path).inserted == 3
    assert _stored(core_engine) == fast
    # and a re-import compares the driver-written rows with the file as equal
    monkeypatch.undo()
    again = ingest_file(sqlite_engine, path=path)
    assert (again.inserted, again.unchanged, again.existing_changed) == (0, 3, 0)
    core_engine.dispose()


_REAL_WRITER_INIT = ingest_writer.Writer.__init__


def _core_writer_init(self, conn, **options):
    _REAL_WRITER_INIT(self, conn, **options)
    self.sqlite, self.cursor = False, None  # the SQLAlchemy Core path, as on PostgreSQL


# --- one pass in abort mode -------------------------------------------------------------------------


def _good(i: int) -> bytes:
    return orjson.dumps({**usual, "trace_id": f"t{i:04d}"})


def test_abort_after_batches_were_written_rolls_everything_back(engine, tmp_path):
    lines = [_good(i) for i in range(95)]
    lines[47] = orjson.dumps({**usual, "trace_id": "bad-1", "latency_ms": "slow"})  # batch 5 of 10
    lines[90] = _good(3)  # a duplicate after the first problem is still found
    lines.append(b"{oops")
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = ingest_file(engine, path=path, batch_size=10)
    assert report.aborted and not report.ok
    assert (report.records, report.rejected, report.n_errors) == (96, 3, 3)
    assert (report.inserted, report.updated, report.unchanged, report.guardrail_events) == (0, 0, 0, 0)
    assert [(p.line, p.field) for p in report.errors] == [(48, "latency_ms"), (91, "trace_id"), (96, "json")]
    with read_session(engine) as session:
        counts = [session.exec(select(func.count()).select_from(m)).one() for m in (Trace, GuardrailEvent)]
        audits = session.exec(select(func.count()).select_from(AuditEvent)).one()
    assert counts == [0, 0] and audits == 0
    # the same file without its bad lines imports in full, in one transaction with one audit event
    path.write_bytes(b"\n".join(lines[:47] + lines[48:90] + lines[91:95]) + b"\n")
    done = ingest_file(engine, path=path, batch_size=10)
    assert (done.inserted, done.guardrail_events, done.aborted) == (93, 93, False)


def test_the_garbage_collector_is_restored(sqlite_engine, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(_good(1) + b"\n")
    assert gc.isenabled()
    ingest_file(sqlite_engine, path=path)
    assert gc.isenabled()
    gc.disable()
    try:
        ingest_file(sqlite_engine, path=path)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    with pytest.raises(FileNotFoundError):
        ingest_file(sqlite_engine, path=path, on_error="skip", rejects_path=tmp_path / "no" / "r.jsonl")
    assert gc.isenabled()
