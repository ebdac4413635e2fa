"""Reading trace files as a stream of records: JSONL and OTLP line by line, CSV with csv.reader, Parquet
with iter_batches; each record parsed by `ingest_records.parse_record` and checked for duplicate ids.

Batches are bounded by count and bytes, and the ids already seen live in a temporary on-disk SQLite
table, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any

import orjson

from review_store.ingest import otlp
from review_store.ingest.files import FileProblem, Horizon, check_content, open_stream
from review_store.ingest.records import REQUIRED, parse_record
from review_store.ingest.values import DEPTH_MESSAGE

MAX_LINE_BYTES = 32 * 1024 * 1024
MAX_BATCH_BYTES = 64 * 1024 * 1024
csv.field_size_limit(MAX_LINE_BYTES)


@dataclass(slots=True)
class Item:
    line: int
    data: dict[str, Any] | None
    source: str | bytes | None = None  # bytes: the raw JSONL line, decoded only for a rejects file
    problems: Sequence[tuple[str, str]] = ()  # replaced, never appended to: the default is shared
    row: dict[str, Any] | None = None
    guardrails: Sequence[dict[str, Any]] = ()
    prepared: tuple[Any, ...] | None = None  # the row as the writer binds it, made while the row is fresh
    size: int = 0

    def source_text(self) -> str:
        if isinstance(self.source, bytes):
            return self.source.decode("utf-8", "replace").rstrip("\r\n").lstrip("\ufeff")
        if self.source is not None:
            return self.source
        return orjson.dumps(self.data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _read_jsonl(fh: IO[bytes]) -> Iterator[Item]:
    lineno = 0
    readline, loads, decode_error = fh.readline, orjson.loads, orjson.JSONDecodeError
    while raw := readline(MAX_LINE_BYTES + 1):
        lineno += 1
        if len(raw) <= MAX_LINE_BYTES:
            # The usual line: orjson reads the bytes (checking UTF-8 itself); anything it refuses
            # (blank, BOM, bad UTF-8, bad JSON, not an object) takes the careful path for its message.
            try:
                data = loads(raw)
            except decode_error:
                data = None
            if type(data) is dict:
                yield Item(lineno, data, raw, size=len(raw))
                continue
        elif not raw.endswith(b"\n"):
            while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            head = raw[:200].decode("utf-8", "replace")
            yield Item(lineno, None, head + "...", [("line", f"longer than {MAX_LINE_BYTES >> 20} MB")])
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8").rstrip("\r\n").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            yield Item(lineno, None, text, [("encoding", _utf8_message(raw, exc))])
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield Item(lineno, None, text, [("json", f"not valid JSON: {exc}")], size=len(raw))
            continue
        if not isinstance(data, dict):
            yield Item(
                lineno, None, text, [("json", f"each line must be a JSON object, got {type(data).__name__}")]
            )
            continue
        yield Item(lineno, data, text, size=len(raw))


def _utf8_message(raw: bytes, exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"


def _read_csv(fh: IO[bytes]) -> Iterator[Item]:
    pending: list[str] = []
    bad: dict[int, str] = {}
    count = [0]

    def lines() -> Iterator[str]:
        for raw in fh:
            count[0] += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad[count[0]] = _utf8_message(raw, exc)
                text = raw.decode("utf-8", "replace")
            text = text.lstrip("\ufeff") if count[0] == 1 else text
            pending.append(text)
            yield text

    reader = csv.reader(lines())
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise FileProblem(1, "header", f"not a CSV header: {exc}") from None
    if not any(header):
        raise FileProblem(1, "header", "no header line: a CSV file starts with the column names")
    if 1 in bad:
        raise FileProblem(1, "header", bad[1])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FileProblem(1, "header", f"missing required column(s): {', '.join(missing)}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileProblem(1, "header", f"column(s) named twice: {', '.join(dupes)}")
    pending.clear()
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Item(start, None, "".join(pending).rstrip("\r\n"), [("csv", str(exc))])
            pending.clear()
            start = reader.line_num + 1
            continue
        source, line, end = "".join(pending).rstrip("\r\n"), start, reader.line_num
        pending.clear()
        start = end + 1
        if not values:
            continue
        problems = [("encoding", bad.pop(n)) for n in range(line, end + 1) if n in bad]
        if not problems and len(values) != len(header):
            problems = [("csv", f"row has {len(values)} values but the header has {len(header)} columns")]
        data = dict(zip(header, values, strict=False)) if not problems else None
        yield Item(line, data, source, problems, size=len(source))


def _parquet_file(path: str | os.PathLike[str]) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise FileProblem(0, "file", f"not a readable Parquet file: {exc}") from None


def _read_parquet(pf: Any) -> Iterator[Item]:
    import pyarrow as pa

    missing = [c for c in REQUIRED if c not in pf.schema_arrow.names]
    if missing:
        raise FileProblem(0, "schema", f"missing required column(s): {', '.join(missing)}")
    row = 0
    for group in range(pf.num_row_groups):  # group by group: a damaged one fails after the ones before
        batches = pf.iter_batches(batch_size=1024, row_groups=[group])
        while True:
            try:
                batch = next(batches, None)
                rows = batch.to_pylist() if batch is not None else []
            except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
                reason = " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())
                raise FileProblem(
                    row + 1, "file", f"the Parquet data is damaged from row {row + 1}: {reason}"
                ) from None
            if batch is None:
                break
            size = max(1, batch.nbytes // max(1, batch.num_rows))
            for data in rows:
                row += 1
                yield Item(row, data, size=size)


def _read_otlp(fh: IO[bytes]) -> Iterator[Item]:
    for line, document, error in otlp.iter_documents(fh):
        if error:
            yield Item(line, None, None, [("json", error)])
            continue
        try:  # one document's spans and records at once: anything odd in it is that line's problem
            records = list(otlp.records_of(otlp.spans_of(document)))
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            reason = DEPTH_MESSAGE if isinstance(exc, RecursionError) else exc
            yield Item(line, None, None, [("otlp", f"not a valid OTLP trace export: {reason}")])
            continue
        for record, problems in records:
            yield Item(
                line,
                record,
                None,
                problems,
                size=sum(len(str(record.get(k) or "")) for k in ("input", "output")),
            )


class SeenIds:
    """trace_id -> first line, on disk, so a 5 GB file does not keep millions of ids in memory."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="review-desk-ingest-")
        self._db = sqlite3.connect(os.path.join(self._dir.name, "seen.db"))
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def duplicates(self, items: list[tuple[str, int]]) -> dict[int, int]:
        """Record these (id, line) pairs; return {line: first line} for ids seen before.

        One lookup per batch (the ids passed as one JSON array) and one executemany insert."""
        out: dict[int, int] = {}
        if not items:
            return out
        ids = [i for i, _ in items]
        first: dict[str, int] = dict(self._lookup(ids))
        if not first and len(set(ids)) == len(ids):  # the usual batch: every id new, none twice
            self._db.executemany("INSERT INTO seen VALUES (?, ?)", items)
            return out
        new: list[tuple[str, int]] = []
        for trace_id, line in items:
            if trace_id in first:
                out[line] = first[trace_id]
            else:
                first[trace_id] = line
                new.append((trace_id, line))
        self._db.executemany("INSERT INTO seen VALUES (?, ?)", new)
        return out

    def _lookup(self, ids: list[str]) -> list[tuple[str, int]]:
        try:
            array = orjson.dumps(ids)
        except TypeError:  # text orjson refuses (lone surrogates): bind the ids one by one
            found = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found += self._db.execute(
                    f"SELECT id, line FROM seen WHERE id IN ({marks})", chunk
                ).fetchall()
            return found
        return self._db.execute(
            "SELECT id, line FROM seen WHERE id IN (SELECT value FROM json_each(?))", (array,)
        ).fetchall()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def batches(
    path: str | os.PathLike[str],
    fmt: str,
    batch_size: int,
    progress: Callable[[float], None] | None,
    prepare: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
    horizon: Horizon | None = None,
) -> Iterator[list[Item]]:
    """Parsed, validated, duplicate-checked records in batches bounded by count and bytes.

    Raises FileProblem when the file is empty, not of `fmt`, or cannot be read on (after yielding the
    batches read before that point)."""
    check_content(path, fmt)
    with ExitStack() as stack:
        seen = SeenIds()
        stack.callback(seen.close)
        if fmt == "parquet":
            pf = _parquet_file(path)
            total = max(1, pf.metadata.num_rows)
            items = _read_parquet(pf)
            fraction: Callable[[int], float] = lambda line: min(1.0, line / total)  # noqa: E731
        else:
            fh, raw = stack.enter_context(open_stream(path))
            size = max(1, os.path.getsize(path))
            items = _readable({"jsonl": _read_jsonl, "csv": _read_csv, "otlp": _read_otlp}[fmt](fh))
            fraction = lambda _line: min(1.0, raw.tell() / size)  # noqa: E731
        batch: list[Item] = []
        used = 0
        try:
            for item in items:
                if item.data is not None:
                    parse_item(item, horizon)
                    if prepare is not None and item.row is not None:
                        item.prepared = prepare(item.row)
                batch.append(item)
                used += item.size
                if len(batch) >= batch_size or used >= MAX_BATCH_BYTES:
                    yield _finish(batch, seen)
                    if progress:
                        progress(fraction(batch[-1].line))
                    batch, used = [], 0
        except FileProblem:
            if batch:  # the records read before the file became unreadable are still handed over
                yield _finish(batch, seen)
            raise
        if batch:
            yield _finish(batch, seen)
        if progress:
            progress(1.0)


