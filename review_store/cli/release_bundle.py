"""`review-desk release bundle | verify-bundle | notes | bundle-key`: the signed release proof bundle.

`verify-bundle` opens no database and needs no audit key: it runs on any machine with the file.
"""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_BAD_INPUT, EXIT_FAILED, acting_actor, desk, emit, fail, json_option, resolve


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read the bundle ({exc.strerror})", EXIT_BAD_INPUT)
        raise  # unreachable: fail() exits


def add_bundle_commands(rel: typer.Typer) -> None:  # noqa: C901 (one closure per command)
    @rel.command("bundle")
    def bundle(
        name: str = typer.Argument(..., help="Release name."),
        out: Path = typer.Option(..., "--out", "-o", help="File to write (never overwritten)."),
        user: str = typer.Option(
            None, "--as", help="Act as this user (needs their token; default: the operator)."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Write the release's signed proof bundle: manifest, diff vs known-good, evals with the dataset
        hash, judge trust, approvals, rollback pointer, audit events and a signed audit checkpoint.

        Needs the audit key (the ed25519 signing key is derived from it) and a chain that verifies.
        Example: review-desk release bundle r3 --out r3.bundle
        """
        as_json = resolve(as_json)
        if out.exists():
            fail(f"{out}: exists; bundles are never overwritten, pick a new name", EXIT_BAD_INPUT, as_json)
        d = desk()
        view = d.releases.bundle(actor=acting_actor(d, user), release=name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(view.text, encoding="utf-8")
        payload = view.to_json() | {"ok": True, "file": str(out)}
        payload.pop("text")
        text = (
            f"bundle of {name} written to {out}: {len(view.sections)} sections, "
            f"signed by key {view.key_fingerprint}"
        )
        emit(payload, text, as_json)

    @rel.command("verify-bundle")
    def verify_bundle(
        file: Path = typer.Argument(..., help="A file written by `release bundle`."),
        expect_key: str = typer.Option(
            None,
            "--expect-key",
            help="The signing key fingerprint you trust (from `release bundle-key`; >= 16 hex characters).",
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Check a bundle offline (no database, no key): exit 0 intact, 1 tampered (the changed sections
        are named), 2 unreadable. Without --expect-key it proves integrity, not who signed it.

        Example: review-desk release verify-bundle r3.bundle --expect-key b4f30aec2a0ef5b5
        """
        from review_store.desk.release_bundles import verify_bundle as check

        as_json = resolve(as_json)
        report = check(_read(file), source=str(file), expect_key=expect_key)
        emit(report.to_json() | {"file": str(file)}, report.summary, as_json)
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)

    @rel.command("notes")
    def notes(
        name: str = typer.Argument(..., help="Release name."),
        out: Path = typer.Option(None, "--out", "-o", help="Write the Markdown here (default: stdout)."),
        as_json: bool = json_option(),
    ) -> None:
        """Release notes in Markdown from the bundle's data: changes, gate results, trust, sign-off.

        Example: review-desk release notes r3 > RELEASE-r3.md
        """
        as_json = resolve(as_json)
        markdown = desk().releases.notes(name)
        if out is not None:
            out.write_text(markdown, encoding="utf-8")
        payload = {"release": name, "markdown": markdown} | ({"file": str(out)} if out else {})
        emit(payload, f"notes of {name} written to {out}" if out else markdown.rstrip("\n"), as_json)

    @rel.command("bundle-key")
    def bundle_key(as_json: bool = json_option()) -> None:
        """Print the public key and fingerprint that sign bundles (derived from the audit key): give the
        fingerprint to whoever verifies bundles, to pin with `verify-bundle --expect-key`.

        Example: review-desk release bundle-key
        """
        as_json = resolve(as_json)
        view = desk().releases.bundle_key()
        text = f"{view.algorithm} key {view.key_fingerprint}\npublic key {view.public_key}"
        emit(view.to_json(), text, as_json)
