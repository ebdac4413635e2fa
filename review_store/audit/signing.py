"""Public-key signatures for proofs that leave the building (release proof bundles).

The chain, its head and checkpoints are HMACs under the audit key: only a key holder can make OR check
them. A release bundle is read by people who must not hold that secret (an auditor, another team), so
it is signed with ed25519 instead. The signing key is not a second secret to manage: its 32-byte seed is
derived from the audit key (HMAC, purpose "release-bundle/ed25519"), so every process sharing the audit
key signs with the same key pair, and rotating the audit key rotates it.

Anyone can check a signature with the public key embedded in the bundle; what that proves depends on
whether the key is the team's, so `fingerprint` (sha256 of the raw public key) is what a verifier pins:
`review-desk release bundle-key` prints it, `verify-bundle --expect-key` compares it.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from review_store.audit.keys import AuditKey

ALGORITHM = "ed25519"
PURPOSE = "release-bundle/ed25519"
MIN_PIN_CHARS = 16


def _private(key: AuditKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key.seed(PURPOSE))


def public_key_hex(key: AuditKey) -> str:
    """The raw 32-byte public key (hex) of the key pair derived from the audit key."""
    return _private(key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def fingerprint(public_hex: str) -> str:
    """sha256 (hex) of the raw public key bytes: what a verifier pins and compares."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


def sign(key: AuditKey, text: str) -> str:
    """Hex ed25519 signature of the UTF-8 text."""
    return _private(key).sign(text.encode("utf-8")).hex()


def check(public_hex: str, text: str, signature_hex: str) -> bool:
    """True when `signature_hex` is a valid signature of `text` by `public_hex`; False for anything else
    (malformed hex, wrong length, another key, edited text)."""
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public.verify(bytes.fromhex(signature_hex), text.encode("utf-8"))
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def matches_pin(actual: str, pinned: str) -> bool:
    """A pinned fingerprint may be the full hex or a prefix of at least MIN_PIN_CHARS characters."""
    pin = pinned.strip().lower()
    return len(pin) >= MIN_PIN_CHARS and actual.lower().startswith(pin)
