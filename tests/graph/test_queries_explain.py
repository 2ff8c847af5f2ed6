"""Every Cypher query in graph/ is EXPLAINed against the real Neo4j, so a typo or a wrong label fails fast."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import graph
from graph.database import Graph

CYPHER = re.compile(r"\b(MATCH|MERGE|CREATE|RETURN|UNWIND|CALL)\b")
# Schema statements live in migrations (tested there); fragments (private _NAMES) are parts of queries, not queries.
SKIP_MODULES = {"graph.migrate", "graph.embedded", "graph.database"}


def _queries() -> list[tuple[str, str]]:
    found = []
    for module_info in pkgutil.iter_modules(graph.__path__):
        name = f"graph.{module_info.name}"
        if name in SKIP_MODULES:
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if attribute.isupper() and not attribute.startswith("_") and isinstance(value, str) and CYPHER.search(value):
                found.append((f"{name}.{attribute}", value))
    return found


QUERIES = _queries()


def test_the_graph_package_holds_the_queries() -> None:
    assert len(QUERIES) >= 30, [name for name, _ in QUERIES]


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[name for name, _ in QUERIES])
async def test_query_is_valid_cypher(graph: Graph, name: str, query: str) -> None:
    async with graph.driver.session(database=graph.database) as session:
        summary = await (await session.run("EXPLAIN " + query)).consume()
    assert summary.plan is not None, name
