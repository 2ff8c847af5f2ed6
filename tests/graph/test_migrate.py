from graph.database import Graph
from graph.migrate import load_migrations, migrate


async def test_migrations_are_recorded_once_and_rerunning_applies_nothing(graph: Graph) -> None:
    assert await migrate(graph) == []
    versions = [row["version"] for row in await graph.read("MATCH (m:Migration) RETURN m.version AS version")]
    assert sorted(versions) == [m.version for m in load_migrations()]


async def test_indicator_key_is_unique(graph: Graph) -> None:
    await graph.write("CREATE (:Indicator {key: 'phone:abc'})")
    try:
        await graph.write("CREATE (:Indicator {key: 'phone:abc'})")
    except Exception as error:  # the constraint must refuse a second node with the same key
        assert "already exists" in str(error)
    else:
        raise AssertionError("a duplicate Indicator key was accepted")


def test_every_migration_statement_is_idempotent() -> None:
    """Schema statements say IF NOT EXISTS; a data statement removes a bounded slice and says how much it deleted,
    so graph/migrate.py runs it again until it deletes nothing."""
    for migration in load_migrations():
        for statement in migration.statements:
            idempotent_ddl = "IF NOT EXISTS" in statement
            sliced_delete = " LIMIT " in statement and "DELETE" in statement and statement.endswith("AS deleted")
            assert idempotent_ddl or sliced_delete, (migration.version, statement)


def test_every_migration_has_its_own_version() -> None:
    """Two files with one version would leave the second unapplied on every database that has the first."""
    versions = [m.version for m in load_migrations()]
    assert len(versions) == len(set(versions)), sorted(versions)


async def test_migration_10_removes_co_occurrence_a_slice_at_a_time(graph: Graph) -> None:
    """Graphs written before 6 Dec 2026 hold CO_OCCURS edges nothing reads: re-applied, migration 10 removes all
    20,005 (three slices of 10,000) and leaves the indicators and their leads."""
    await graph.write("CREATE (a:Indicator {key: 'phone:a'}), (b:Indicator {key: 'phone:b'}), (l:Lead {id: 'l1'})-[:NAMES]->(a) "
                      "WITH a, b UNWIND range(1, 20005) AS n CREATE (a)-[:CO_OCCURS {count: n}]->(b)")
    await graph.write("MATCH (m:Migration {version: 10}) DELETE m")
    assert [m.version for m in await migrate(graph)] == [10]
    assert (await graph.read("MATCH ()-[c:CO_OCCURS]->() RETURN count(c) AS n"))[0]["n"] == 0
    assert (await graph.read("MATCH (:Lead)-[:NAMES]->(i:Indicator) RETURN count(i) AS n"))[0]["n"] == 1
