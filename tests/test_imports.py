"""The layers of the package, read from the source (lazy imports included): every module
belongs to one layer, a module imports only from its own layer or those below, and no modules
import each other, directly or through others. The README's "Where the code is" lists the same
layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dancesearch"

# lowest first; a name covers the module and everything under it
LAYERS = [
    ("errors", "metrics", "losses"),  # leaves
    ("skeleton",),  # the common body
    ("sources", "features"),  # one reader per format; pure features
    ("clips",),  # windows, the clip record
    ("storage",),  # tables, arrays, configs, the collections and their backends
    ("freshness",),  # the keys that decide what work can be skipped
    ("items", "ingest", "annotate", "render"),  # building the library
    ("catalogue",),  # what the library knows about its clips
    ("encoders", "dataset", "checkpoint", "train"),  # the model, how it learns and embeds
    ("evaluation",),  # protocols and runners
    ("promote", "rebuild"),  # decisions: what to retrain, promote, build, refresh
    ("indexing",),  # building and switching collections
    ("search",),  # answering queries
    ("serving",),  # serve.json, the client of a running server, handed-over jobs
    ("flows",),  # Prefect wiring
    ("web",),  # the HTTP API and the page
    ("cli",),  # the commands
]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the dancesearch modules it imports anywhere in its source (`from a import b`
    counts a.b when b is a module, else a)."""
    found_in = modules()
    graph: dict[str, set[str]] = {}
    for name, path in found_in.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(found_in)
                found |= subs or {node.module}
        graph[name] = {m for m in found if m in found_in and m != name}
    return graph


def layer(module: str) -> int:
    parts = module.split(".")[1:]
    if not parts:
        return 0  # the package itself: its version
    for i, names in enumerate(LAYERS):
        if parts[0] in names:
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and the README map")


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = 2
        path.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_every_module_has_a_layer_and_imports_only_from_its_own_or_lower_ones():
    graph = import_graph()
    upward = sorted(
        f"{a} -> {b}" for a, targets in graph.items() for b in targets if layer(b) > layer(a)
    )
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_modules_import_each_other():
    found = cycle(import_graph())
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_the_checks_see_cycles_and_upward_imports():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    assert layer("dancesearch.cli.search") > layer("dancesearch.search.query")
    assert layer("dancesearch.storage.store") < layer("dancesearch.indexing.embed")
    graph = import_graph()
    assert "dancesearch.storage.store" in graph["dancesearch.storage.qdrant_edge"]
    assert "dancesearch.encoders.inference" in graph["dancesearch.indexing.embed"]
