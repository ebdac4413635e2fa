"""`review-desk serve` from an installed wheel, run from a directory that is not the checkout.

The wheel is built offline (`pip wheel --no-deps --no-build-isolation`) and installed with `--no-deps`
into a fresh venv whose dependencies come from the project's environment (a .pth line appended after the
venv's own site-packages, so the wheel's review_store/app/pages are the ones imported).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from review_store.cli.serve import config_flags
from tests.browser import ROOT, browser_page, free_port, require_chromium


def test_serve_passes_the_checkout_config_as_flags():
    shipped = tomllib.loads((ROOT / "app" / "streamlit_config.toml").read_text())
    assert shipped == tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    flags = config_flags(shipped, server_port=9999, server_address="127.0.0.1")
    pairs = dict(zip(flags[::2], flags[1::2], strict=True))
    assert pairs["--server.port"] == "9999" and pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.headless"] == "true" and pairs["--browser.gatherUsageStats"] == "false"
    assert pairs["--theme.primaryColor"] == shipped["theme"]["primaryColor"]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project's wheel installed; returns its bin directory."""
    work = tmp_path_factory.mktemp("wheel")
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        work / "dist",
        ROOT,
    )
    [wheel] = (work / "dist").glob("llmops_review_desk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "app/main.py",
        "app/streamlit_config.toml",
        "app/page_icon.png",
        "pages/review.py",
        "review_store/cli/serve.py",
    } <= names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    )
    (site / "zz-project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    return venv / "bin"


def test_the_wheel_holds_the_ui_and_serve_finds_it_there(installed, tmp_path):
    where = _run(
        installed / "python", "-c",
        "import app, review_store; from review_store.cli.serve import command; "
        "print(app.__file__); print(review_store.__file__); print(command(1234, '127.0.0.1'))",
        cwd=tmp_path,
    ).stdout.splitlines()  # fmt: skip
    site = str(installed.parent / "lib")
    assert where[0].startswith(site) and where[1].startswith(site), where
    assert "app/main.py" in where[2] and where[2].count(site) == 1 and "--theme.primaryColor" in where[2]


def test_review_desk_serve_from_the_wheel_outside_the_checkout(installed, tmp_path):
    require_chromium()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REVIEW_STORE_URL")}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [installed / "review-desk", "--db", f"sqlite:///{tmp_path / 'desk.db'}", "serve", "--port", str(port),
             "--address", "127.0.0.1"],
            cwd=elsewhere, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        with browser_page() as page:
            page.goto(base)
            page.get_by_text("Sign in to review, approve releases").wait_for()
            page.get_by_label("Username", exact=True).wait_for()
            page.get_by_label("Username", exact=True).fill("nobody")
            page.get_by_label("Password", exact=True).fill("not-a-password")
            page.get_by_role("button", name="Sign in").click()  # the store answers, from the wheel
            page.get_by_text("Unknown user or wrong password.").wait_for()
        assert (tmp_path / "desk.db").exists()  # migrated at start, on the --db given
        assert not (elsewhere / "review_desk.db").exists() and "Traceback" not in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
