"""`make run` installs only the project's run dependencies (no dev extras): every third-party module that
review_store, app and pages import must come from them. A module reached only through a dev extra
(google.rpc came with the OTLP exporter of the tests) works in `make test` and breaks `make run`."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
OURS = {"review_store", "app", "pages", "tests", "bench"}


def _imported_top_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, over the shipped code (imports anywhere in a file)."""
    found: dict[str, str] = {}
    for folder in ("review_store", "app", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = (
                        [node.module] if node.module != "google" else [f"google.{a.name}" for a in node.names]
                    )
                else:
                    continue
                for name in names:
                    parts = name.split(".")
                    top = ".".join(parts[:2]) if parts[0] == "google" else parts[0]  # a namespace package
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _run_closure() -> set[str]:
    """The distributions `pip install .` brings in: the run requirements and theirs, extras as asked."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in metadata.requires("llmops-review-desk") or []]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        key = (name, tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(dep)
    return {name for name, _ in seen}


def test_every_module_the_app_imports_comes_from_a_run_dependency():
    providers = metadata.packages_distributions()
    closure = _run_closure()
    missing = []
    for module, where in sorted(_imported_top_modules().items()):
        head = module.split(".")[0]
        if head in OURS or head in sys.stdlib_module_names or head == "__future__":
            continue
        dists = providers.get(module.split(".")[-1] if head == "google" else head, [])
        if head == "google":  # google.* is shared by several distributions: find the one holding this part
            dists = [
                d for d in providers.get("google", [])
                if any(str(f).startswith(module.replace(".", "/") + "/") for f in metadata.files(d) or [])
            ]  # fmt: skip
        if not any(d.lower().replace("_", "-") in closure for d in dists):
            missing.append(f"{module} (imported in {where}; provided by {dists or 'nothing installed'})")
    assert not missing, "not installed by `make run`: " + "; ".join(missing)
