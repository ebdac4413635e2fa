"""The README's demo claims, run against a freshly built demo: its build command, then every row of the
"What the demo shows" table (command, exit code, the text it prints). The README stands on its own."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from review_store.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
runner = CliRunner()


def _demo_section() -> str:
    text = README.read_text()
    start = text.index("## The demo world")
    return text[start : text.index("\n## ", start + 1)]


def _claims() -> tuple[str, list[tuple[str, int, list[str]]]]:
    section = _demo_section()
    build = re.search(r"Built with `review-desk (demo [^`]+)`", section)
    assert build, "the demo section names the command its table was built with"
    rows = []
    for line in section.splitlines():
        match = re.fullmatch(r"\| `review-desk ([^`]+)` \| (\d) \| (.+) \|", line.strip())
        if match:
            rows.append((match[1], int(match[2]), re.findall(r"`([^`]+)`", match[3])))
    return build[1], rows


def test_readme_is_self_contained():
    text = README.read_text()
    assert "DESIGN.md" not in text
    for field in ("trace_id", "timestamp", "segment", "release", "prompt_version", "context", "guardrails"):
        assert f"{field}" in text  # the trace record fields are documented in the README itself


def test_readme_demo_table_holds_on_a_fresh_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # demo-credentials.txt
    monkeypatch.setenv("REVIEW_DESK_DEMO_PASSWORD", "demo-pass-123")
    url = f"sqlite:///{tmp_path / 'readme.db'}"
    build, rows = _claims()
    assert len(rows) >= 8
    built = runner.invoke(app, ["--db", url, *shlex.split(build)])
    assert built.exit_code == 0, built.output
    for command, exit_code, fragments in rows:
        result = runner.invoke(app, ["--db", url, *shlex.split(command)])
        assert result.exit_code == exit_code, (
            f"review-desk {command}: exit {result.exit_code}\n{result.output}"
        )
        for fragment in fragments:
            assert fragment in result.output, (
                f"review-desk {command} does not print {fragment!r}:\n{result.output}"
            )
