"""One trace record (a dict from a JSONL line, CSV row, Parquet row or OTLP span) -> a normalised row.

Kept apart from the file handling in `review_store.ingest` so the rules are easy to read and to test
with Hypothesis: every problem is a (field, message) pair whose message says what was expected.
`parse_record` first tries a fast path of plain type checks for well-formed values (most records of a
real file) and otherwise runs the detailed checkers of `review_store.ingest_checks`, which write the
messages; tests/test_ingest_fast.py checks that both give the same result.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from review_store.ingest.checks import (
    ACTIONS,
    BOOLS,
    FLOATS,
    GUARDRAIL_COLUMNS,
    INTS,
    KNOWN,
    MAX_ID_CHARS,
    MAX_JSON_DEPTH,
    MAX_TEXT_CHARS,
    REQUIRED,
    SHORT_TEXT,
    STAGES,
    TRACE_COLUMNS,
    Bad,
    jsonable,
    meta_of,
    parse_record_detailed,
    parse_timestamp,
)
from review_store.ingest.costs import fill_cost
from review_store.ingest.values import json_text_of

__all__ = [
    "ACTIONS",
    "BOOLS",
    "FLOATS",
    "GUARDRAIL_COLUMNS",
    "INTS",
    "KNOWN",
    "MAX_ID_CHARS",
    "MAX_TEXT_CHARS",
    "REQUIRED",
    "SHORT_TEXT",
    "STAGES",
    "TRACE_COLUMNS",
    "Bad",
    "jsonable",
    "parse_record",
    "parse_record_detailed",
    "parse_timestamp",
]


def parse_record(
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[tuple[str, str]]]:
    """(trace row for the Trace table, guardrail events, problems); the row is None when any problem.

    Well-typed records take `_fast_record`; anything it is unsure of goes through the detailed
    checkers, which alone write the messages, so both give the same result for every record.
    """
    fast = _fast_record(data)
    if fast is not None:
        return fast
    return parse_record_detailed(data)


# --- the fast path: plain type checks for well-formed values ----------------------------------------
# Each check accepts only values for which the detailed converter above returns the same thing without
# a problem; anything else (a string number, "yes", a zone name, extra chunk keys...) returns None and
# the record is parsed again by parse_record_detailed, which produces the messages.

_EXACT = 2**53  # integers up to this survive the detailed path's float() round trip unchanged
_INF = math.inf
_SHORT_ITEMS = tuple((k, SHORT_TEXT[k]) for k in ("app", "segment", "release", "model", "prompt_version"))
_END_USER_CHARS, _TENANT_CHARS = SHORT_TEXT["end_user"], SHORT_TEXT["tenant"]
_KNOWN = frozenset(KNOWN)
_CHUNK_KEYS = frozenset(("id", "score", "text"))
_SKIP = object()  # "not sure": take the detailed path
_NUL = "\x00"


def _fast_ts(value: Any) -> Any:
    if type(value) is str:
        # ISO dates have "-" at index 4, which no float text has there, so the epoch branch never applies
        if len(value) < 10 or value[4] != "-":
            return _SKIP
        try:
            if value[-1] == "Z" and value[10] == "T" and value[-2].isdigit():
                # date, time, "Z": the same wall time parsed naive (replace(tzinfo=None) is slow)
                value = datetime.fromisoformat(value[:-1])
                return value if value.tzinfo is None else _SKIP
            value = datetime.fromisoformat(value)
        except ValueError:
            return _SKIP
    elif type(value) is not datetime:
        return _SKIP
    zone = value.tzinfo
    if zone is None:
        return value
    if zone is UTC:  # "Z" or +00:00: the same wall time
        return value.replace(tzinfo=None)
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return _SKIP


def _fast_score(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is float:
        return value if -_INF < value < _INF else _SKIP
    if type(value) is int and -_EXACT <= value <= _EXACT:
        return float(value)
    return _SKIP


def _fast_context(value: Any) -> Any:
    if value is None:
        return []
    if type(value) is not list:
        return _SKIP
    chunks = []
    for chunk in value:
        if type(chunk) is not dict:
            return _SKIP
        cid, score, text = chunk.get("id"), chunk.get("score"), chunk.get("text")
        if type(cid) is str and type(score) is float and type(text) is str and len(chunk) == 3:
            # the usual chunk: exactly id, score, text
            cid = cid.strip()
            if len(cid) > MAX_ID_CHARS or len(text) > MAX_TEXT_CHARS or not -_INF < score < _INF:
                return _SKIP
            if _NUL in cid or _NUL in text:
                return _SKIP
        else:
            if not chunk.keys() <= _CHUNK_KEYS:
                return _SKIP
            if cid is not None:
                if type(cid) is str:
                    cid = cid.strip()
                    if len(cid) > MAX_ID_CHARS or _NUL in cid:
                        return _SKIP
                elif type(cid) is int:
                    cid = str(cid)
                else:
                    return _SKIP
            score = _fast_score(score)
            if text is None:
                text = ""
            elif type(text) is not str or len(text) > MAX_TEXT_CHARS or score is _SKIP or _NUL in text:
                return _SKIP
            if score is _SKIP:
                return _SKIP
        chunks.append({"id": cid, "score": score, "text": text})
    return chunks


def _fast_guardrails(value: Any, ts: datetime) -> Any:
    if value is None:
        return []
    if type(value) is not list:
        return _SKIP
    events = []
    for g in value:
        if type(g) is not dict:
            return _SKIP
        when = g.get("timestamp", g.get("ts"))  # as the detailed checker reads it
        if when is None:
            when = ts
        elif type(when) is not datetime or when.tzinfo is not None:
            return _SKIP  # text, epoch numbers, zones: the detailed path
        name, stage, action = g.get("name"), g.get("stage"), g.get("action")
        if type(name) is not str or stage not in STAGES or action not in ACTIONS:
            return _SKIP
        name = name.strip()
        score = _fast_score(g.get("score"))
        if not name or len(name) > 120 or score is _SKIP or type(stage) is not str or type(action) is not str:
            return _SKIP
        if _NUL in name:
            return _SKIP
        events.append({"name": name, "stage": stage, "action": action, "score": score, "ts": when})
    return events


def _fast_record(
    data: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str]]] | None:
    get = data.get
    trace_id, inp, out = get("trace_id"), get("input"), get("output")
    if type(trace_id) is not str or type(inp) is not str or type(out) is not str:
        return None
    trace_id = trace_id.strip()
    if not trace_id or len(trace_id) > MAX_ID_CHARS or len(inp) > MAX_TEXT_CHARS or len(out) > MAX_TEXT_CHARS:
        return None
    if _NUL in trace_id or _NUL in inp or _NUL in out:
        return None  # refused: the detailed checkers say why
    ts = _fast_ts(get("timestamp"))
    if ts is _SKIP:
        return None
    app, segment, release = get("app"), get("segment"), get("release")
    model, prompt_version = get("model"), get("prompt_version")
    if (
        type(app) is str
        and type(segment) is str
        and type(release) is str
        and type(model) is str
        and type(prompt_version) is str
    ):  # all present: the usual record
        app, segment, release = app.strip(), segment.strip(), release.strip()
        model, prompt_version = model.strip(), prompt_version.strip()
        if len(app) > 120 or len(segment) > 120 or len(release) > 120 or len(prompt_version) > 120:
            return None
        if len(model) > 200:
            return None
        if _NUL in app or _NUL in segment or _NUL in release or _NUL in model or _NUL in prompt_version:
            return None
    else:
        short = [_fast_short(get(key), limit) for key, limit in _SHORT_ITEMS]
        if _SKIP in short:
            return None
        app, segment, release, model, prompt_version = short
    end_user, tenant = get("end_user"), get("tenant")
    if end_user is not None or tenant is not None:  # most files carry neither: two lookups, no call
        end_user, tenant = _fast_short(end_user, _END_USER_CHARS), _fast_short(tenant, _TENANT_CHARS)
        if end_user is _SKIP or tenant is _SKIP:
            return None
    else:
        end_user = tenant = ""
    latency, ttft, cost = get("latency_ms"), get("ttft_ms"), get("cost_usd")
    if type(latency) is float and type(ttft) is float and type(cost) is float:
        if not (0.0 <= latency < _INF and 0.0 <= ttft < _INF and 0.0 <= cost < _INF):
            return None
    else:
        latency, ttft, cost = _fast_float(latency), _fast_float(ttft), _fast_float(cost)
        if latency is _SKIP or ttft is _SKIP or cost is _SKIP:
            return None
    tokens_in, tokens_out = get("tokens_in"), get("tokens_out")
    if tokens_in is not None and not (type(tokens_in) is int and 0 <= tokens_in <= _EXACT):
        return None
    if tokens_out is not None and not (type(tokens_out) is int and 0 <= tokens_out <= _EXACT):
        return None
    cache_hit, task_success = get("cache_hit"), get("task_success")
    if cache_hit is not None and cache_hit is not True and cache_hit is not False:
        return None
    if task_success is not None and task_success is not True and task_success is not False:
        return None
    feedback = get("user_feedback")
    if feedback is None or feedback == "none":
        feedback = None
    elif feedback != "up" and feedback != "down":
        return None
    shadow_of = get("shadow_of")
    if shadow_of is not None:  # a shadow trace: plain text naming another trace, and a candidate release
        if type(shadow_of) is not str:
            return None
        shadow_of = shadow_of.strip()
        if not shadow_of or len(shadow_of) > MAX_ID_CHARS or _NUL in shadow_of:
            return None
        if shadow_of == trace_id or not release:
            return None
    context = _fast_context(get("context"))
    guardrails = _fast_guardrails(get("guardrails"), ts)
    if context is _SKIP or guardrails is _SKIP:
        return None
    if get("metadata") is None and get("meta") is None and _KNOWN.issuperset(data):
        meta: dict[str, Any] = {}
    elif (meta := _fast_meta(data)) is not None:
        pass
    else:
        problems: list[tuple[str, str]] = []
        meta = meta_of(data, problems)
        if problems:
            return None
    scores = [c["score"] for c in context if c["score"] is not None]
    row = {
        "external_id": trace_id, "ts": ts, "input": inp, "output": out, "app": app, "segment": segment,
        "release": release, "model": model, "prompt_version": prompt_version, "end_user": end_user,
        "tenant": tenant, "latency_ms": latency,
        "ttft_ms": ttft, "cost_usd": cost, "tokens_in": tokens_in, "tokens_out": tokens_out,
        "cache_hit": cache_hit, "task_success": task_success, "user_feedback": feedback, "context": context,
        "meta": meta, "top_retrieval_score": max(scores) if scores else None, "shadow_of": shadow_of,
    }  # fmt: skip
    return fill_cost(row), guardrails, []


def _fast_short(value: Any, limit: int) -> Any:
    if value is None:
        return ""
    if type(value) is not str:
        return _SKIP
    value = value.strip()
    return value if len(value) <= limit and _NUL not in value else _SKIP


def _fast_float(value: Any) -> Any:
    if value is None or (type(value) is float and 0.0 <= value < _INF):
        return value
    if type(value) is int and 0 <= value <= _EXACT:
        return float(value)
    return _SKIP


_INT64 = 2**63


def _fast_meta(data: dict[str, Any]) -> dict[str, Any] | None:
    """meta_of's result for the usual case (no extra fields; `metadata`/`meta` objects of plain JSON
    values: str keys, text without NUL, 64-bit integers, finite floats, nested at most MAX_JSON_DEPTH),
    which jsonable leaves as it is and json_problem passes; None for anything else (the detailed path).
    One walk instead of meta_of's four (depth, jsonable, NUL, size): an OTLP span's meta holds all its
    unmapped attributes."""
    if not _KNOWN.issuperset(data):
        return None
    meta: dict[str, Any] = {}
    for key in ("metadata", "meta"):
        part = data.get(key)
        if part is None or part == "":
            continue
        if type(part) is not dict:
            return None
        meta.update(part)
    if not meta:
        return None
    stack: list[tuple[Any, int]] = [(meta, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return None
        children = node.values() if type(node) is dict else node
        if type(node) is dict:
            for key in node:
                if type(key) is not str or _NUL in key:
                    return None
        for child in children:
            kind = type(child)
            if kind is str:
                if _NUL in child:
                    return None
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is int:
                if not -_INT64 <= child < _INT64:
                    return None
            elif kind is float:
                if not -_INF < child < _INF:
                    return None
            elif child is not None and kind is not bool:
                return None
    if len(json_text_of(meta)) > MAX_TEXT_CHARS:
        return None  # too big: the detailed path says so
    return meta
