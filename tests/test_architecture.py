"""The package's shape, checked from its source: stages import only stages below them, the front
ends only the operations layer and views, and README's "How it works" table names every part.

Imports are read with `ast` from every module, including the ones inside functions (the lazy
imports are dependencies too), and grouped by unit: a top-level module (`index`) or subpackage
(`store`).
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "embedsearch"

# Lower first: a unit may import its own layer's units and those of the layers below.
LAYERS: list[set[str]] = [
    {"errors", "records", "text", "tokens", "config", "registry"},  # shared by every stage
    {"files"},
    {"chunks", "sentences"},  # passages, and the sentences of each
    {"vectors"},
    {"store"},
    {"indexer"},
    {"search"},
    {"views"},  # formatting helpers the answer's prompt also uses (display_path, heading_trail)
    {"answer"},
    {"writing", "reading"},  # Index's two halves (mixins); writing uses reading's recorded folders
    {"index"},
    {"evaluate"},
    {"settings"},  # resolves the LLM's settings too (answer/config.py)
    {"operations"},
    {"watch", "mcp_server"},
    {"server"},
    {"cli"},
    {"_entry", "__main__"},
]
FRONT_ENDS = {"cli", "server", "mcp_server", "watch"}
# What a front end may import from the library besides other front ends.
FRONT_END_MAY_IMPORT = {"operations", "views", "errors", "records", "__init__"}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> dict[tuple[str, str], set[str]]:
    """(importing unit, imported unit) -> the files where that import is written."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts)
        package = module[: -len(".__init__")] if module.endswith(".__init__") else module.rsplit(".", 1)[0]
        if module.endswith(".__init__"):
            module = package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                    # `from . import views` / `from .. import operations`: the names are modules
                    targets = [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
                else:
                    targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target == "embedsearch" or target.startswith("embedsearch."):
                    src, dst = _unit(module), _unit(target)
                    if dst != "__init__" and not ((PACKAGE / dst).is_dir() or (PACKAGE / f"{dst}.py").exists()):
                        dst = "__init__"  # `from embedsearch import __version__`
                    if src != dst:
                        found[(src, dst)].add(str(path.relative_to(ROOT)))
    return found


def _units() -> set[str]:
    units = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir()
                                                         if p.is_dir() and (p / "__init__.py").exists()}
    return units


def test_every_unit_has_a_layer() -> None:
    placed = set().union(*LAYERS) | {"__init__"}
    missing = sorted(_units() - placed)
    assert not missing, f"units without a layer in tests/test_architecture.py: {missing}"


def test_no_unit_imports_upward_or_in_a_circle() -> None:
    layer = {unit: i for i, units in enumerate(LAYERS) for unit in units}
    upward = [f"{src} -> {dst} ({', '.join(sorted(files))})" for (src, dst), files in sorted(_imports().items())
              if src != "__init__" and dst != "__init__" and layer.get(dst, -1) > layer.get(src, -1)]
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)
    # Within a layer (base units, front ends) imports must still not go round in a circle.
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in _imports():
        if "__init__" not in (src, dst):
            graph[src].add(dst)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_front_ends_import_only_the_operations_layer_and_views() -> None:
    wrong = [f"{src} imports {dst} ({', '.join(sorted(files))})" for (src, dst), files in sorted(_imports().items())
             if src in FRONT_ENDS and dst not in FRONT_ENDS | FRONT_END_MAY_IMPORT]
    assert not wrong, "front ends reaching past operations/views:\n" + "\n".join(wrong)


def test_the_checks_see_a_known_import() -> None:
    """The parser finds imports at all (a check that saw nothing would pass for any code)."""
    found = _imports()
    assert ("cli", "operations") in found and ("index", "store") in found and ("store", "errors") in found


def test_readme_how_it_works_table_names_every_unit() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    named = set(re.findall(r"`(?:embedsearch/)?([A-Za-z_]+)(?:/|\.py)`", table))
    for path in re.findall(r"`((?:embedsearch/)?[A-Za-z_/]+(?:\.py|/))`", table):
        full = ROOT / path if path.startswith("embedsearch/") else PACKAGE / path
        assert full.exists(), f"README's table names {path}, which does not exist"
    missing = sorted(_units() - named - {"__init__", "__main__", "_entry"})
    assert not missing, f"README's 'How it works' table does not name: {missing}"
