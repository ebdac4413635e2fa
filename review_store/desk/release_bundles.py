"""desk.releases, proof bundles and notes: `bundle`, `notes`, `bundle_key` (methods of ReleasesPart),
and `verify_bundle`, which needs no desk at all (offline: no database, no audit key).

The facts come from `releases.bundle` (one store function per section), the notes from
`releases.notes`, the check from `releases.bundle_check`; nothing here decides anything.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from review_store.audit import chain, keys, signing
from review_store.desk.base import ReadModel
from review_store.permissions import Actor, refresh_actor, require
from review_store.releases import bundle as bundles
from review_store.releases import bundle_check
from review_store.releases.notes import release_notes


class SectionCheckView(ReadModel):
    name: str
    hash: str | None
    ok: bool


class BundleView(ReadModel):
    """A signed bundle; `text` is the file to write."""

    release: str
    created_at: str
    key_fingerprint: str
    audit_key_id: str
    sections: tuple[SectionCheckView, ...]  # each section's sha256, as signed
    text: str


class BundleKeyView(ReadModel):
    """The public half of the bundle signing key: what verifiers pin (`verify-bundle --expect-key`)."""

    algorithm: str
    public_key: str
    key_fingerprint: str
    audit_key_id: str


class BundleProblemView(ReadModel):
    section: str
    message: str


class BundleReport(ReadModel):
    """The offline verdict on a bundle: intact, or which sections (or header / signature) changed."""

    ok: bool
    release: str | None
    created_at: str | None
    key_fingerprint: str | None
    audit_key_id: str | None
    pinned: bool
    sections: tuple[SectionCheckView, ...]
    problems: tuple[BundleProblemView, ...]
    changed: tuple[str, ...]

    @property
    def summary(self) -> str:
        if not self.ok:
            lines = [f"bundle of {self.release} TAMPERED: changed {', '.join(self.changed)}"]
            return "\n".join(lines + [f"  {p.section}: {p.message}" for p in self.problems])
        who = (
            f"the pinned key {self.key_fingerprint}"
            if self.pinned
            else f"key {self.key_fingerprint} (NOT pinned: compare it to `review-desk release bundle-key`, "
            "or pass --expect-key)"
        )
        return (
            f"bundle of {self.release} intact: {len(self.sections)} sections match their hashes, "
            f"signed {self.created_at} by {who}"
        )


def verify_bundle(
    text: str | bytes, *, source: str = "bundle", expect_key: str | None = None
) -> BundleReport:
    """Check a bundle file's text offline. ValidationFailed (exit 2) when it is not a bundle at all."""
    check = bundle_check.verify(text, source=source, expect_key=expect_key)
    named = {p.section for p in check.problems}
    return BundleReport(
        ok=check.ok,
        release=check.release,
        created_at=check.created_at,
        key_fingerprint=check.key_fingerprint,
        audit_key_id=check.audit_key_id,
        pinned=check.pinned,
        sections=tuple(
            SectionCheckView(name=name, hash=check.section_hashes.get(name), ok=name not in named)
            for name in bundles.SECTIONS
        ),
        problems=tuple(BundleProblemView(section=p.section, message=p.message) for p in check.problems),
        changed=tuple(check.changed),
    )


class BundleMethods:
    """Mixed into ReleasesPart (desk.releases), which supplies the Part plumbing used here."""

    _desk: Any

    if TYPE_CHECKING:  # provided by Part

        def _read(self) -> AbstractContextManager[Session]: ...

        def _clock(self) -> AbstractContextManager[None]: ...

    def bundle(self, *, actor: Actor, release: str) -> BundleView:
        """Collect the release's proof sections, checkpoint the verified audit chain and sign it all.

        Needs `view_audit` (the bundle carries audit events) and the audit key (AuditKeyMissing says how
        to make one); a broken chain is refused (ConflictError); NotFound for an unknown release.
        """
        with self._read() as session:
            require(refresh_actor(session, actor), "view_audit")
            key = self._key(chain.url_of(session))
            text = bundles.build(session, release=release, key=key, at=self._now())
        check = bundle_check.verify(text, source=f"bundle of {release}")
        return BundleView(
            release=release,
            created_at=check.created_at or "",
            key_fingerprint=check.key_fingerprint or "",
            audit_key_id=key.key_id,
            sections=tuple(
                SectionCheckView(name=name, hash=digest, ok=True)
                for name, digest in check.section_hashes.items()
            ),
            text=text,
        )

    def notes(self, release: str) -> str:
        """Markdown release notes from the bundle's sections (changes, gate, trust, sign-off, rollout)."""
        with self._read() as session:
            return release_notes(bundles.collect(session, release=release))

    def bundle_key(self) -> BundleKeyView:
        """The bundle signing key's public half and fingerprint (derived from this database's audit key)."""
        key = self._key(self._desk.url)
        public = signing.public_key_hex(key)
        return BundleKeyView(
            algorithm=signing.ALGORITHM,
            public_key=public,
            key_fingerprint=signing.fingerprint(public),
            audit_key_id=key.key_id,
        )

    def _key(self, url: str) -> keys.AuditKey:
        key = keys.load(url)
        if key is None:
            raise keys.AuditKeyMissing(
                "no audit key: release bundles are signed with a key derived from it; "
                + keys.missing_message(url)
            )
        return key

    def _now(self) -> datetime:
        with self._clock():
            from review_store import clock

            return clock.now()
