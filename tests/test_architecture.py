"""The package's shape: imports point down the flow, no cycles, modules of a readable size.

The stages, in flow order (``docs/architecture.md``)::

    vocabulary (errors, quantities, geo, events, geoformats, metadata, _version)
      -> sources -> flight -> samples -> gridding -> products
    missions: beside sources (vocabulary only below it)
    live: may use sources, flight, samples (never imported but by cli and the API)
    cli, and the API at the top (dronesense/__init__, accessors, datasets): may use anything

A module may import its own stage and the stages before it, never one after it. Deferred
imports (inside functions) count the same: they hide cycles, they do not remove them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dronesense"

VOCABULARY = {"errors", "quantities", "geo", "events", "geoformats", "metadata", "_version"}
#: stage -> rank in the flow
RANK = {"vocabulary": 0, "sources": 1, "missions": 1, "flight": 2, "samples": 3,
        "gridding": 4, "products": 5, "live": 6, "api": 7, "cli": 8}
#: stages a stage may not import although they come earlier in the flow
FORBIDDEN = {
    "gridding": {"sources", "missions"},   # grids are made from samples, never from raw logs
    "products": {"sources", "missions"},   # products never read raw logs
    "missions": {"sources", "flight", "samples", "gridding", "products", "live"},
    "live": {"gridding", "products", "missions"},
    "api": {"cli"},
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    head = parts[1]
    if head in VOCABULARY:
        return "vocabulary"
    if head in RANK:
        return head
    if head == "__main__":
        return "cli"
    return "api"  # accessors, datasets and other top-level modules


def _imports(path: Path) -> set[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "dronesense":  # from dronesense import x: x is a module or a name
                for alias in node.names:
                    sub = PACKAGE / alias.name
                    out.add(f"dronesense.{alias.name}"
                            if sub.with_suffix(".py").exists() or sub.is_dir() else name)
            elif name.startswith("dronesense"):
                out.add(name)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("dronesense"))
    return out


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {m: {i for i in _imports(p) if i != m} for m, p in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_flow(module):
    stage = _stage(module)
    bad = []
    for dep in sorted(GRAPH[module]):
        dep_stage = _stage(dep)
        if dep == "dronesense" and stage != "api" and stage != "cli":
            bad.append(f"{dep} (the public API sits on top of every stage)")
        elif RANK[dep_stage] > RANK[stage] or dep_stage in FORBIDDEN.get(stage, ()):
            bad.append(f"{dep} ({dep_stage})")
    assert not bad, f"{module} ({stage}) imports against the flow: {', '.join(bad)}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph (package parents
    excluded: importing ``a.b`` runs ``a/__init__`` first, which is not an edge of the
    flow)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def edges(m: str) -> set[str]:
        return {d for d in GRAPH.get(m, ()) if d in MODULES}

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in sorted(MODULES):
        if m not in index:
            visit(m)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module):
    """No module over ~500 lines unless its docstring says why (``Size:`` note)."""
    text = MODULES[module].read_text()
    lines = text.count("\n")
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert lines <= MAX_LINES or "Size:" in doc, (
        f"{module} has {lines} lines: split it by job, or say why at its top ('Size: ...')")


def test_no_private_names_across_modules():
    """A name starting with ``_`` is private to its module: other modules never import it."""
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dronesense"):
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name != "__version__":
                        bad.append(f"{module}: {node.module}.{alias.name}")
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)
