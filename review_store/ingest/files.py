"""The file as a whole: does it exist, which format is it, is it plainly not that format, is it empty.

Every refusal here names the file, a line (0: the file as a whole), a field and the reason, like the
per-record problems, so a user sees one shape of message whatever went wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from review_store.errors import ValidationFailed

FORMATS = ("jsonl", "csv", "parquet", "otlp")


class FileProblem(Exception):
    """The file cannot be read (on): no header, not of the declared format, damaged Parquet, cut-off gzip.

    `line` is where reading stopped (0: the file as a whole); records read before it were fine."""

    def __init__(self, line: int, field_: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field_, message


@dataclass(frozen=True)
class Horizon:
    """The newest timestamp accepted: the clock's now plus a tolerance for exporters' clock skew.

    Traces dated after it (2099, 9999...) would end every time window at a date that has not come."""

    now: datetime
    tolerance: timedelta

    @property
    def latest(self) -> datetime:
        return self.now + self.tolerance

    def problem(self, ts: datetime) -> str | None:
        if ts <= self.latest:
            return None
        return (
            f"{ts.isoformat()} is in the future: more than {_span(self.tolerance)} after now "
            f"({self.now.isoformat(timespec='seconds')}); fix the exporter's clock or raise the tolerance"
        )


def parse_tolerance(text: str) -> timedelta:
    """'1d', '36h', '90m', '0' (or a number of hours) -> timedelta; ValidationFailed otherwise."""
    raw = str(text).strip().lower()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in units else (raw, "h")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value >= 0 or value > 3650 * 86400 / units[unit]:
        raise ValidationFailed(f"future tolerance: expected a duration like 1d, 36h, 90m or 0, got {text!r}")
    return timedelta(seconds=value * units[unit])


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def check_path(path: str | os.PathLike[str], name: str | None = None) -> None:
    """ValidationFailed (`file:0: file: ...`) unless `path` is a readable regular file."""
    shown, p = name or str(path), Path(path)
    if p.is_dir():
        raise ValidationFailed(f"{shown}:0: file: is a directory; pass one trace file per import")
    if not p.exists():
        raise ValidationFailed(f"{shown}:0: file: no such file")
    if not p.is_file():
        raise ValidationFailed(f"{shown}:0: file: is not a regular file")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise ValidationFailed(f"{shown}:0: file: cannot be read: {exc.strerror or exc}") from None


def detect_format(path: str | os.PathLike[str], format: str | None = None, name: str | None = None) -> str:
    """The format named, else the one the file name says (.jsonl/.ndjson/.json, .csv, .parquet, .otlp.json)."""
    shown = name or str(path)
    if format:
        if format not in FORMATS:
            raise ValidationFailed(
                f"{shown}:0: format: unknown format {format!r}; use one of {', '.join(FORMATS)}"
            )
        return format
    name = Path(path).name.lower().removesuffix(".gz")
    if ".otlp" in name or name.startswith("otlp"):
        return "otlp"
    suffix = Path(name).suffix
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "otlp" if _looks_like_otlp(path) else "jsonl"
    raise ValidationFailed(
        f"{shown}:0: format: cannot tell the format from the name; pass --format {'|'.join(FORMATS)}"
    )


def _looks_like_otlp(path: str | os.PathLike[str]) -> bool:
    try:
        with open_stream(path) as (fh, _):
            head = fh.read(4096)
    except (OSError, EOFError, zlib.error):
        return False  # the reader reports the damage with its line
    return b"resourceSpans" in head or b"resource_spans" in head


def sniff(path: str | os.PathLike[str]) -> str | None:
    """What the content looks like: empty | parquet | binary | otlp | jsonl | csv, or None (unsure)."""
    try:
        with open(path, "rb") as raw:
            if raw.read(4) == b"PAR1":
                return "parquet"
        with open_stream(path) as (fh, _):
            head = fh.read(64 * 1024)
    except (OSError, EOFError, zlib.error):
        return None  # the reader reports the damage with its line
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "empty"
    sample = head[:4096]
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    if controls * 10 > len(sample):  # text files have few control bytes; a stray NUL is a field's problem
        return "binary"
    first = text.split(b"\n", 1)[0]
    if text[:1] in (b"{", b"["):
        if b"resourceSpans" in head[:4096] or b"resource_spans" in head[:4096]:
            return "otlp"
        return "jsonl" if text[:1] == b"{" else None
    return "csv" if b"," in first and b"trace_id" in first else None


_HINT = {
    "parquet": "a Parquet file",
    "binary": "binary content, not text",
    "otlp": "an OTLP-JSON export (resourceSpans)",
    "jsonl": "JSON lines (an object per line)",
    "csv": "CSV (a header line)",
}


def check_content(path: str | os.PathLike[str], fmt: str) -> None:
    """FileProblem when the file is empty or plainly not of the declared format (sniffed from its start)."""
    seen = sniff(path)
    if seen == "empty":
        what = "no header line (a CSV file starts with one)" if fmt == "csv" else "no records"
        raise FileProblem(0, "file", f"the file is empty: {what}")
    if seen is None or seen == fmt:
        return
    if fmt == "parquet":
        raise FileProblem(0, "format", f"not a Parquet file (no PAR1 marker): it looks like {_HINT[seen]}")
    hint = f"; pass --format {seen}" if seen in FORMATS else ""
    raise FileProblem(1, "format", f"declared {fmt}, but the file looks like {_HINT[seen]}{hint}")


@contextmanager
def open_stream(path: str | os.PathLike[str]) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """(stream to read, raw file for progress); .gz files are decompressed on the fly."""
    with open(path, "rb") as raw:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(fileobj=raw) as fh:
                yield fh, raw
        else:
            yield raw, raw
