"""AppTest: the Releases page shows committed state right after every action (approve, promote, health
check, rollback), disables what the store would refuse and says why, and a refused action changes nothing;
plus the Audit page's verify and filter."""

from __future__ import annotations

import pytest

from review_store.desk import Desk
from review_store.desk.release_bundles import verify_bundle
from tests.apptest import open_app, page


def _open(monkeypatch, url, user, name):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def _header(at) -> str:
    return at.subheader[0].value


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def _deploy_caption(at) -> str:
    return next(c for c in _captions(at) if c.startswith("Stage now:"))


def _serving_caption(at) -> str:
    return next(c for c in _captions(at) if c.startswith("Live:"))


def _click(at, key: str):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _confirm(at, key: str):
    """Promote and roll back ask first: click, see the dialog, confirm."""
    _click(at, key)
    assert at.button(key="rel_confirm_yes") and at.button(key="rel_confirm_no")
    return _click(at, "rel_confirm_yes")


def _ok(at) -> None:
    assert not at.error or all(e.value.startswith("Gate") for e in at.error), [e.value for e in at.error]


def test_after_approve_the_page_shows_approved_and_disables_approve(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    assert at.selectbox(key="rel_name").value == "r3"
    assert _header(at) == "r3 · candidate" and not at.button(key="rel_approve").disabled
    at.text_area(key="rel_comment").input("Refunds grounding fixed; every gate passes.")
    _click(at, "rel_approve")
    _ok(at)
    assert any(s.value == "r3 approved" for s in at.success)
    assert _header(at) == "r3 · approved"
    assert _deploy_caption(at) == "Stage now: 0 % of traffic · status approved"
    assert at.button(key="rel_approve").disabled and at.button(key="rel_reject").disabled
    assert "Approve is disabled: r3 is approved; only a candidate can be signed off" in _captions(at)
    frame = next(d.value for d in at.dataframe if "decision" in d.value.columns)
    assert list(frame["decision"]) == ["approved"] and list(frame["approver"]) == ["oscar"]


def test_promote_header_and_deploy_section_agree_at_every_stage(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    at.text_area(key="rel_comment").input("Refunds grounding fixed.")
    _click(at, "rel_approve")
    for stage, status in ((5, "deploying"), (25, "deploying"), (50, "deploying"), (100, "live")):
        _confirm(at, "rel_promote")
        _ok(at)
        assert _header(at) == f"r3 · {status} · {stage} %"
        assert _deploy_caption(at) == f"Stage now: {stage} % of traffic · status {status}"
    assert _serving_caption(at) == "Live: **r3** · known-good: **r1**"
    _click(at, "rel_health")
    assert any(s.value == "health check recorded" for s in at.success)
    assert _header(at).startswith("r3 · ") and _deploy_caption(at).endswith(_header(at).split(" · ")[1])


def test_rollback_shows_known_good_live_again(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    assert _serving_caption(at) == "Live: **r2** · known-good: **r1**"
    at.text_area(key="rel_comment").input("Refunds grounding fixed.")
    _click(at, "rel_approve")
    _confirm(at, "rel_promote")
    assert _header(at) == "r3 · deploying · 5 %"
    _confirm(at, "rel_rollback")
    _ok(at)
    assert any(s.value == "rolled back" for s in at.success)
    assert _serving_caption(at) == "Live: **r1** · known-good: **r1**"
    assert _header(at) == "r3 · rolled_back · 5 %"
    assert _deploy_caption(at) == "Stage now: 5 % of traffic · status rolled_back"
    listing = next(d.value for d in at.dataframe if "author" in d.value.columns)
    assert dict(zip(listing["name"], listing["status"], strict=True)) == {
        "r1": "live",
        "r2": "rolled_back",
        "r3": "rolled_back",
    }


def test_a_refused_action_shows_the_error_and_changes_nothing(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    before = (_header(at), _deploy_caption(at), _serving_caption(at))
    _confirm(at, "rel_promote")  # r3 has no approval yet
    assert [e.value for e in at.error] == ["r3 is candidate; only an approved release can be promoted"]
    assert (_header(at), _deploy_caption(at), _serving_caption(at)) == before
    assert not at.button(key="rel_approve").disabled
    _click(at, "rel_approve")  # no comment: the store refuses, nothing is recorded
    assert any(e.value == "sign-off: field 'comment' is required" for e in at.error)
    assert _header(at) == "r3 · candidate"
    assert not any("decision" in d.value.columns for d in at.dataframe)


def test_author_sees_approve_disabled_with_reason(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "olivia", "releases")
    assert at.selectbox(key="rel_name").value == "r3"
    assert at.button(key="rel_approve").disabled
    assert any("olivia authored r3; four-eyes" in c for c in _captions(at))


def test_failing_gate_disables_approve_without_override(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    at.selectbox(key="rel_name").select("r2").run()
    assert at.button(key="rel_approve").disabled  # oscar authored r2, and it is live anyway
    assert any(c.startswith("Approve is disabled: oscar authored r2") for c in _captions(at))
    assert any("Gate FAILS" in e.value for e in at.error)


def test_audit_page_verifies_and_filters(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "lena", "audit")
    at.button(key="audit_verify").click().run()
    assert any("Chain intact" in s.value for s in at.success)
    at.text_input(key="audit_entity").input("release").run()
    frame = at.dataframe[0].value
    assert len(frame) > 0 and set(frame["entity"]) == {"release"}


@pytest.fixture
def deferred_downloads(monkeypatch) -> dict[str, object]:
    """The callables behind deferred download buttons, by file id (the server calls one on click)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    served: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = original(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        served[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return served


def _download(at, served, label: str) -> str:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    data = served[button.proto.deferred_file_id]()  # what a click downloads
    return data if isinstance(data, str) else data.decode("utf-8")


def test_releases_page_offers_the_notes_and_the_bundle(monkeypatch, demo_db_url, deferred_downloads):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download release notes (Markdown)" in labels and "Download proof bundle" in labels
    notes = _download(at, deferred_downloads, "Download release notes (Markdown)")
    assert notes.startswith("# Release r3\n") and "## Changes against known-good `r1`" in notes
    assert "**PASS** against gate policy v2" in notes  # v2 (day 28) adds the pairwise rule of r3's shadow run
    assert "| groundedness_rate:refunds | >= | 0.9 | 0.93 | pass |" in notes
    assert "| pairwise:preference | >= | -0.05 |" in notes
    assert notes == Desk.open(demo_db_url).releases.notes("r3")  # the store's notes, as they are
    bundle = _download(at, deferred_downloads, "Download proof bundle")
    report = verify_bundle(bundle)
    assert report.ok and report.release == "r3"
