"""Helpers for the browser tests: a real Streamlit server on a free loopback port and headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"  # git-ignored
README_SCREENSHOTS = ROOT / "docs" / "screenshots"  # the README's pictures: refreshed by the journey
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"  # `make a11y` (npm ci)
LOOPBACK = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for browser tests"
    if os.environ.get("REVIEW_DESK_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(db_url: str, log_path: Path, *, cwd: Path = ROOT, port: int | None = None):
    """`streamlit run app/main.py` on db_url; yields the base URL once /_stcore/health answers.

    `cwd` is where Streamlit reads `.streamlit/` (config.toml, secrets.toml) from.
    """
    port = port or free_port()
    env = {**os.environ, "REVIEW_STORE_URL": db_url}
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the app did not start; see {log_path}:\n{log_path.read_text()[-2000:]}"
                    )
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def settled(page) -> None:
    """Wait until the script run is over (Streamlit's running indicator is gone)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base)
    page.get_by_label("Username", exact=True).wait_for()
    settled(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for()
    settled(page)


def screenshot(page, tmp_path: Path, name: str, *, readme: bool = False) -> Path:
    """Saved under the test's tmp dir and test-artifacts/screenshots; with `readme`, also docs/screenshots."""
    target = tmp_path / f"{name}.png"
    page.evaluate(  # the top of the page, no keyboard focus ring from the keyboard walk
        """() => { document.activeElement && document.activeElement.blur();
        for (const e of [document.scrollingElement, ...document.querySelectorAll('[data-testid=stMain]')])
            e && e.scrollTo(0, 0); }"""
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000, f"{name}: the screenshot is nearly empty"
    targets = [SCREENSHOTS] + ([README_SCREENSHOTS] if readme else [])
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(target.read_bytes())
    return target


def watch_requests(page) -> list[str]:
    """Every request the page (or a frame in it) makes to anywhere but 127.0.0.1: should stay empty."""
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(LOOPBACK) else outside.append(r.url))
    page.on("websocket", lambda ws: None if ws.url.startswith(LOOPBACK) else outside.append(ws.url))
    return outside


def require_axe() -> None:
    if AXE.exists():
        return
    message = f"{AXE} is missing: run `make a11y` (npm ci in tests/a11y) for the accessibility check"
    if os.environ.get("REVIEW_DESK_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def axe_violations(page, *, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of the page as it is now, at the given impacts, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                    for node in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in impacts
    ]  # fmt: skip


# What a keyboard user must be able to reach with Tab: enabled, visible actions outside frames, each named by
# a signature that survives a re-render (Streamlit redraws nodes). A radio group counts once (arrow keys move
# inside it, segmented controls too); an element toolbar that exists only while its table is hovered or
# focused is not counted, nor a chart's hover toolbar, nor what a closed expander holds (its summary is).
_SIGNATURE = """e => {
  if (e.type === 'radio' || e.getAttribute('role') === 'radio') {
    const g = e.closest('[role=radiogroup]');
    return 'radiogroup|' + (g && (g.getAttribute('aria-label') || (g.closest('[data-testid=stRadio]') || g).innerText.split('\\n')[0]) || '');
  }
  return [e.tagName, e.getAttribute('aria-label') || e.getAttribute('placeholder') || '',
          (e.innerText || '').trim().slice(0, 40), e.getAttribute('data-testid') || ''].join('|');
}"""
_FOCUSABLE = (
    """() => {
  const sig = """
    + _SIGNATURE
    + """;
  const sel = 'button, a[href], input, textarea, select, summary, [role=slider], [tabindex]';
  const out = new Set();
  for (const el of document.querySelectorAll(sel)) {
    if (el.disabled || el.type === 'hidden' || el.getAttribute('tabindex') === '-1') continue;
    if (el.closest('[aria-hidden=true], .modebar, [data-testid=stElementToolbar], iframe')) continue;
    const fold = el.closest('details');
    if (fold && !fold.open && el.tagName !== 'SUMMARY') continue;  // inside a closed expander: open it first
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    out.add(sig(el));
  }
  return [...out];
}"""
)
_FOCUSED = (
    "() => { const e = document.activeElement; return e && e !== document.body ? ("
    + _SIGNATURE
    + ")(e) : '' }"
)


def unreachable_by_keyboard(page, *, max_tabs: int = 300) -> list[str]:
    """The actions on the page that pressing Tab never focuses, going once round the page from the top."""
    page.mouse.move(0, 0)  # no hover-only toolbar in the way
    wanted = set(page.evaluate(_FOCUSABLE))
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: set[str] = set()
    order: list[str] = []
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if order and focused and focused == order[0] and len(order) > 1:
            break  # round the page once
        if focused:
            order.append(focused)
            reached.add(focused)
        if wanted <= reached:
            break
    return sorted(wanted - reached)
