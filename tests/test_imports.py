"""Importing the package is cheap: no torch, no model, no chromadb, no network."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "streamlit")


def test_import_assistant_loads_nothing_heavy():
    code = (
        "import sys, assistant, assistant.cli, assistant.config;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_runs_without_loading_the_model():
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert all(c in done.stdout for c in ("ingest", "list", "remove", "search", "ask"))


def _imported_modules(path: Path) -> set[str]:
    """The package's modules a module imports, at its top or in a function (not the imports
    made for type checking only)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "assistant":
                    found.update(alias.name for alias in node.names)
                elif node.module.startswith("assistant."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.split(".")[1] for a in node.names if a.name.startswith("assistant.")
                )
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def test_the_import_graph_has_no_cycles():
    package = Path(__file__).resolve().parent.parent / "assistant"
    graph = {p.stem: _imported_modules(p) & {q.stem for q in package.glob("*.py")}
             for p in package.glob("*.py")}  # fmt: skip
    assert len(graph) > 30 and graph["factory"] >= {"retrieval", "answering", "store"}
    cycles = []
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            walk(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
    assert cycles == []  # e.g. [["embedding", "e5", "embedding"]] before the engine moved


PACKAGE = Path(__file__).resolve().parent.parent / "assistant"


def import_graph() -> dict[str, set[str]]:
    """Each module of the package → the package modules it imports (anywhere in the file,
    type-checking imports included: a cycle of types is a cycle for a reader too)."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "assistant":
                found |= {f"assistant.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant."):
                found.add(str(node.module))
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("assistant.")}
        graph[f"assistant.{path.stem}"] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The modules of each strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while (member := stack.pop()) != node:
                group.add(member)
            if group:
                out.add(frozenset({node, *group}))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == {frozenset({"a", "b", "c"})}


def test_no_import_cycles_even_through_type_checking_imports():
    # stricter than the test above: doctor's type-checking import of Store once met
    # store's function import of doctor (a cycle for a reader, if not for Python)
    graph = import_graph()
    assert "assistant.doctor" in graph["assistant.cli"]  # the graph sees function imports
    assert "assistant.store" in graph["assistant.doctor"]  # and type-checking ones
    assert cycles(graph) == set()
