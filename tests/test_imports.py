"""One-way imports (docs/design.md, "Layers"): no import cycle in ``src/uepmm``.

Every ``import`` counts, at module level or inside a function, and type-hint imports under
``if TYPE_CHECKING:`` too; only an edge from a module into its own package's ``__init__``
is left out (Python runs that ``__init__`` first anyway, so it orders nothing).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import uepmm

SRC = Path(uepmm.__file__).parent


def _modules(root: Path) -> dict[str, Path]:
    """Dotted name of every module of the package at ``root`` (a package is named by its ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module ``name`` imports, anywhere in its body."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - (node.level - 1)] + ([base] if base else []))
            # ``from pkg import sub`` imports the module ``pkg.sub`` when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # ``from .mod import name``: the module itself
                target = target.rpartition(".")[0]
            own_package = known.get(target, Path()).name == "__init__.py" and name.startswith(target + ".")
            if target and target != name and not own_package:
                found.add(target)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """``module -> modules it imports`` within the package at ``root``."""
    known = _modules(root)
    return {name: _imports(name, path, known) for name, path in known.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_uepmm_has_no_import_cycle():
    graph = import_graph(SRC)
    assert len(graph) == len(list(SRC.rglob("*.py"))) > 50  # every module, sub-packages included
    assert graph["uepmm.api"] >= {"uepmm.planning", "uepmm.decoders", "uepmm.codes"}  # edges are resolved
    assert import_cycles(graph) == []


def test_the_layers_the_refactor_set_up_hold():
    graph = import_graph(SRC)
    # planning sits below both entry points and the backends
    assert not {m for m in graph["uepmm.planning"] if m == "uepmm.api" or m.startswith("uepmm.backends")}
    # the decoder interface imports no code module (the Code type hint is the interface, codes/base.py)
    assert {m for m in graph["uepmm.decoder_base"] if m.startswith("uepmm.codes")} <= {"uepmm.codes.base"}
    # theory reaches the codes only through the interface and its registry
    theory = {m for name, edges in graph.items() if name.startswith("uepmm.theory") for m in edges}
    assert {m for m in theory if m.startswith("uepmm.codes")} == {"uepmm.codes.base"}
    assert not {m for m in graph["uepmm.codes.base"] if m.startswith(("uepmm.theory", "uepmm.decoder"))}


@pytest.mark.parametrize("where", ["module", "function", "type_checking"])
def test_the_check_finds_a_cycle_through_any_kind_of_import(tmp_path, where):
    body = {
        "module": "from .b import g\n",
        "function": "def f():\n    from .b import g\n    return g\n",
        "type_checking": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import g\n",
    }[where]
    root = _write(tmp_path / "pkg", {
        "__init__.py": "from .a import *\n",  # the package importing its submodule is not a cycle
        "a.py": body,
        "b.py": "import pkg.sub.c\ndef g():\n    pass\n",
        "sub/__init__.py": "",
        "sub/c.py": "from ..a import f\nfrom . import d\n",
        "sub/d.py": "from .. import sub\n",  # into its own package's __init__: left out
    })
    graph = import_graph(root)
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.sub.d"} and graph["pkg.sub.d"] == set()
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_the_check_finds_two_separate_cycles(tmp_path):
    root = _write(tmp_path / "pkg", {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "from .a import x\n",
        "c.py": "from pkg import d\nfrom . import a\n",
        "d.py": "import pkg.c\n",
        "e.py": "from .c import y\n",  # on no cycle
    })
    assert import_cycles(import_graph(root)) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]