def _readable(items: Iterator[Item]) -> Iterator[Item]:
    """The reader's items; a read error (cut-off gzip, I/O error) becomes a FileProblem at that line."""
    line = 0
    try:
        for item in items:
            line = item.line
            yield item
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem(line + 1, "file", f"cannot be read after line {line}: {exc}") from None


def parse_item(item: Item, horizon: Horizon | None = None) -> None:
    """Parse as soon as read (every format, and OTLP over HTTP), and let go of the record's dict when its source text is kept: a batch
    then holds only the rows, which keeps its working set small (and the import fast)."""
    assert item.data is not None
    try:
        row, guardrails, problems = parse_record(item.data)
    except RecursionError:  # defence in depth: the depth limit should have refused it first
        row, guardrails, problems = None, [], [("record", DEPTH_MESSAGE)]
    if horizon is not None and row is not None:
        late = [("timestamp", horizon.problem(row["ts"]))]
        late += [(f"guardrails[{i}].timestamp", horizon.problem(g["ts"])) for i, g in enumerate(guardrails)]
        problems = [(f, m) for f, m in late if m is not None]
        if problems:
            row = None
    if problems:
        known = {f for f, _ in item.problems}
        item.problems = [*item.problems, *((f, m) for f, m in problems if f not in known)]
    if not item.problems:
        item.row, item.guardrails = row, guardrails
        if item.source is not None:
            item.data = None


def _finish(batch: list[Item], seen: SeenIds) -> list[Item]:
    ids = [(item.row["external_id"], item.line) for item in batch if item.row is not None]
    dupes = seen.duplicates(ids)
    if dupes:
        for item in batch:
            if item.line in dupes and item.row is not None:
                first = dupes[item.line]
                message = f"duplicate trace_id {item.row['external_id']!r} (first on line {first})"
                item.problems = [*item.problems, ("trace_id", message)]
                item.row = None
    return batch
