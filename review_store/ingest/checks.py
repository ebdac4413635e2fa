"""The detailed per-field checkers for one trace record: each converter raises `Bad` with a message that
says what was expected, and `parse_record_detailed` collects (field, message) pairs for every problem.

`review_store.ingest.records.parse_record` (the entry point) tries its fast path first and falls back to
these, which alone write the messages. Timestamps with an offset become naive UTC; naive ones are taken as
UTC; numbers as epoch seconds (milliseconds above 1e11, nanoseconds above 1e16).
The rules every value obeys (depth limit, no NUL) are in `review_store.ingest.values`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from review_store.ingest.costs import fill_cost
from review_store.ingest.values import (
    DEPTH_MESSAGE,
    MAX_ID_CHARS,
    MAX_JSON_DEPTH,
    MAX_TEXT_CHARS,
    Bad,
    json_problem,
    json_text_of,
    jsonable,
    kind_of,
    no_nul,
    too_deep,
)

__all__ = ["MAX_ID_CHARS", "MAX_JSON_DEPTH", "MAX_TEXT_CHARS", "Bad", "jsonable", "parse_record_detailed"]

REQUIRED = ("trace_id", "timestamp", "input", "output")
SHORT_TEXT = {
    "app": 120, "segment": 120, "release": 120, "model": 200, "prompt_version": 120,
    "end_user": 120, "tenant": 120,  # who the traffic was for (optional; "" when not given)
}  # fmt: skip
FLOATS = ("latency_ms", "ttft_ms", "cost_usd")
INTS = ("tokens_in", "tokens_out")
BOOLS = ("cache_hit", "task_success")
STAGES = ("input", "output")
ACTIONS = ("blocked", "flagged", "redacted", "escalated")
KNOWN = {
    *REQUIRED,
    *SHORT_TEXT,
    *FLOATS,
    *INTS,
    *BOOLS,
    "user_feedback",
    "context",
    "guardrails",
    "meta",
    "metadata",
    "shadow_of",
}
TRACE_COLUMNS = (
    "ts", "app", "segment", "release", "model", "prompt_version", "input", "output", "context", "latency_ms",
    "ttft_ms", "tokens_in", "tokens_out", "cost_usd", "cost_source", "cache_hit", "user_feedback",
    "task_success", "top_retrieval_score", "meta", "end_user", "tenant", "shadow_of",
)  # fmt: skip
GUARDRAIL_COLUMNS = ("ts", "name", "stage", "action", "score")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_ZONE_NAME = re.compile(r"(\s*[A-Za-z]{2,5}|\[[^\]]*\])$")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
_EPOCH = datetime(1970, 1, 1)


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 text, a datetime or epoch number -> naive UTC."""
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Bad(f"expected an ISO 8601 timestamp, got {kind_of(value)}")
    text = str(value).strip()
    if not text:
        raise Bad("is empty")
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError as exc:
        offset = _OFFSET.search(text)
        if offset and (int(offset[2]) > 23 or int(offset[3]) > 59):
            raise Bad(f"time zone offset {offset[0]} is out of range (-23:59 .. +23:59)") from None
        if re.match(r"\d{4}-\d{2}-\d{2}", text) and _ZONE_NAME.search(text) and not text[-1].isdigit():
            raise Bad(f"{text!r}: time zone names are ambiguous; write an offset like +01:00 or Z") from None
        raise Bad(f"{text!r} is not an ISO 8601 timestamp (e.g. 2026-01-05T12:00:00Z): {exc}") from None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise Bad(f"{value.isoformat()} is out of range once converted to UTC") from None


def _epoch(number: float) -> datetime:
    if not math.isfinite(number) or number < 0:
        raise Bad(f"epoch time {number} is not a valid time")
    scale = 1e9 if number > 1e16 else 1e3 if number > 1e11 else 1.0
    try:
        return _EPOCH + timedelta(seconds=number / scale)
    except OverflowError:
        raise Bad(f"epoch time {number} is out of range") from None


