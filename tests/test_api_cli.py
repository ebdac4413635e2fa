"""CLI: `review-desk users api-key create/list/revoke` (admins, through --as with the admin's token), and
`review-desk run` serving the app and the API together until Ctrl+C (or SIGTERM) stops both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from review_store.cli import app
from review_store.desk import Desk
from tests.api_server import free_port
from tests.factories import cli_token


def _cli(url: str, args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["--db", url, "--json", *args], env=env or {})


def test_api_key_commands(demo_db_url, pinned_clock) -> None:
    admin = cli_token(demo_db_url, "adam")
    created = _cli(
        demo_db_url, ["users", "api-key", "create", "oscar", "--label", "ci", "--as", "adam"], admin
    )
    assert created.exit_code == 0, created.output
    body = json.loads(created.output)
    assert body["username"] == "oscar" and body["kind"] == "api" and body["secret"].startswith("rdt_")
    desk = Desk.open(demo_db_url, clock=pinned_clock)
    assert desk.apikeys.authenticate(secret=body["secret"], origin="t").username == "oscar"

    listed = json.loads(_cli(demo_db_url, ["users", "api-key", "list", "--as", "adam"], admin).output)
    assert [(k["id"], k["label"]) for k in listed["keys"]] == [(body["id"], "ci")]
    assert body["secret"] not in json.dumps(listed)

    refused = _cli(
        demo_db_url, ["users", "api-key", "create", "oscar", "--as", "oscar"], cli_token(demo_db_url, "oscar")
    )
    assert refused.exit_code == 2 and "manage users" in refused.output
    bare = _cli(demo_db_url, ["users", "api-key", "create", "oscar"])
    assert bare.exit_code == 2
    revoked = _cli(demo_db_url, ["users", "api-key", "revoke", str(body["id"]), "--as", "adam"], admin)
    assert revoked.exit_code == 0 and json.loads(revoked.output)["revoked_at"] is not None
    active = json.loads(
        _cli(demo_db_url, ["users", "api-key", "list", "--active", "--as", "adam"], admin).output
    )
    assert active["keys"] == []
    missing = _cli(demo_db_url, ["users", "api-key", "revoke", "9999", "--as", "adam"], admin)
    assert missing.exit_code == 2 and "no API key with id 9999" in missing.output


def _wait(url: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            time.sleep(0.3)
    return 0


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_serves_the_app_and_the_api_and_stops_both(demo_db_url, tmp_path, stop) -> None:
    ui_port, api_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "review_store.cli",
            "--db",
            demo_db_url,
            "run",
            "--port",
            str(ui_port),
            "--api-port",
            str(api_port),
        ],  # fmt: skip
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "REVIEW_DESK_NOW": "2026-06-01T12:00:00"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        assert _wait(f"http://localhost:{ui_port}/_stcore/health", deadline) == 200
        assert _wait(f"http://127.0.0.1:{api_port}/api/v1/health", deadline) == 200
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0
    assert f"app: http://localhost:{ui_port}" in out and f"API: http://127.0.0.1:{api_port}/api/v1" in out
    for port in (ui_port, api_port):  # both children are gone: nothing answers any more
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
