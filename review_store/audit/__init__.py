"""The append-only, keyed hash chain: what changed, who did it, and proof nobody edited history.

Every state-changing store function calls `record()` inside its own transaction, so the change and its
audit event commit or roll back together. The chain is keyed with a secret kept outside the database
(audit/keys.py); signed checkpoints (audit/checkpoint.py) pin it against truncation and wipes.
"""

from __future__ import annotations

from review_store.audit.append import record
from review_store.audit.chain import (
    ANCHOR_ACTION,
    GENESIS_HASH,
    HEAD_KEY,
    VerifyResult,
    canonical_json,
    count_events,
    last_event,
    list_events,
    verify,
)
from review_store.audit.keys import AuditKey, AuditKeyMissing

__all__ = [
    "ANCHOR_ACTION",
    "GENESIS_HASH",
    "HEAD_KEY",
    "AuditKey",
    "AuditKeyMissing",
    "VerifyResult",
    "canonical_json",
    "count_events",
    "last_event",
    "list_events",
    "record",
    "verify",
]