def _trace_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Bad(f"expected text, got {kind_of(value)}")
    text = str(value).strip()
    if not text:
        raise Bad("is empty")
    if len(text) > MAX_ID_CHARS:
        raise Bad(f"{len(text):,} characters; the limit is {MAX_ID_CHARS}")
    return no_nul(text)


def _long_text(value: Any) -> str:
    if isinstance(value, list | dict):
        if too_deep(value):
            raise Bad(DEPTH_MESSAGE)
        value = json_text_of(value)
    if not isinstance(value, str):
        raise Bad(f"expected text, got {kind_of(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise Bad(f"{len(value):,} characters; the limit is {MAX_TEXT_CHARS:,} per text field")
    return no_nul(value)


def _short_text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Bad(f"expected text, got {kind_of(value)}")
    text = str(value).strip()
    if len(text) > limit:
        raise Bad(f"{len(text):,} characters; the limit is {limit}")
    return no_nul(text)


def _number(value: Any, *, negative: bool = False) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Bad(f"expected a number, got {kind_of(value)}")
    try:
        number = float(value)
    except ValueError:
        raise Bad(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise Bad(f"expected a finite number, got {value!r}")
    if number < 0 and not negative:
        raise Bad(f"must not be negative, got {value!r}")
    return number


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is None:
        return None
    if not number.is_integer():
        raise Bad(f"expected a whole number, got {value!r}")
    if number > 2**53:  # beyond what both databases' integer columns (and a float) hold exactly
        raise Bad(f"{value!r} is too large; the limit is {2**53:,}")
    return int(number)


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Bad(f"expected true/false/1/0/yes/no, got {value!r}")


def _feedback(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text in ("up", "down"):
        return text
    if text in ("none", "null"):
        return None
    raise Bad(f"expected up, down or none, got {value!r}")


def _json(value: Any, want: type, what: str) -> Any:
    if value is None or value == "":
        return want()
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise Bad(f"is not valid JSON: {exc}") from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, want):
        raise Bad(f"expected {what}, got {kind_of(value)}")
    if too_deep(value):
        raise Bad(DEPTH_MESSAGE)
    return value


def _context(value: Any, problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    chunks = []
    for i, chunk in enumerate(_json(value, list, "a JSON list of chunks {id, score, text}")):
        where = f"context[{i}]"
        if isinstance(chunk, str):
            chunk = {"text": chunk}
        if not isinstance(chunk, dict):
            problems.append((where, f"expected an object {{id, score, text}}, got {kind_of(chunk)}"))
            continue
        out = jsonable({k: v for k, v in chunk.items() if k not in ("id", "score", "text", "content")})
        for key, conv in (
            ("id", lambda v: None if v is None else _short_text(v, MAX_ID_CHARS)),
            ("score", lambda v: _number(v, negative=True)),
            ("text", lambda v: _long_text("" if v is None else v)),
        ):
            raw = chunk.get(key, chunk.get("content")) if key == "text" else chunk.get(key)
            try:
                out[key] = conv(raw)
            except Bad as exc:
                problems.append((f"{where}.{key}", str(exc)))
        chunks.append(out)
    return chunks


def _guardrails(value: Any, ts: datetime | None, problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    events = []
    for i, g in enumerate(_json(value, list, "a JSON list of {name, stage, action, score}")):
        where = f"guardrails[{i}]"
        if not isinstance(g, dict):
            problems.append((where, f"expected an object {{name, stage, action, score}}, got {kind_of(g)}"))
            continue
        event: dict[str, Any] = {}
        for key, conv in (
            ("name", _guard_name),
            ("stage", lambda v: _choice(v, STAGES)),
            ("action", lambda v: _choice(v, ACTIONS)),
            ("score", lambda v: _number(v, negative=True)),
        ):
            try:
                event[key] = conv(g.get(key))
            except Bad as exc:
                problems.append((f"{where}.{key}", str(exc)))
        when = g.get("timestamp", g.get("ts"))
        try:
            event["ts"] = ts if when in (None, "") else parse_timestamp(when)
        except Bad as exc:
            problems.append((f"{where}.timestamp", str(exc)))
        events.append(event)
    return events


def _guard_name(value: Any) -> str:
    if value is None or value == "":
        raise Bad("missing")
    return _short_text(value, 120)


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value is None or value == "":
        raise Bad(f"missing; expected one of {', '.join(allowed)}")
    text = str(value).strip().lower()
    if text not in allowed:
        raise Bad(f"expected one of {', '.join(allowed)}, got {value!r}")
    return text


def parse_record_detailed(
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[tuple[str, str]]]:
    """`parse_record` through the per-field checkers only (the reference the fast path is tested against)."""
    problems: list[tuple[str, str]] = [
        (str(key), DEPTH_MESSAGE)
        for key, value in data.items()
        if isinstance(value, dict | list) and too_deep(value)
    ]
    if problems:  # nothing below may walk a value this deep
        return None, [], problems
    row: dict[str, Any] = {}

    def put(column: str, key: str, conv: Any, *args: Any) -> None:
        try:
            row[column] = conv(data.get(key), *args)
        except Bad as exc:
            problems.append((key, str(exc)))

    for key in REQUIRED:
        if data.get(key) is None:
            problems.append((key, "missing required field"))
    if data.get("trace_id") is not None:
        put("external_id", "trace_id", _trace_id)
    if data.get("timestamp") is not None:
        put("ts", "timestamp", parse_timestamp)
    for key in ("input", "output"):
        if data.get(key) is not None:
            put(key, key, _long_text)
    for key, limit in SHORT_TEXT.items():
        put(key, key, _short_text, limit)
    for key in FLOATS:
        put(key, key, _number)
    for key in INTS:
        put(key, key, _integer)
    for key in BOOLS:
        put(key, key, _bool)
    put("user_feedback", "user_feedback", _feedback)
    shadow = None
    if data.get("shadow_of") not in (None, ""):
        try:
            shadow = _trace_id(data["shadow_of"])
        except Bad as exc:
            problems.append(("shadow_of", str(exc)))
        if shadow is not None and shadow == row.get("external_id"):
            problems.append(
                ("shadow_of", f"{shadow!r} is this trace's own id; a shadow answers another trace")
            )
        if shadow is not None and "release" in row and not row["release"]:
            problems.append(("release", "a shadow trace (shadow_of set) must name its candidate release"))
    try:
        row["context"] = _context(data.get("context"), problems)
    except Bad as exc:
        problems.append(("context", str(exc)))
    try:
        guardrails = _guardrails(data.get("guardrails"), row.get("ts"), problems)
    except Bad as exc:
        problems.append(("guardrails", str(exc)))
        guardrails = []
    row["meta"] = meta_of(data, problems)
    if not problems and row["context"] and (problem := json_problem(row["context"])):
        problems.append(("context", problem))
    if problems:
        return None, [], problems
    scores = [c["score"] for c in row["context"] if c.get("score") is not None]
    row["top_retrieval_score"] = max(scores) if scores else None
    row["shadow_of"] = shadow
    return fill_cost(row), guardrails, []


def meta_of(data: dict[str, Any], problems: list[tuple[str, str]]) -> dict[str, Any]:
    """The record's free metadata: `metadata`/`meta` objects plus every field not named in the format.

    Each extra field is checked where it stands (depth, NUL), so a problem names the field itself."""
    meta: dict[str, Any] = {}
    for key in ("metadata", "meta"):
        try:
            meta.update(_json(data.get(key), dict, "a JSON object"))
        except Bad as exc:
            problems.append((key, str(exc)))
    for key, value in data.items():
        if key in KNOWN or value is None or value == "":
            continue
        if too_deep(value):
            problems.append((str(key), DEPTH_MESSAGE))
            continue
        meta[key] = value
    if not meta or problems:
        return meta
    meta = jsonable(meta)
    problem = json_problem(meta)
    if problem is not None:
        where = next((str(k) for k, v in meta.items() if json_problem({k: v})), "meta")
        problems.append((where, problem) if where != "meta" else ("meta", f"extra fields: {problem}"))
    return meta
