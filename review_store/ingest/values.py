"""Rules every stored value obeys, whatever field or format it came from.

Hostile input is refused with a message, never a crash:
- JSON values (context, guardrails, meta, extra fields) may nest at most MAX_JSON_DEPTH levels; deeper
  ones are refused before anything walks them recursively (a Python RecursionError otherwise).
- No text may hold a NUL character. PostgreSQL cannot store one (text or JSON); SQLite could, but the same
  file must give the same result on both databases, so NUL is refused everywhere, never silently stripped.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

MAX_TEXT_CHARS = 1_000_000
MAX_ID_CHARS = 200
MAX_JSON_DEPTH = 64  # levels of nested objects/lists in any JSON value
DEPTH_MESSAGE = f"JSON nested more than {MAX_JSON_DEPTH} levels deep; the limit is {MAX_JSON_DEPTH} levels"
NUL_RULE = "NUL characters are refused in every field (PostgreSQL cannot store them); remove them first"


class Bad(ValueError):
    """A field's value does not fit; the message says what was expected."""


def kind_of(value: Any) -> str:
    """How a value is described in a message ("text", "a list", ...)."""
    return {bool: "a boolean", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when lists/objects inside `value` nest more than `limit` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def no_nul(text: str) -> str:
    """The text, or Bad when it holds a NUL character (the one rule on SQLite and PostgreSQL)."""
    if "\x00" in text:
        raise Bad(f"contains a NUL character (\\x00) at position {text.index(chr(0)) + 1}; {NUL_RULE}")
    return text


def has_nul(value: Any) -> bool:
    """True when any text (or object key) inside a JSON value holds a NUL character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def jsonable(value: Any) -> Any:
    """Values from Parquet/CSV as JSON-safe values for the meta column (call on depth-checked values)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text_of(value: Any) -> str:
    """Compact JSON text of a (depth-checked) value, as the database's JSON column would hold it."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # integers beyond 64 bits: the json module writes them
        return json.dumps(value, default=str, separators=(",", ":"))


def json_problem(value: Any) -> str | None:
    """Why a JSON value cannot be stored (too deep, too big, a NUL inside), or None."""
    if too_deep(value):
        return DEPTH_MESSAGE
    if has_nul(value):
        return f"holds a NUL character (\\x00); {NUL_RULE}"
    if len(json_text_of(value)) > MAX_TEXT_CHARS:
        return f"takes over {MAX_TEXT_CHARS:,} bytes as JSON"
    return None
