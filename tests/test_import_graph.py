"""Arrows point down: no package of toolchain/ imports one above it, and no two import each other.

A unit is a subpackage (`toolchain/convert/…` → "convert") or a top-level module
(`toolchain/audio.py` → "audio"). Imports are read from the source (ast), lazy ones included.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "toolchain"

# Bottom first. A unit may import units of its own layer or of layers below it, never above.
LAYERS: list[set[str]] = [
    {"errors", "quiet"},
    {"artifacts", "outputs", "keras_file", "audio", "frontend", "frontend_c", "tflite"},  # files and where to write them, audio, the frontend, model files
    {"corpus", "augment", "features", "streaming"},  # corpora, noise, cached features, streaming settings
    {"embedding"},
    {"fewshot"},
    {"convert"},
    {"export"},
    {"simulate"},
    {"firmware"},  # building, emulating and self-testing exported projects
    {"flash", "demo", "cli"},
]


def unit_of(module: str) -> str | None:
    """"toolchain.convert.cost" → "convert"; None for modules outside the package."""
    parts = module.split(".")
    if parts[0] != "toolchain" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # `from toolchain import flash` imports the unit `flash`
            if node.module == "toolchain":
                found |= {f"toolchain.{alias.name}" for alias in node.names}
    return found


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(module_name(path))
        if unit is None or unit == "__init__":
            continue
        targets = {unit_of(m) for m in imported_modules(path)} - {None, unit, "__init__"}
        graph.setdefault(unit, set()).update(targets)
    return graph


def layer_index() -> dict[str, int]:
    return {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def test_every_unit_has_a_layer():
    unplaced = sorted(set(unit_graph()) - set(layer_index()))
    assert not unplaced, f"add {unplaced} to LAYERS in {Path(__file__).name}"


def test_no_unit_imports_one_above_it():
    layer = layer_index()
    upward = sorted(f"{src} (layer {layer[src]}) imports {dst} (layer {layer[dst]})"
                    for src, targets in unit_graph().items() for dst in targets
                    if src in layer and dst in layer and layer[dst] > layer[src])
    assert not upward, "\n".join(upward)


def test_no_package_cycles():
    graph = unit_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += graph.get(node, ())
        return False

    cycles = sorted(f"{a} ↔ {b}" for a in graph for b in graph[a] if a < b and reaches(b, a))
    assert not cycles, "package cycles: " + ", ".join(cycles)


@pytest.mark.parametrize("source, expected", [
    ("from toolchain.convert.cost import x", {"toolchain.convert.cost"}),
    ("def f():\n    import toolchain.export.firmware", {"toolchain.export.firmware"}),
    ("from toolchain import flash", {"toolchain", "toolchain.flash"}),
])
def test_lazy_and_package_imports_are_seen(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert imported_modules(path) == expected
