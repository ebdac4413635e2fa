"""Verify a release proof bundle offline: no database, no audit key, no network. The file format's
constants live here (releases.bundle writes it), so verifying imports nothing that reads a database.

What a passing check proves: every section hashes to the value in the signature block, and those hashes
and the header were signed by the ed25519 key whose public half is embedded. Against whom:

- anyone who edits, drops or adds a section (or edits the header or the signature) without the signing
  key: the edited section is named, and an edited hash list or header breaks the signature;
- anyone who re-signs an edited bundle with a key of their own: only a verifier that pins the team's
  fingerprint (`--expect-key`, from `review-desk release bundle-key`) catches that; without a pin the
  report says the key is not pinned, and the check proves integrity, not origin.

It does not prove that the database still agrees (run `review-desk audit verify --checkpoint` with the
bundle's checkpoint for that, which needs the audit key), nor that the facts were true when bundled:
the bundle is what the store said, signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from review_store.audit import signing
from review_store.audit.checkpoint import read_document
from review_store.hashing import canonical_json, content_hash

FORMAT = "review-desk-release-bundle"
VERSION = 1
SECTIONS = ("manifest", "diff", "evals", "trust", "approvals", "rollback", "audit_events", "checkpoint")
HEADER_FIELDS = ("format", "version", "release", "created_at", "section_names")


def signed_text(header: dict[str, Any], hashes: dict[str, Any]) -> str:
    """Exactly what the signature covers: the header and every section's hash."""
    return canonical_json({"header": header, "section_hashes": hashes})


def section_hash(content: Any) -> str:
    """sha256 of the section's canonical JSON (whitespace and key order in the file do not matter)."""
    return content_hash(content)


@dataclass(frozen=True)
class Problem:
    section: str  # a section name, "header" or "signature"
    message: str


@dataclass
class BundleCheck:
    release: str | None
    created_at: str | None
    key_fingerprint: str | None
    audit_key_id: str | None
    expected_key: str | None
    section_hashes: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def pinned(self) -> bool:
        """The signing key was compared to a pinned fingerprint and matched."""
        return bool(self.expected_key) and not any(p.section == "signature" for p in self.problems)

    @property
    def changed(self) -> list[str]:
        """The parts named by the problems, in file order (sections, then header and signature)."""
        named = {p.section for p in self.problems}
        return [s for s in (*SECTIONS, "header", "signature") if s in named] + sorted(
            named - {*SECTIONS, "header", "signature"}
        )


def parse(text: str | bytes, *, source: str) -> dict[str, Any]:
    """The bundle's JSON object; ValidationFailed (unreadable, exit 2) when it is not a bundle at all."""
    return read_document(
        text, where=source, fmt=FORMAT, version=VERSION, noun="release bundle", kind="release bundle"
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def verify(text: str | bytes, *, source: str = "bundle", expect_key: str | None = None) -> BundleCheck:
    """Check every section's hash, then the signature, then (given) the pinned key fingerprint."""
    body = parse(text, source=source)
    sig = body.get("signature") if isinstance(body.get("signature"), dict) else {}
    sections = body.get("sections") if isinstance(body.get("sections"), dict) else {}
    hashes = sig.get("section_hashes") if isinstance(sig.get("section_hashes"), dict) else {}
    check = BundleCheck(
        release=_text(body.get("release")),
        created_at=_text(body.get("created_at")),
        key_fingerprint=_text(sig.get("key_fingerprint")),
        audit_key_id=_text(sig.get("audit_key_id")),
        expected_key=expect_key,
    )
    problems = check.problems
    if body.get("section_names") != list(SECTIONS):
        problems.append(Problem("header", f"section_names: expected {', '.join(SECTIONS)}"))
    for name in SECTIONS:
        if name not in sections:
            problems.append(Problem(name, "section is missing"))
            continue
        actual = section_hash(sections[name])
        check.section_hashes[name] = actual
        if hashes.get(name) != actual:
            problems.append(Problem(name, "content does not match its signed hash: edited after signing"))
    for name in sorted(set(sections) - set(SECTIONS)):
        problems.append(Problem(name, "section is not part of a signed bundle: added after signing"))
    problems.extend(_signature_problems(body, sig, hashes, expect_key))
    return check


def _signature_problems(
    body: dict[str, Any], sig: dict[str, Any], hashes: dict[str, Any], expect_key: str | None
) -> list[Problem]:
    if not sig:
        return [Problem("signature", "the signature block is missing")]
    if sig.get("algorithm") != signing.ALGORITHM:
        return [
            Problem("signature", f"algorithm: expected {signing.ALGORITHM}, got {sig.get('algorithm')!r}")
        ]
    public, value = sig.get("public_key"), sig.get("value")
    if not isinstance(public, str) or not isinstance(value, str):
        return [Problem("signature", "public_key and value must be hex strings")]
    try:
        actual_fp = signing.fingerprint(public)
    except ValueError:
        return [Problem("signature", "public_key is not hex")]
    out = []
    if sig.get("key_fingerprint") != actual_fp:
        out.append(Problem("signature", "key_fingerprint is not the fingerprint of the embedded public key"))
    header = {name: body.get(name) for name in HEADER_FIELDS}
    if not signing.check(public, signed_text(header, hashes), value):
        out.append(
            Problem(
                "signature",
                "does not verify: the header, the section hashes or the signature were changed after signing",
            )
        )
    if expect_key and not signing.matches_pin(actual_fp, expect_key):
        out.append(
            Problem(
                "signature",
                f"signed by key {actual_fp[:16]}, not the pinned key {expect_key.strip()[:16]} "
                f"(a pin needs at least {signing.MIN_PIN_CHARS} hex characters)",
            )
        )
    return out
