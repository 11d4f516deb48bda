"""The package's layers, read from its source: ``python tests/harness/architecture.py`` prints them.

Every module of ``s2s_ad`` belongs to one layer, and imports point down:

    api       the transforms users call, the higher-order family, custom rules, the CLI
    compiler  parse, lower, analyse, forward, taylor, reverse, checkpoint, optimize, emit
    rules     derivative rules, one table per domain
    runtime   the helpers emitted code calls

Imports are read with :mod:`ast`, those inside functions included.
"""

from __future__ import annotations

import ast
import pathlib
import sys
from typing import Dict, Iterator, List, Set, Tuple

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "s2s_ad"
LAYERS = ("runtime", "rules", "compiler", "api")  # bottom to top


def modules() -> Dict[str, pathlib.Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> str:
    """The layer a module belongs to; the package's own ``__init__`` and ``__main__`` are
    the public face, above every layer."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "package"


def imports_of(
    module: str, path: pathlib.Path, known: Dict[str, pathlib.Path]
) -> Iterator[Tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` for each import of a package module."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, "", node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "s2s_ad":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:
                    yield submodule, "", node.lineno
                else:
                    yield target, alias.name, node.lineno


def graph() -> Dict[str, Set[str]]:
    """Module -> the package modules it imports."""
    known = modules()
    return {
        module: {target for target, _, _ in imports_of(module, path, known) if target != module}
        for module, path in known.items()
    }


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def upward_imports(edges: Dict[str, Set[str]]) -> List[Tuple[str, str]]:
    """``(importer, imported)`` pairs where a lower layer imports a higher one."""
    rank = {name: i for i, name in enumerate(LAYERS + ("package",))}
    return [
        (module, target)
        for module, targets in sorted(edges.items())
        for target in sorted(targets)
        if rank[layer_of(target)] > rank[layer_of(module)]
    ]


def private_imports() -> List[str]:
    """Imports of another module's ``_private`` name: a name other modules use is public."""
    known = modules()
    found = []
    for module, path in known.items():
        for target, name, line in imports_of(module, path, known):
            if name.startswith("_") and not name.startswith("__") and target != module:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {target}.{name}")
    return found


def main() -> None:
    edges = graph()
    width = max(map(len, edges))
    for layer in ("package",) + LAYERS[::-1]:
        for module in sorted(m for m in edges if layer_of(m) == layer):
            below = sorted({layer_of(t) for t in edges[module]} - {layer})
            print(f"{module:<{width}}  {layer:<8}  imports {', '.join(below) or '-'}")
    problems = cycles(edges) + upward_imports(edges) + private_imports()
    print(f"\n{len(edges)} modules; {len(problems)} problem(s)")
    for problem in problems:
        print("  ", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
