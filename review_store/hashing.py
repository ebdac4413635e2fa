"""Content hashing: the one way the store fingerprints data (manifests, policies, rubrics, judge configs,
gate evidence, backups).

`content_hash(value)` is the sha256 of `canonical_json(value)`: sorted keys, no spaces, UTF-8, datetimes as
ISO strings, sets sorted, tuples as lists. Equal hashes mean equal content whatever the key order, so a
hash can stand for "exactly this system / policy / evidence" in approvals and the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

__all__ = ["canonical_json", "content_hash"]


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, no spaces, datetimes as ISO strings, sets sorted, tuples as lists."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def content_hash(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)
