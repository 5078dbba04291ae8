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


PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
#: Cycles known and owned elsewhere: e5 reuses embedding's cache and hash check, and
#: embedding.build picks e5 (remove the entry once that is split).
KNOWN_CYCLES = {frozenset({"assistant.e5", "assistant.embedding"})}


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


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert "assistant.doctor" in graph["assistant.cli"]  # the graph sees function imports
    assert "assistant.store" in graph["assistant.doctor"]  # and type-checking ones
    assert cycles(graph) - KNOWN_CYCLES == set()
