"""Imports run one way between the first-level parts of ``ipad_iqa`` (its packages and top-level modules).

Every import counts, also one inside a function: a cycle hidden in a function is still a cycle of the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ipad_iqa"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Absolute names of the modules (or module members) that ``path`` imports."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _part(name: str) -> str | None:
    """The first-level part of ``ipad_iqa`` that ``name`` lies in, if any (``ipad_iqa`` itself for the root)."""
    parts = name.split(".")
    if parts[0] != "ipad_iqa":
        return None
    if len(parts) == 1:
        return "ipad_iqa"
    first = parts[1]
    exists = (PACKAGE / first).is_dir() or (PACKAGE / f"{first}.py").is_file()
    return f"ipad_iqa.{first}" if exists else "ipad_iqa"  # `from ipad_iqa import create_model`: the root


def import_graph() -> dict[str, set[str]]:
    """First-level part -> the first-level parts it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        source = _part(_module_name(path))
        targets = {_part(name) for name in _imported(path)} - {None, source}
        graph.setdefault(source, set()).update(targets)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the list of its nodes (first repeated at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_first_level_parts_import_one_way():
    graph = import_graph()
    assert {"ipad_iqa.model", "ipad_iqa.data", "ipad_iqa.train", "ipad_iqa.eval", "ipad_iqa.cli"} <= set(graph)
    assert "ipad_iqa.model" in graph["ipad_iqa.train"]  # the graph sees imports, also those inside functions
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_layers():
    """data <- model <- baselines <- train/eval <- cli: a lower layer never imports a higher one."""
    graph = import_graph()
    order = ["ipad_iqa.data", "ipad_iqa.model", "ipad_iqa.baselines", "ipad_iqa.train", "ipad_iqa.cli"]
    for low, high in zip(order, order[1:], strict=False):
        assert high not in graph[low], f"{low} imports {high}"
    assert not {"ipad_iqa.train", "ipad_iqa.eval", "ipad_iqa.cli"} & graph["ipad_iqa.baselines"]
    assert "ipad_iqa.cli" not in graph["ipad_iqa.eval"] | graph["ipad_iqa.train"]
