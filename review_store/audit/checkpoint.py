"""Signed checkpoints: a small file kept outside the database that pins the chain at one moment.

    review-desk audit checkpoint --out audit-2026-06-01.json     # seq, head hash, time, key id, signature
    review-desk audit verify --checkpoint audit-2026-06-01.json  # the chain must still hold that event

The signature is an HMAC under the audit key, so only a key holder can make or check one. Someone who
can write the database but not read the key cannot truncate the chain below a checkpoint, wipe it, or
rewrite an event it covers without `verify --checkpoint` saying so. Keep checkpoints where database users
cannot delete them (a CI artifact, a ticket, another machine).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from review_store.audit.keys import AuditKey
from review_store.errors import ValidationFailed

FORMAT = "review-desk-audit-checkpoint"
VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str

    def signed_text(self) -> str:
        return _signed_text(self.seq, self.hash, self.created_at, self.key_id)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)}, indent=2, sort_keys=True)


def _signed_text(seq: int, digest: str, created_at: str, key_id: str) -> str:
    return json.dumps(
        {"format": FORMAT, "version": VERSION, "seq": seq, "hash": digest, "created_at": created_at,
         "key_id": key_id},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip


def make(key: AuditKey, *, seq: int, digest: str, at: datetime) -> Checkpoint:
    """A checkpoint of the chain ending at (seq, digest), signed with the key."""
    created = at.isoformat(timespec="seconds") + "Z"
    signature = key.mac("checkpoint", _signed_text(seq, digest, created, key.key_id))
    return Checkpoint(seq, digest, created, key.key_id, signature)


def read_document(text: str | bytes, *, where: str, fmt: str, version: int, noun: str, kind: str) -> dict:
    """The JSON object of a signed file this desk writes (a checkpoint, a release bundle): ValidationFailed,
    naming the file, when it is not JSON, not of `fmt` or of another version."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{where}: not a {noun} (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ValidationFailed(f"{where}: not a review-desk {kind} (format is not {fmt!r})")
    if data.get("version") != version:
        raise ValidationFailed(
            f"{where}: version: unsupported {noun.split()[-1]} version {data.get('version')!r}"
        )
    return data


def parse(text: str, *, where: str) -> Checkpoint:
    """Read a checkpoint file's text; ValidationFailed names the file and the field."""
    data = read_document(
        text, where=where, fmt=FORMAT, version=VERSION, noun="checkpoint", kind="audit checkpoint"
    )
    fields: dict[str, Any] = {}
    for name, kind in (("seq", int), ("hash", str), ("created_at", str), ("key_id", str),
                       ("signature", str)):  # fmt: skip
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = "an integer" if kind is int else "a string"
            raise ValidationFailed(f"{where}: {name}: missing or not {expected}")
        fields[name] = value
    if fields["seq"] < 0:
        raise ValidationFailed(f"{where}: seq: must be >= 0")
    return Checkpoint(**fields)


def check_against(
    checkpoint: Checkpoint, key: AuditKey | None, *, last_seq: int, hashes_at: dict[int, str]
) -> tuple[int | None, str] | None:
    """None when the (already verified) chain still holds the checkpoint; else (first bad seq, problem)."""
    if key is None:
        return None, "no audit key: a checkpoint can only be checked with the key that signed it"
    if checkpoint.key_id != key.key_id:
        return None, f"checkpoint was signed with key {checkpoint.key_id}, this key is {key.key_id}"
    if not key.check("checkpoint", checkpoint.signed_text(), checkpoint.signature):
        return None, "checkpoint signature does not verify: the file was edited"
    if checkpoint.seq == 0:
        return None
    if last_seq == 0:
        return 1, f"the chain is empty but the checkpoint covers {checkpoint.seq} events: it was wiped"
    if last_seq < checkpoint.seq:
        return last_seq + 1, (
            f"the chain ends at seq {last_seq} but the checkpoint covers seq {checkpoint.seq}: "
            "events were deleted (truncated)"
        )
    if hashes_at.get(checkpoint.seq) != checkpoint.hash:
        return checkpoint.seq, f"seq {checkpoint.seq} differs from the checkpoint: history was rewritten"
    return None
