"""Architecture rules as tests: a regression fails `make test`, not a code review.

- pages/ and app/ reach the store only through the facade (review_store.desk) and open no session;
- every review_store module stays <= 400 lines; no import cycles; no private name imported across modules;
- every public facade method returns a typed, frozen read model (or a plain scalar), never dict[str, Any].

TRANSITIONAL lists name the files still being moved onto the facade; they only ever shrink.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import types
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "review_store"
MAX_LINES = 400

# Files not yet on the facade (each noun's owner removes its entries as it moves them).
TRANSITIONAL_UI: set[str] = set()
TRANSITIONAL_LONG: set[str] = set()
TRANSITIONAL_PRIVATE_IMPORTS: set[tuple[str, str]] = {}


def _py_files(*dirs: str) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        out += sorted((ROOT / d).rglob("*.py"))
    return out


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every import statement, nested ones included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno))
    return found


@pytest.mark.parametrize("path", _py_files("pages", "app"), ids=_rel)
def test_ui_reaches_the_store_only_through_the_facade(path: Path) -> None:
    if _rel(path) in TRANSITIONAL_UI:
        pytest.skip("transitional: not yet moved onto the facade")
    bad = []
    for module, names, line in _imports(ast.parse(path.read_text())):
        if module == "review_store" or (
            module.startswith("review_store.") and not module.startswith("review_store.desk")
        ):
            bad.append(f"{_rel(path)}:{line}: imports {module} ({', '.join(names)})")
        if module.split(".")[0] in {"sqlalchemy", "sqlmodel"}:
            bad.append(f"{_rel(path)}:{line}: imports {module}: database access belongs in the store")
    assert not bad, "pages/ and app/ may import only app and review_store.desk:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", _py_files("pages", "app"), ids=_rel)
def test_ui_opens_no_session_or_transaction(path: Path) -> None:
    if _rel(path) in TRANSITIONAL_UI:
        pytest.skip("transitional: not yet moved onto the facade")
    text = path.read_text()
    for needle in ("session_scope", "read_session", "Session(", ".exec(", "select(", ".engine"):
        # a whole word: st.multiselect( is a widget, not a query
        assert not re.search(rf"(?<![A-Za-z_]){re.escape(needle)}", text), (
            f"{_rel(path)} uses {needle!r}: call the facade, which owns the transaction"
        )


@pytest.mark.parametrize(
    "path", [p for p in _py_files("review_store") if "versions" not in p.parts], ids=_rel
)
def test_store_modules_stay_small(path: Path) -> None:
    """Migration scripts (migrations/versions) are frozen history, never edited to split them: not counted."""
    lines = len(path.read_text().splitlines())
    if _rel(path) in TRANSITIONAL_LONG:
        pytest.skip(f"transitional: {lines} lines, to be split")
    assert lines <= MAX_LINES, f"{_rel(path)} has {lines} lines (> {MAX_LINES}): split it by noun"


def _store_modules() -> dict[str, Path]:
    mods = {}
    for path in STORE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _module_level_imports(tree: ast.Module) -> list[ast.ImportFrom | ast.Import]:
    """Imports executed when the module loads (not inside functions, not under TYPE_CHECKING)."""
    out: list[ast.ImportFrom | ast.Import] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                out.append(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _store_modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in _module_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[mod].add(target if target in mods else node.module)
            elif isinstance(node, ast.Import):
                graph[mod].update(a.name for a in node.names)
        graph[mod] = {t for t in graph[mod] if t in mods and t != mod}
    return graph


def test_no_import_cycles_in_the_store() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules, which import siblings, is not a cycle of nouns
            if len(comp) > 1 and not _package_internal(comp):
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles (module level): {cycles}"


def _package_internal(comp: list[str]) -> bool:
    prefixes = {".".join(m.split(".")[:2]) for m in comp}
    return len(prefixes) == 1 and any(m == next(iter(prefixes)) for m in comp)


@pytest.mark.parametrize("path", _py_files("review_store", "app", "pages"), ids=_rel)
def test_no_private_name_imported_across_modules(path: Path) -> None:
    bad = []
    for module, names, line in _imports(ast.parse(path.read_text())):
        if not (module.startswith("review_store") or module.startswith("app")):
            continue
        for name in names:
            if (
                name.startswith("_")
                and not name.startswith("__")
                and (_rel(path), name) not in (TRANSITIONAL_PRIVATE_IMPORTS)
            ):
                bad.append(f"{_rel(path)}:{line}: imports private {module}.{name}")
    assert not bad, "\n".join(bad)


ALLOWED_SCALARS = (type(None), bool, int, float, str, bytes)


def _typed(annotation: object) -> bool:
    from review_store.desk.base import ReadModel
    from review_store.permissions import Actor

    if annotation in ALLOWED_SCALARS or annotation is None:
        return True
    if inspect.isclass(annotation):
        return issubclass(annotation, ReadModel | Actor)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is tuple:
        return all(a is Ellipsis or _typed(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return all(_typed(a) for a in args)
    if origin is typing.Literal:
        return True
    return False


def _parts() -> list[tuple[str, type]]:
    import review_store.desk as desk_pkg
    from review_store.desk.base import Part

    out = []
    for info in pkgutil.iter_modules(desk_pkg.__path__):
        mod = importlib.import_module(f"review_store.desk.{info.name}")
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if issubclass(cls, Part) and cls is not Part and cls.__module__ == mod.__name__:
                out.append((f"{info.name}.{name}", cls))
    return out


def test_every_part_is_reachable_from_the_desk(tmp_path: Path) -> None:
    from functools import cached_property

    from review_store.db import make_engine
    from review_store.desk import Desk

    desk = Desk(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    exposed = {
        type(getattr(desk, name))
        for name, value in vars(Desk).items()
        if isinstance(value, cached_property) and not name.startswith("_")
    }
    parts = {cls for _, cls in _parts()}
    assert parts <= exposed, f"parts not reachable from Desk: {parts - exposed}"


@pytest.mark.parametrize("qualname,cls", _parts(), ids=[q for q, _ in _parts()])
def test_facade_methods_return_typed_read_models(qualname: str, cls: type) -> None:
    bad = []
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        hints = typing.get_type_hints(fn)
        if "return" not in hints or not _typed(hints["return"]):
            bad.append(f"{qualname}.{name} -> {hints.get('return', 'unannotated')}")
    assert not bad, "facade methods must return frozen read models or scalars:\n" + "\n".join(bad)


def test_read_models_are_frozen() -> None:
    from review_store.desk.base import ReadModel

    def walk(cls: type) -> list[type]:
        return [cls] + [s for sub in cls.__subclasses__() for s in walk(sub)]

    for _, cls in _parts():
        importlib.import_module(cls.__module__)
    for model in walk(ReadModel):
        assert model.model_config.get("frozen"), f"{model.__name__} must be frozen"
        for field, info in model.model_fields.items():
            origin = typing.get_origin(info.annotation)
            assert origin not in (list, dict, set), (
                f"{model.__name__}.{field}: use tuples (or a nested ReadModel), not {origin.__name__}"
            )


# Pure modules (no database) the CLI and the HTTP API may use besides the facade.
EDGE_MAY_IMPORT = (
    "review_store.desk",
    "review_store.cli",
    "review_store.api",
    "review_store.errors",
    "review_store.clock",
    "review_store.config",
    "review_store.permissions",
    "review_store.schema",  # `review-desk db upgrade`: migrations are the one thing below the facade
    "review_store.ingest.otlp_proto",  # decoding request bodies (no database)
    "review_store.ingest.otlp_batch",
    "review_store.ingest.costs",  # warming litellm's price map before the API accepts connections
)


@pytest.mark.parametrize("path", _py_files("review_store/cli", "review_store/api"), ids=_rel)
def test_cli_and_api_reach_the_database_only_through_the_facade(path: Path) -> None:
    bad = []
    for module, names, line in _imports(ast.parse(path.read_text())):
        targets = (
            [f"{module}.{n}" for n in names] if module.startswith("review_store") and names else [module]
        )
        for target in targets:
            if target.split(".")[0] in {"sqlalchemy", "sqlmodel"} or (
                target.startswith("review_store") and not target.startswith(EDGE_MAY_IMPORT)
            ):
                bad.append(f"{_rel(path)}:{line}: imports {target}")
    assert not bad, "the CLI and the HTTP API call the facade (review_store.desk):\n" + "\n".join(bad)
