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


def test_every_migration_statement_is_idempotent_ddl() -> None:
    for migration in load_migrations():
        for statement in migration.statements:
            assert "IF NOT EXISTS" in statement, (migration.version, statement)


def test_every_migration_has_its_own_version() -> None:
    """Two files with one version would leave the second unapplied on every database that has the first."""
    versions = [m.version for m in load_migrations()]
    assert len(versions) == len(set(versions)), sorted(versions)
