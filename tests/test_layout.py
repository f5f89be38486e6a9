"""The package layout reads as the flow, and imports only go down it: a stage may use the stages before
it, never one after it; training and evaluation do not use each other; nothing imports in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from qa.settings import REPO_ROOT

QA = REPO_ROOT / "qa"
# Lowest first. A module may import modules of its own rank or lower ranks only.
LAYERS = [
    {"qa.settings", "qa.schema", "qa.text"},
    {"qa.runtime", "qa.ingest", "qa.datasets"},
    {"qa.embedding"},
    {"qa.store"},
    {"qa.retrieval"},
    {"qa.reading"},
    {"qa.answering"},
    {"qa.training", "qa.evaluation"},
    {"qa.display", "qa.cli", "qa.api", "qa.__main__"},
]
# Same rank, but neither may lean on the other.
APART = [("qa.training", "qa.evaluation")]


def _module(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qa")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qa") and node.level == 0:
            found.add(node.module)
    return found


def _group(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _rank(module: str) -> int:
    group = _group(module)
    return next(i for i, layer in enumerate(LAYERS) if group in layer)


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in QA.rglob("*.py")}


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in _graph() if m != "qa" and not any(_group(m) in layer for layer in LAYERS))
    assert unplaced == []


def test_imports_only_go_down_the_flow():
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items() if module != "qa"
        for target in targets if target != "qa" and _rank(target) > _rank(module)
    )
    assert upward == []


def test_training_and_evaluation_keep_apart():
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for a, b in APART for target in targets
        if {_group(module), _group(target)} == {a, b}
    )
    assert crossing == []


def test_no_import_cycles():
    graph = _graph()
    known = set(graph)

    def resolve(target: str) -> str | None:
        # "from qa.store import x" names the package; its __init__ is the module.
        return target if target in known else None

    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(filter(None, map(resolve, graph[module]))):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rules above are not vacuous: a store module importing the pipeline would be caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from qa.answering.pipeline import Pipeline\n")
    assert _rank(next(iter(_imports(bad)))) > _rank("qa.store.local")
