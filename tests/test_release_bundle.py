"""The signed release proof bundle and release notes (both backends): a bundle verifies offline, an edit to
any one section fails naming that section, an edited signature or a foreign key fails, a fresh process with
no database and no key verifies it, and the notes say what the bundle says."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from review_store import releases
from review_store.audit import signing
from review_store.audit.keys import AuditKey
from review_store.cli import app
from review_store.db import session_scope
from review_store.desk import SYSTEM, Desk, PermissionDenied, ValidationFailed
from review_store.desk.release_bundles import verify_bundle
from review_store.releases import bundle as bundles
from tests.conftest import TEST_AUDIT_KEY, TEST_NOW
from tests.test_releases import MANIFEST, _ship, _world

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def _edit(name: str, sections: dict) -> None:
    """One plausible forgery per section: the fact a cheat would want changed."""
    if name == "manifest":
        sections["manifest"]["manifest"]["retrieval"]["top_k"] = 10
    elif name == "diff":
        sections["diff"]["components"][0]["changed"] = not sections["diff"]["components"][0]["changed"]
    elif name == "evals":
        sections["evals"]["gate"]["passed"] = not sections["evals"]["gate"]["passed"]
    elif name == "trust":
        sections["trust"]["questions"][0]["verdict"] = "forged"
    elif name == "approvals":
        sections["approvals"]["approvals"][0]["approver"] = "mallory"
    elif name == "rollback":
        sections["rollback"]["rollback_to"] = None
    elif name == "audit_events":
        del sections["audit_events"]["events"][-1]
    elif name == "checkpoint":
        sections["checkpoint"]["checkpoint"]["seq"] -= 1
    else:  # pragma: no cover - a new section needs its own forgery above
        raise AssertionError(f"no edit for section {name}")


@pytest.fixture
def r2_bundle(demo_any_url) -> str:
    """r2 of the demo world (approved, live, diffed against known-good r1, judge-scored evidence)."""
    return Desk.open(demo_any_url).releases.bundle(actor=SYSTEM, release="r2").text


def test_bundle_of_a_release_verifies_with_every_section(demo_any_url, r2_bundle):
    report = verify_bundle(r2_bundle)
    assert report.ok and report.release == "r2" and report.changed == ()
    assert [s.name for s in report.sections] == list(bundles.SECTIONS) and all(s.ok for s in report.sections)
    body = json.loads(r2_bundle)
    assert body["created_at"] == TEST_NOW.isoformat(timespec="seconds") + "Z"
    sections = body["sections"]
    assert sections["diff"]["against"] == "r1"
    assert sections["evals"]["dataset_hash"] == sections["evals"]["runs"][-1]["dataset_hash"]
    assert sections["evals"]["gate"]["passed"] is False  # r2's refunds groundedness fails its gate
    assert {q["question"] for q in sections["trust"]["questions"]} >= {"correctness", "groundedness"}
    assert sections["approvals"]["approvals"][0]["decision"] == "approved"
    assert sections["rollback"]["rollback_to"]["release"] == "r1"
    assert sections["rollback"]["release_is_serving"] is True
    assert {e["action"] for e in sections["audit_events"]["events"]} >= {"release.create", "release.approve"}
    # the key is the one derived from the audit key, and pinning it (or a 16-character prefix) holds
    key = AuditKey(TEST_AUDIT_KEY.encode(), "test")
    fingerprint = signing.fingerprint(signing.public_key_hex(key))
    assert report.key_fingerprint == fingerprint and not report.pinned
    assert verify_bundle(r2_bundle, expect_key=fingerprint[:16]).pinned
    assert Desk.open(demo_any_url).releases.bundle_key().key_fingerprint == fingerprint


def test_the_embedded_checkpoint_holds_against_the_database(demo_any_url, r2_bundle):
    """The checkpoint section is a real `audit checkpoint`: `audit verify --checkpoint` accepts it."""
    checkpoint = json.loads(r2_bundle)["sections"]["checkpoint"]["checkpoint"]
    desk = Desk.open(demo_any_url)
    report = desk.audit.verify(actor=SYSTEM, checkpoint_text=json.dumps(checkpoint))
    assert report.ok and report.checkpoint_seq == checkpoint["seq"]
    events = json.loads(r2_bundle)["sections"]["audit_events"]["events"]
    assert max(e["seq"] for e in events) <= checkpoint["seq"]


@pytest.mark.parametrize("section", bundles.SECTIONS)
def test_editing_one_section_fails_naming_it(r2_bundle, section):
    body = json.loads(r2_bundle)
    _edit(section, body["sections"])
    report = verify_bundle(json.dumps(body, indent=1))
    assert not report.ok and report.changed == (section,)
    assert [p.section for p in report.problems] == [section]
    assert "edited after signing" in report.problems[0].message
    assert [s.name for s in report.sections if not s.ok] == [section]


def test_editing_a_section_and_its_hash_breaks_the_signature(r2_bundle):
    body = json.loads(r2_bundle)
    _edit("evals", body["sections"])
    body["signature"]["section_hashes"]["evals"] = bundles.section_hash(body["sections"]["evals"])
    report = verify_bundle(json.dumps(body))
    assert not report.ok and report.changed == ("signature",)
    assert "does not verify" in report.problems[0].message


@pytest.mark.parametrize("field", ["value", "public_key", "key_fingerprint"])
def test_editing_the_signature_fails(r2_bundle, field):
    body = json.loads(r2_bundle)
    old = body["signature"][field]
    body["signature"][field] = ("0" if old[0] != "0" else "1") + old[1:]
    report = verify_bundle(json.dumps(body))
    assert not report.ok and report.changed == ("signature",)


def test_editing_the_header_fails(r2_bundle):
    body = json.loads(r2_bundle)
    body["release"] = "r3"
    report = verify_bundle(json.dumps(body))
    assert not report.ok and report.changed == ("signature",)


def test_a_bundle_re_signed_with_another_key_fails_only_against_the_pinned_key(r2_bundle):
    """Integrity without a pin, origin only with one: what verify-bundle proves, and against whom."""
    genuine = verify_bundle(r2_bundle)
    body = json.loads(r2_bundle)
    _edit("evals", body["sections"])
    mallory = AuditKey(b"mallory-has-her-own-key-0123456789abcdef", "mallory")
    hashes = {name: bundles.section_hash(body["sections"][name]) for name in bundles.SECTIONS}
    header = {name: body[name] for name in bundles.HEADER_FIELDS}
    public = signing.public_key_hex(mallory)
    body["signature"] |= {
        "public_key": public,
        "key_fingerprint": signing.fingerprint(public),
        "section_hashes": hashes,
        "value": signing.sign(mallory, bundles.signed_text(header, hashes)),
    }
    forged = json.dumps(body)
    unpinned = verify_bundle(forged)
    assert unpinned.ok and not unpinned.pinned and unpinned.key_fingerprint != genuine.key_fingerprint
    pinned = verify_bundle(forged, expect_key=genuine.key_fingerprint)
    assert not pinned.ok and pinned.changed == ("signature",)
    assert "not the pinned key" in pinned.problems[0].message


def test_not_a_bundle_is_bad_input(tmp_path):
    with pytest.raises(ValidationFailed, match="invalid JSON"):
        verify_bundle("{not json", source="x.bundle")
    with pytest.raises(ValidationFailed, match="not a review-desk release bundle"):
        verify_bundle(json.dumps({"format": "something-else"}), source="x.bundle")


def _fresh_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`review-desk` in a new interpreter with no database URL, no audit key and an empty directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEW_STORE", "REVIEW_DESK"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "review_store.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_verify_bundle_in_a_fresh_process_without_a_database(demo_any_url, tmp_path):
    out = tmp_path / "r3.bundle"
    made = runner.invoke(app, ["--db", demo_any_url, "release", "bundle", "r3", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["file"] == str(out)
    again = runner.invoke(app, ["--db", demo_any_url, "release", "bundle", "r3", "--out", str(out)])
    assert again.exit_code == 2 and "never overwritten" in again.output
    elsewhere = tmp_path / "another-machine"
    elsewhere.mkdir()
    ok = _fresh_process("release", "verify-bundle", str(out), "--json", cwd=elsewhere)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["release"] == "r3"
    body = json.loads(out.read_text())
    body["sections"]["approvals"]["current_evidence_hash"] = "0" * 64
    tampered = elsewhere / "tampered.bundle"
    tampered.write_text(json.dumps(body))
    bad = _fresh_process("release", "verify-bundle", str(tampered), cwd=elsewhere)
    assert bad.returncode == 1 and "TAMPERED: changed approvals" in bad.stdout
    (elsewhere / "junk.bundle").write_text("not a bundle")
    junk = _fresh_process("release", "verify-bundle", "junk.bundle", cwd=elsewhere)
    assert junk.returncode == 2 and "invalid JSON" in junk.stderr
    missing = _fresh_process("release", "verify-bundle", "nope.bundle", "--json", cwd=elsewhere)
    assert missing.returncode == 2 and json.loads(missing.stdout)["ok"] is False
    assert sorted(p.name for p in elsewhere.iterdir()) == ["junk.bundle", "tampered.bundle"]  # no database


def _two_releases(engine) -> dict:
    """c1 shipped (known-good), c2 changes top_k and the prompt, then is approved by the other owner."""
    people = _world(engine)
    _ship(engine, people, "c1")
    changed = copy.deepcopy(MANIFEST)
    changed["retrieval"]["top_k"] = 5
    changed["prompts"]["system"] += " Quote amounts exactly."
    with session_scope(engine) as s:
        releases.create_release(s, actor=people["author"], name="c2", manifest=changed, parent="c1")
        releases.record_eval_run(
            s, actor=people["lead"], release="c2", metrics={"accuracy": 0.93, "p95_latency_ms": 2100},
            golden_set_version="golden-abc",
        )  # fmt: skip
        releases.approve_release(s, actor=people["owner"], release="c2", comment="top_k 5 | better recall")
    return people


def test_notes_contain_the_changes_and_gate_results(engine, db_url):
    people = _two_releases(engine)
    desk = Desk.open(db_url)
    notes = desk.releases.notes("c2")
    assert notes.startswith("# Release c2\n")
    assert "## Changes against known-good `c1`" in notes
    assert "- **retrieval**\n  - `top_k`: `3` → `5`" in notes
    assert "+Quote amounts exactly." in notes  # the prompt's text diff
    assert "**PASS** against gate policy v1" in notes
    assert "dataset (golden set) hash `golden-abc`" in notes
    assert "The golden set today hashes differently" in notes  # the eval ran on another version
    assert "| accuracy | >= | 0.85 | 0.93 | pass |" in notes
    assert "| p95_latency_ms | <= | 3000 | 2100 | pass |" in notes
    assert "approved by **owner2**" in notes and "`top_k 5 | better recall`" in notes
    assert "a rollback would route to `c1`" in notes
    # the same data as the bundle: its approvals section carries the evidence hash the notes cite
    view = desk.releases.bundle(actor=people["lead"], release="c2")
    approval = json.loads(view.text)["sections"]["approvals"]["approvals"][0]
    assert approval["evidence_current"] is True and f"`{approval['evidence_hash'][:12]}`" in notes
    assert verify_bundle(view.text).ok
    cli = runner.invoke(app, ["--db", db_url, "release", "notes", "c2"])
    assert cli.exit_code == 0 and cli.stdout.rstrip("\n") == notes.rstrip("\n")


def test_bundle_needs_view_audit(engine, db_url):
    people = _two_releases(engine)
    desk = Desk.open(db_url)
    with pytest.raises(PermissionDenied):
        desk.releases.bundle(actor=people["reviewer"], release="c2")
    # the Releases page offers the bundle download by the same permission
    assert not desk.releases.board(actor=people["reviewer"], release="c2").can_bundle
    assert desk.releases.board(actor=people["lead"], release="c2").can_bundle


def test_evals_section_carries_the_tier1_check_run_with_its_dataset_hash(engine, db_url):
    from tests import test_eval_runs as tier1

    people = tier1._world(engine)
    run_id = tier1._run(engine, people)
    view = Desk.open(db_url).releases.bundle(actor=people["lead"], release="c1")
    evals = json.loads(view.text)["sections"]["evals"]
    check_run = evals["tier1_check_run"]
    assert check_run["id"] == run_id and check_run["pass_rate"] == 1.0
    assert check_run["dataset_hash"] == evals["golden_set_hash_now"]  # run on today's golden set
    assert any(r["metric"] == "tier1_pass_rate" and r["result"] == "pass" for r in evals["gate"]["rows"])
    notes = Desk.open(db_url).releases.notes("c1")
    assert f"Tier-1 checks (run {run_id}): 3 of 3 cases pass every check, 0 failed results" in notes
    assert "| tier1_pass_rate | >= | 1 | 1 | pass |" in notes
    assert verify_bundle(view.text).ok
