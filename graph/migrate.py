"""Versioned, idempotent schema migrations (constraints and indexes), applied at start and by `fenghuo migrate`.

Each file `graph/migrations/NNNN_name.cypher` is one version; statements are separated by `;`. Applied
versions are recorded as `(:Migration {version})` nodes, and every statement uses IF NOT EXISTS, so running
twice, or from two processes at once, is harmless. A data statement that returns `deleted` (removing what nothing
reads any more, a bounded slice per transaction) is run again until it deletes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from graph.database import Graph

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.cypher$")

APPLIED = "MATCH (m:Migration) RETURN m.version AS version"
RECORD = """
MERGE (m:Migration {version: $version})
ON CREATE SET m.name = $name, m.checksum = $checksum, m.applied_at = datetime()
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.cypher")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} must be named NNNN_name.cypher")
        if any(m.version == int(match[1]) for m in migrations):
            raise ValueError(f"migration file {path.name} reuses version {match[1]}: give it the next free number")
        text = path.read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
        statements = tuple(s.strip() for s in body.split(";") if s.strip())
        migrations.append(Migration(int(match[1]), match[2], statements, hashlib.sha256(text.encode()).hexdigest()))
    return migrations


async def migrate(graph: Graph) -> list[Migration]:
    """Apply the migrations this database has not seen; return the ones applied now."""
    done = {row["version"] for row in await graph.read(APPLIED)}
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            while True:  # schema statements cannot share a transaction with writes
                rows = await graph.write(statement)
                if not (rows and rows[0].get("deleted")):
                    break
        await graph.write(
            RECORD, {"version": migration.version, "name": migration.name, "checksum": migration.checksum}
        )
        applied.append(migration)
    return applied
