"""AppTest: Settings > API keys (admins): create shows the secret once, it works against the store, the
list shows user/label/last use, revoke needs the confirmation and the key stops working at once."""

from __future__ import annotations

import pytest

from review_store.desk import Desk, PermissionDenied
from tests.apptest import open_app, page


def _settings(monkeypatch, url, username):
    at = open_app(monkeypatch, url, username)
    at.run()
    at.switch_page(page("settings")).run()
    assert not at.exception, at.exception
    return at


def test_admin_creates_sees_once_and_revokes_a_key(monkeypatch, demo_db_url, pinned_clock) -> None:
    at = _settings(monkeypatch, demo_db_url, "adam")
    assert "API keys" in [t.label for t in at.tabs]
    assert any("No API keys yet." in i.value for i in at.info)
    at.selectbox(key="apikeys_user").set_value("oscar")
    at.text_input(key="apikeys_label").set_value("release pipeline")
    next(b for b in at.button if b.label == "Create key").click().run()
    assert not at.exception, at.exception
    secrets = [c.value for c in at.code if c.value.startswith("rdt_")]
    assert len(secrets) == 1
    assert any("shown only this once" in s.value for s in at.success)
    desk = Desk.open(demo_db_url, clock=pinned_clock)
    caller = desk.apikeys.authenticate(secret=secrets[0], origin="test")
    assert (caller.username, caller.role) == ("oscar", "owner")

    at.run()  # the next run no longer shows the secret; the table shows the key and its last use
    assert not [c for c in at.code if c.value.startswith("rdt_")]
    table = at.dataframe[-1].value
    row = table[table["user"] == "oscar"].iloc[0]
    assert row["label"] == "release pipeline" and row["key"] == secrets[0][:12] + "…"
    assert row["last used (UTC)"] == pinned_clock.now()

    revoke = next(b for b in at.button if b.label == "Revoke")
    assert revoke.disabled
    at.checkbox(key="apikeys_revoke_confirm").check().run()
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert not at.exception, at.exception
    assert any("Revoked key" in s.value for s in at.success)
    assert at.dataframe[-1].value.iloc[0]["revoked (UTC)"] == pinned_clock.now()
    with pytest.raises(PermissionDenied):
        desk.apikeys.authenticate(secret=secrets[0], origin="test")
    assert any("No active keys." in c.value for c in at.caption)


def test_the_tab_is_for_admins_only(monkeypatch, demo_db_url) -> None:
    at = _settings(monkeypatch, demo_db_url, "lena")
    assert "API keys" not in [t.label for t in at.tabs]
