"""Ingest never crashes: each hostile file of the adversarial review gets exit 2 with `file:line: field:
message`, abort mode stores nothing, skip mode keeps every good record and sends the bad ones (with the
reason) to the rejects file -- on SQLite and PostgreSQL alike. Plus Hypothesis: no record and no byte
string makes the parsers raise anything but a reported problem."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import make_engine, read_session
from review_store.ingest import MAX_JSON_DEPTH, validate_file
from review_store.ingest.records import parse_record
from review_store.ingest.values import has_nul
from review_store.models import AuditEvent, Trace
from tests.conftest import TEST_NOW

runner = CliRunner()
DEPTH_TEXT = f"JSON nested more than {MAX_JSON_DEPTH} levels deep; the limit is {MAX_JSON_DEPTH} levels"
NUL_TEXT = "NUL characters are refused in every field (PostgreSQL cannot store them)"


def rec(i: int, **extra) -> dict:
    return {"trace_id": f"h-{i}", "timestamp": f"2026-05-01T10:{i % 60:02d}:00Z", "input": f"q{i}", "output": f"a{i}"} | extra  # fmt: skip


def line(i: int, **extra) -> bytes:
    return orjson.dumps(rec(i, **extra))


def nested(depth: int) -> str:
    return '{"k":' * (depth - 1) + "[1]" + "}" * (depth - 1)


def stored(db_url: str) -> tuple[list[str], int]:
    """(external ids stored, number of data.ingest audit events)."""
    engine = make_engine(db_url)
    with read_session(engine) as session:
        ids = sorted(session.exec(select(Trace.external_id)).all())
        events = session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "data.ingest")
        ).one()
        texts = session.exec(select(Trace.input, Trace.output, Trace.segment)).all()
    engine.dispose()
    assert not any("\x00" in (t or "") for row in texts for t in row)
    return ids, events


def ingest(db_url: str, path: Path, *args: str):
    return runner.invoke(app, ["--db", db_url, "ingest", str(path), *args])


def rejects_of(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.with_name(path.name + ".rejects.jsonl").read_bytes().splitlines()]


def test_deep_json_in_extra_fields_is_refused_with_the_limit(db_url, tmp_path):
    path = tmp_path / "deep.jsonl"
    deep = [
        b'{"trace_id": "d500", "timestamp": "2026-05-01", "input": "q", "output": "a", "extra": '
        + nested(500).encode()
        + b"}",
        b'{"trace_id": "d800", "timestamp": "2026-05-01", "input": "q", "output": "a", "meta": '
        + json.dumps(nested(800)).encode()
        + b"}",
        b'{"trace_id": "d1023", "timestamp": "2026-05-01", "input": "q", "output": "a", "context": '
        + nested(1022).encode()
        + b"}",
    ]
    path.write_bytes(b"\n".join([line(1), *deep, line(5)]) + b"\n")
    result = ingest(db_url, path)
    assert result.exit_code == 2, result.output
    for n, field in ((2, "extra"), (3, "meta"), (4, "context")):
        assert f"{path}:{n}: {field}: {DEPTH_TEXT}" in result.stderr
    assert stored(db_url) == ([], 0)

    result = ingest(db_url, path, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert stored(db_url) == (["h-1", "h-5"], 1)
    rejects = rejects_of(path)
    assert [r["line"] for r in rejects] == [2, 3, 4]
    assert all(r["errors"][0]["message"] == DEPTH_TEXT for r in rejects)


def test_deep_json_in_csv_and_otlp(tmp_path):
    csv_path = tmp_path / "deep.csv"
    csv_path.write_text(
        "trace_id,timestamp,input,output,meta\n"
        f"c1,2026-05-01,q,a,{{}}\n"
        f'c2,2026-05-01,q,a,"{nested(600).replace(chr(34), chr(34) * 2)}"\n'
    )
    report = validate_file(path=csv_path)
    assert report.records == 2 and report.problem_lines() == [f"{csv_path}:3: meta: {DEPTH_TEXT}"]

    deep = '{"arrayValue":{"values":[' * 300 + '{"stringValue":"x"}' + "]}}" * 300  # orjson writes 255 levels
    span = (
        '{"traceId": "' + "a" * 32 + '", "spanId": "' + "b" * 16 + '", "name": "chat", '
        '"startTimeUnixNano": "1777000000000000000", "attributes": ['
        '{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}, {"key": "deep", "value": '
        + deep
        + "}]}"
    )
    otlp = tmp_path / "deep.otlp.json"
    otlp.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [' + span + "]}]}]}\n")
    [problem] = validate_file(path=otlp).problem_lines()
    assert problem.startswith(f"{otlp}:1: otlp: ") and DEPTH_TEXT in problem


def test_nul_is_refused_the_same_way_on_both_databases(db_url, tmp_path):
    path = tmp_path / "nul.jsonl"
    bad = [
        line(2, input="before\x00after"),
        line(3, segment="bill\x00ing"),
        line(4, customer="x\x00"),
        line(5, context=[{"id": "c", "score": 0.5, "text": "po\x00licy"}]),
        line(6, metadata={"k\x00ey": 1}),
        line(7, guardrails=[{"name": "p\x00ii", "stage": "input", "action": "flagged"}]),
    ]
    path.write_bytes(b"\n".join([line(1), *bad, line(8)]) + b"\n")
    result = ingest(db_url, path)
    assert result.exit_code == 2, result.output
    assert f"{path}:2: input: contains a NUL character (\\x00) at position 7; {NUL_TEXT}" in result.stderr
    for n, field in ((3, "segment"), (4, "customer"), (5, "context[0].text"), (6, "k\x00ey"), (7, "guardrails[0].name")):  # fmt: skip
        assert f"{path}:{n}: {field}: " in result.stderr and NUL_TEXT in result.stderr, field
    assert stored(db_url) == ([], 0)

    result = ingest(db_url, path, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert stored(db_url) == (["h-1", "h-8"], 1)
    assert [r["line"] for r in rejects_of(path)] == [2, 3, 4, 5, 6, 7]

    csv_path = tmp_path / "nul.csv"
    csv_path.write_bytes(b"trace_id,timestamp,input,output\nn1,2026-05-01,q\x00,a\nn2,2026-05-01,q,a\n")
    result = ingest(db_url, csv_path, "--on-error", "skip")
    assert result.exit_code == 0 and f"{csv_path}:2: input: contains a NUL" in result.stdout
    assert "n2" in stored(db_url)[0] and "n1" not in stored(db_url)[0]


def test_timestamps_beyond_the_future_tolerance_are_refused(db_url, tmp_path, pinned_clock):
    iso = lambda delta: (TEST_NOW + delta).isoformat() + "Z"  # noqa: E731
    path = tmp_path / "future.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                line(1),
                line(2, timestamp="2099-01-01T00:00:00Z"),
                line(3, timestamp="9999-12-31T23:59:59Z"),
                line(4, timestamp=iso(timedelta(hours=25))),
                line(5, timestamp=iso(timedelta(hours=23))),
                line(
                    6,
                    guardrails=[
                        {"name": "pii", "stage": "input", "action": "flagged", "timestamp": "2099-01-01"}
                    ],
                ),
            ]
        )  # fmt: skip
    )
    result = ingest(db_url, path)
    assert result.exit_code == 2, result.output
    assert (
        f"{path}:2: timestamp: 2099-01-01T00:00:00 is in the future: more than 1 day after now "
        "(2026-06-01T12:00:00); fix the exporter's clock or raise the tolerance"
    ) in result.stderr
    assert f"{path}:3: timestamp: 9999-12-31T23:59:59 is in the future" in result.stderr
    assert f"{path}:4: timestamp: " in result.stderr and f"{path}:5:" not in result.stderr
    assert f"{path}:6: guardrails[0].timestamp: 2099-01-01T00:00:00 is in the future" in result.stderr
    assert stored(db_url) == ([], 0)

    result = ingest(db_url, path, "--on-error", "skip", "--future-tolerance", "0")
    assert result.exit_code == 0, result.output
    assert f"{path}:5: timestamp: " in result.stdout and "more than 0 seconds after now" in result.stdout
    assert stored(db_url) == (["h-1"], 1)

    pinned_clock.advance(hours=2)  # the clock, not the wall clock, decides: line 4 is now within a day
    result = ingest(db_url, path, "--on-error", "skip")
    assert result.exit_code == 0 and stored(db_url)[0] == ["h-1", "h-4", "h-5"]
    result = ingest(db_url, path, "--future-tolerance", "soon")
    assert result.exit_code == 2 and "expected a duration like 1d, 36h, 90m or 0, got 'soon'" in result.stderr


def _parquet(path: Path, n: int, row_group_size: int = 1000) -> None:
    table = pa.table({k: [rec(i)[k] for i in range(n)] for k in ("trace_id", "timestamp", "input", "output")})
    pq.write_table(table, path, row_group_size=row_group_size, compression="none")


def test_damaged_parquet(db_url, tmp_path):
    good = tmp_path / "good.parquet"
    _parquet(good, 3000)
    data = bytearray(good.read_bytes())
    column = pq.ParquetFile(good).metadata.row_group(1).column(0)
    offset = column.dictionary_page_offset or column.data_page_offset
    data[offset : offset + 40] = b"\xff" * 40  # the second row group's first page header
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: len(data) // 2])

    result = ingest(db_url, damaged)
    assert (
        result.exit_code == 2
        and f"{damaged}:1001: file: the Parquet data is damaged from row 1001" in result.stderr
    )
    assert stored(db_url) == ([], 0)
    result = ingest(db_url, damaged, "--on-error", "skip")
    assert result.exit_code == 2, result.output
    assert "the good records before that point were kept" in result.stdout
    ids, events = stored(db_url)
    assert len(ids) == 1000 and events == 1  # rows 1-1000: every good record read was kept
    [reject] = rejects_of(damaged)
    assert reject["line"] == 1001 and reject["errors"][0]["field"] == "file"

    for mode in ("abort", "skip"):
        result = ingest(db_url, truncated, "--on-error", mode)
        assert result.exit_code == 2 and f"{truncated}:0: file: not a readable Parquet file" in result.stderr
    assert len(stored(db_url)[0]) == 1000


def test_a_file_not_of_the_declared_format(db_url, tmp_path):
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_bytes(line(1) + b"\n" + line(2) + b"\n")
    parquet = tmp_path / "t.parquet"
    _parquet(parquet, 3)
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("trace_id,timestamp,input,output\nx,2026-05-01,q,a\n")
    cases = [
        (jsonl, "otlp", f"{jsonl}:1: format: declared otlp, but the file looks like JSON lines (an object per line); pass --format jsonl"),
        (jsonl, "csv", f"{jsonl}:1: format: declared csv, but the file looks like JSON lines"),
        (jsonl, "parquet", f"{jsonl}:0: format: not a Parquet file (no PAR1 marker): it looks like JSON lines"),
        (parquet, "jsonl", f"{parquet}:1: format: declared jsonl, but the file looks like a Parquet file; pass --format parquet"),
        (csv_path, "jsonl", f"{csv_path}:1: format: declared jsonl, but the file looks like CSV (a header line); pass --format csv"),
    ]  # fmt: skip
    for path, fmt, message in cases:
        for mode in ("abort", "skip"):
            result = ingest(db_url, path, "--format", fmt, "--on-error", mode)
            assert result.exit_code == 2 and message in result.stderr, (fmt, mode, result.output)
    assert stored(db_url) == ([], 0)


def test_empty_files_directories_and_cut_off_gzip(db_url, tmp_path):
    empty_csv = tmp_path / "empty.csv"
    empty_csv.write_bytes(b"")
    blank_jsonl = tmp_path / "blank.jsonl"
    blank_jsonl.write_bytes(b"\n  \n")
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(b"\n".join(line(i) for i in range(2000)))[:3000])
    cases = [
        (empty_csv, f"{empty_csv}:0: file: the file is empty: no header line (a CSV file starts with one)"),
        (blank_jsonl, f"{blank_jsonl}:0: file: the file is empty: no records"),
        (folder, f"{folder}:0: file: is a directory; pass one trace file per import"),
        (tmp_path / "missing.csv", f"{tmp_path / 'missing.csv'}:0: file: no such file"),
        (cut, f"{cut}:"),
    ]
    for path, message in cases:
        for mode in ("abort", "skip"):
            result = ingest(db_url, path, "--on-error", mode)
            assert result.exit_code == 2 and message in result.stderr + result.stdout, (path, result.output)
    assert "cannot be read after line" in ingest(db_url, cut).stderr
    header_only = tmp_path / "header.csv"
    header_only.write_text("trace_id,timestamp,input,output\n")  # a header and no rows: a valid empty file
    result = ingest(db_url, header_only)
    assert result.exit_code == 0 and "0 records" in result.stdout


def test_abort_after_written_batches_keeps_nothing(db_url, tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"\n".join([*(line(i) for i in range(1, 40)), line(40, output="x\x00")]) + b"\n")
    result = ingest(db_url, path, "--batch-size", "3")
    assert result.exit_code == 2 and f"{path}:40: output: contains a NUL" in result.stderr
    assert stored(db_url) == ([], 0)


# --- Hypothesis: no value or byte string makes the parsers raise -------------------------------------

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), st.text(max_size=6),
    st.sampled_from(["\x00", "a\x00", "2099-01-01", "", " "]),
)  # fmt: skip
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
)


def deepen(value, depth: int):
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    record=st.dictionaries(
        st.sampled_from(["trace_id", "timestamp", "input", "output", "context", "guardrails", "meta",
                         "segment", "tokens_in", "latency_ms", "extra"]),
        json_values,
    ),
    depth=st.sampled_from([0, 10, 70, 600]),
    where=st.sampled_from(["extra", "meta", "context", "input", "guardrails"]),
)  # fmt: skip
def test_parse_record_never_raises(record, depth, where):
    record = {**rec(1), **record, where: deepen(record.get(where), depth)}
    row, guardrails, problems = parse_record(record)
    assert (row is None) == bool(problems)
    if row is not None:
        assert not has_nul([row["input"], row["output"], row["context"], row["meta"], guardrails])
        assert depth <= MAX_JSON_DEPTH + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=300) | st.sampled_from([b"PAR1", b"\x1f\x8b", b"{\n", b'{"resourceSpans": 5}']),
    head=st.sampled_from([b"", b"trace_id,timestamp,input,output\n", b'{"resourceSpans": [', b"PAR1"]),
    fmt=st.sampled_from(["jsonl", "csv", "otlp", "parquet"]),
)
def test_no_byte_string_makes_a_reader_raise(tmp_path, data, head, fmt):
    path = tmp_path / "any.bin"
    path.write_bytes(head + data)
    report = validate_file(path=path, format=fmt)
    assert report.records >= 0 and all(str(p).startswith(f"{path}:") for p in report.errors)
