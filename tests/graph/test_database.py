"""graph/database.py: reads run as one auto-commit query in read mode, and answer as a transaction would."""

from __future__ import annotations

import pytest
from neo4j.exceptions import ClientError

from graph.database import Graph, Target


async def test_a_read_sees_the_write_before_it_and_answers_in_both_shapes(graph: Graph) -> None:
    await graph.write("UNWIND range(1, 3) AS n CREATE (:ReadProbe {n: n, tags: ['a', toString(n)]})")

    nodes = await graph.read("MATCH (p:ReadProbe) RETURN p ORDER BY p.n")
    values = await graph.read_values("MATCH (p:ReadProbe) RETURN p.n AS n, p {.tags} AS map ORDER BY n")

    assert [row["p"] for row in nodes] == [{"n": 1, "tags": ["a", "1"]}, {"n": 2, "tags": ["a", "2"]},
                                           {"n": 3, "tags": ["a", "3"]}]
    assert values == [{"n": n, "map": {"tags": ["a", str(n)]}} for n in (1, 2, 3)]


async def test_a_read_cannot_write(graph: Graph) -> None:
    with pytest.raises(ClientError, match="(?i)read"):
        await graph.read("CREATE (:ReadProbe {n: 99}) RETURN 1 AS one")

    assert await graph.read("MATCH (p:ReadProbe) RETURN count(p) AS n") == [{"n": 0}]


async def test_reads_carry_bookmarks_only_through_a_routing_uri() -> None:
    """A cluster (neo4j://) may answer a read from another server than the write before it; one server cannot."""
    direct = Graph.connect(Target("bolt://127.0.0.1:7687", None))
    routed = Graph.connect(Target("neo4j://127.0.0.1:7687", None))
    try:
        assert direct.read_bookmarks is None
        assert routed.read_bookmarks is routed.driver.execute_query_bookmark_manager
    finally:
        await direct.close()
        await routed.close()
