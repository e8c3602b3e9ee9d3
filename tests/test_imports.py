"""The direction of imports the layout promises, read from the source (lazy imports
included): no two modules import each other through training, embedding with a checkpoint or
evaluation; training and evaluation never import each other; indexing embeds through
encoders.inference, never through evaluation."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dancesearch"


def import_graph() -> dict[str, set[str]]:
    """module -> the dancesearch modules it imports anywhere in its source."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for m in graph[todo.pop()] - seen:
            seen.add(m)
            todo.append(m)
    return seen


def test_training_evaluation_and_indexing_import_in_one_direction():
    graph = import_graph()
    evaluation = {m for m in graph if m.startswith("dancesearch.evaluation")}
    assert not reach(graph, "dancesearch.train") & evaluation
    assert not reach(graph, "dancesearch.search.embed") & evaluation
    assert "dancesearch.train" not in set().union(*(reach(graph, m) for m in evaluation))
    for m in ("dancesearch.train", "dancesearch.encoders.inference", *evaluation):
        assert m not in reach(graph, m), f"{m} imports itself through a cycle"
