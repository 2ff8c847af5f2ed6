"""The layers of STYLE.md hold: graph/ imports no domain package, core/ imports no other package of the project,
and no two packages import each other, directly or through others (a package-level cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every top-level package of the project (pyproject's packages.find), found on disk so a new one is covered.
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in ("tests", "bench"))
DATA_LAYER_MAY_IMPORT = {"graph", "core"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Module path → the project's top-level packages it imports (absolute imports; relative ones stay inside)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = {n for n in names if n in PACKAGES and n != package}
    return found


def package_graph() -> dict[str, set[str]]:
    return {package: set().union(*imports_of(package).values()) for package in PACKAGES}


def test_the_project_packages_are_found() -> None:
    assert {"api", "graph", "core", "check", "ingest", "access", "audit", "networks"} <= set(PACKAGES)


def test_graph_imports_no_domain_package() -> None:
    offending = {module: sorted(names - DATA_LAYER_MAY_IMPORT)
                 for module, names in imports_of("graph").items() if names - DATA_LAYER_MAY_IMPORT}
    assert offending == {}, f"graph/ must hold Cypher and thin runners only; these import domain packages: {offending}"


def test_core_imports_no_other_package() -> None:
    offending = {module: sorted(names) for module, names in imports_of("core").items() if names}
    assert offending == {}


def test_no_package_imports_the_api() -> None:
    offending = sorted(p for p, deps in package_graph().items() if "api" in deps)
    assert offending == [], f"the api layer is the top: nothing below may import it ({offending})"


def test_there_is_no_cycle_between_packages() -> None:
    graph = package_graph()
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" → ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert cycles == [], "package cycles: " + "; ".join(sorted(set(cycles)))
