"""The layers stay layers: no import cycles, the pure core imports no shell and no framework and
does no I/O, probes/ never imports the advisor, and no framework name is written into the core
(the candidate set is data in knowledge/frameworks/)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("advisor", "probes", "ui")
FRAMEWORK_WORDS = {"tensorflow", "pytorch", "torch", "mxnet", "jax", "jaxlib", "keras", "flax"}
CORE_FORBIDDEN = {
    "advisor.cli", "advisor.files", "ui", "probes.runner", "probes.store", "probes.config",
    "probes.worker", "probes.frameworks", "subprocess", "socket", "sqlite3", "urllib", "shutil",
    "torch", "tensorflow", "mxnet", "jax", "keras", "streamlit",
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (imports for annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> Iterator[str]:
    """Every module a file imports at run time, at its top or inside functions (lazy imports
    count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    yield candidate


def _internal(name: str) -> str | None:
    """The project module an import refers to (its nearest existing parent)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {_internal(name) for name in _imports(path)}
        # A package's __init__ is imported with any of its modules; it is not an edge of its own.
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_there_are_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The checker itself works: a planted two-module loop is reported."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("advisor.core")))
def test_the_core_imports_no_shell_no_framework_and_no_io_module(module: str) -> None:
    imported = set(_imports(MODULES[module]))
    bad = sorted(
        name
        for name in imported
        if any(name == f or name.startswith(f + ".") for f in CORE_FORBIDDEN)
    )
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("advisor.core")))
def test_the_core_reads_no_clock_and_opens_no_file(module: str) -> None:
    source = MODULES[module].read_text(encoding="utf-8")
    for pattern in (r"\bopen\(", r"\.now\(", r"time\.time\(", r"\.read_text\(", r"os\.environ"):
        assert not re.search(pattern, source), f"{module} matches {pattern}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("probes")))
def test_probes_never_import_the_advisor(module: str) -> None:
    imported = set(_imports(MODULES[module]))
    assert not [n for n in imported if n == "advisor" or n.startswith("advisor.")]


def _code_strings(path: Path) -> Iterator[tuple[int, str]]:
    """String literals that are code, not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("advisor.core")))
def test_no_framework_is_named_in_the_core(module: str) -> None:
    """Frameworks come from the registry; a name written into the core is a list waiting to
    drift from it."""
    named = [
        (line, text)
        for line, text in _code_strings(MODULES[module])
        if FRAMEWORK_WORDS & set(re.findall(r"[a-z]+", text.lower()))
    ]
    assert named == []


def test_the_name_check_sees_a_planted_name(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text('"""Doc mentioning pytorch is fine."""\nNAMES = ("pytorch",)\n')
    assert [text for _, text in _code_strings(planted)] == ["pytorch"]
