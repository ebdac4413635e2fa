"""Nothing the app shows needs the network or an emoji font; the settings files agree."""

from __future__ import annotations

import re
import tomllib

from app import navigation
from tests.browser import ROOT

# Emoji and pictographs (no emoji font on many servers: they render as empty boxes); Material icons instead.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_pages_and_app_use_no_emoji():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("app", "pages")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EMOJI.search(line)
    ]
    assert found == []


def test_page_icons_are_material_and_the_favicon_is_a_local_file():
    assert all(spec.icon.startswith(":material/") for spec in navigation.PAGES)
    assert navigation.PAGE_ICON.is_file() and navigation.PAGE_ICON.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    main = (ROOT / "app" / "main.py").read_text()
    assert "page_icon=str(navigation.PAGE_ICON)" in main


def test_settings_name_no_remote_resource_and_no_deprecated_call():
    for path in (ROOT / ".streamlit" / "config.toml", ROOT / "app" / "streamlit_config.toml"):
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path
        tomllib.loads(text)
    for folder in ("app", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "use_container_width" not in path.read_text(), path
