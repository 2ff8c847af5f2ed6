import re

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
    """Schema statements say IF NOT EXISTS; a data statement either removes a bounded slice and says how much it
    deleted (graph/migrate.py runs it again until it deletes nothing) or only sets counters to a COUNT of what is
    stored (a recount: running it twice leaves what running it once did)."""
    for migration in load_migrations():
        for statement in migration.statements:
            idempotent_ddl = "IF NOT EXISTS" in statement
            sliced_delete = " LIMIT " in statement and "DELETE" in statement and statement.endswith("AS deleted")
            assignments = re.findall(r"\bSET\s+\w+\.\w+\s*=\s*(\w+)", statement)
            recount = (bool(assignments) and set(assignments) == {"COUNT"}
                       and not re.search(r"\b(CREATE|MERGE|DELETE|REMOVE)\b|\bSET\b(?!\s+\w+\.\w+\s*=\s*COUNT)", statement))
            assert idempotent_ddl or sliced_delete or recount, (migration.version, statement)


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


async def test_migration_11_recounts_lead_counts_without_red_leads(graph: Graph) -> None:
    """Graphs written before 6 Dec 2026 counted RED leads in lead_count (the hub cap of networks). Re-applied,
    migration 11 recounts each indicator a RED lead names from the leads the aggregates hold that take part in
    networks (not RED, retracted, or of a batch still being written), and leaves other indicators alone."""
    await graph.write("""
    CREATE (:Batch {id: 'b1', status: 'committed', aggregated_seq: 10}), (:Batch {id: 'b2', status: 'processing', aggregated_seq: 0}),
           (i:Indicator {key: 'phone:a', lead_count: 4}), (:Indicator {key: 'phone:b', lead_count: 7})
    CREATE (:Lead {id: 'l1', batch_id: 'b1', seq: 1, tlp: 'AMBER', status: 'active'})-[:NAMES]->(i),
           (:Lead {id: 'l2', batch_id: 'b1', seq: 2, tlp: 'RED', status: 'active'})-[:NAMES]->(i),
           (:Lead {id: 'l3', batch_id: 'b1', seq: 3, tlp: 'GREEN', status: 'retracted'})-[:NAMES]->(i),
           (:Lead {id: 'l4', batch_id: 'b2', seq: 1, tlp: 'AMBER', status: 'active'})-[:NAMES]->(i)
    """)
    await graph.write("MATCH (m:Migration {version: 11}) DELETE m")
    assert [m.version for m in await migrate(graph)] == [11]
    counts = await graph.read("MATCH (i:Indicator) RETURN i.key AS key, i.lead_count AS n ORDER BY key")
    assert [(row["key"], row["n"]) for row in counts] == [("phone:a", 1), ("phone:b", 7)]
