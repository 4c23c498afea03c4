"""The house: layers point down (import-linter contracts), no import cycle among modules, no
module over 600 lines, and the batch commands and the core load nothing they do not need (a
fresh interpreter per check, as harlequin's test_import_hygiene does)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "census"
LIMIT = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The census modules `name` imports when it is loaded: imports at module level (inside
    `if` and `try` too), not those under TYPE_CHECKING or inside a function (a deliberate lazy
    import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody,
                              *(h.body for h in node.handlers)):
                    visit(block)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)

    visit(tree.body)
    return {m for m in found if m in known and m != name}


def test_no_import_cycle_among_modules() -> None:
    modules = _modules()
    graph = {name: _top_level_imports(name, path, set(modules))
             for name, path in modules.items()}
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert cycles == [], f"import cycles among modules: {cycles}"


def test_the_cycle_finder_sees_a_cycle(tmp_path: Path) -> None:
    """The test above would catch a cycle: two modules importing each other at module level."""
    (tmp_path / "a.py").write_text("from census.b import x\n")
    (tmp_path / "b.py").write_text("import census.a\n\ndef f():\n    from census.c import y\n")
    known = {"census.a", "census.b", "census.c"}
    assert _top_level_imports("census.a", tmp_path / "a.py", known) == {"census.b"}
    assert _top_level_imports("census.b", tmp_path / "b.py", known) == {"census.a"}


def test_no_module_over_the_limit() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert long == {}, f"modules over {LIMIT} lines: {long}"


def test_the_import_contracts_hold() -> None:
    """The layers and forbidden imports of pyproject.toml ([tool.importlinter])."""
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.fail("lint-imports is not installed: pip install '.[test]'")
    done = subprocess.run([lint, "--no-cache"], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _loaded_after(module: str) -> set[str]:
    code = ("import sys, json\n"
            f"import {module}\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} | "
            "{m for m in sys.modules if m.startswith('census.')})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    import json

    return set(json.loads(done.stdout))


HEAVY = {"textual", "rich", "sqlite_utils", "sqlcipher3", "cryptography", "pyarrow", "pandas",
         "numpy", "platformdirs"}


@pytest.mark.parametrize(("module", "allowed"), [
    # `census --help` and every batch command start without the database, the app or crypto.
    ("census.cli", {"click"}),
    # The pure core: no database, no interface, no crypto, no files.
    ("census.domain.model", set()),
    ("census.domain.config", set()),
    ("census.validation.engine", set()),
    ("census.privacy.ptable.generate", set()),
    ("census.tabulate.release", set()),
    ("census.formats.record_json", set()),
    ("census.formats.payload", set()),
    # Sealed files need cryptography, never the database.
    ("census.transfer.seal", {"cryptography"}),
    # Storage needs the database, never the interfaces (sqlite-utils itself loads click).
    ("census.storage.store", {"sqlite_utils", "sqlcipher3", "click"}),
    # Use cases: storage and crypto, never Textual.
    ("census.usecases.bundles", {"sqlite_utils", "sqlcipher3", "click", "cryptography"}),
    ("census.usecases.entry", {"sqlite_utils", "sqlcipher3", "click"}),
])
def test_import_hygiene(module: str, allowed: set[str]) -> None:
    loaded = _loaded_after(module)
    assert (loaded & HEAVY) - allowed == set()
    assert "click" in allowed or "click" not in loaded
    if not module.startswith("census.cli"):
        assert not any(m.startswith(("census.cli", "census.tui")) for m in loaded)
    if module.startswith(("census.domain", "census.validation", "census.privacy",
                          "census.tabulate", "census.formats")):
        assert not any(m.startswith(("census.storage", "census.usecases", "census.transfer"))
                       for m in loaded)
