"""Matchability changes: a short-lived feed in Neo4j of what may have changed which indicators a private check
matches (issue 15). Written by every path that changes it — a batch's aggregation (by batch id), a retraction,
a dispute ruling, a benign flag, retention's purge (by indicator keys) — in whichever process runs it; read by
each node's private-check setup (psi/setup.py), which re-reads only those indicators. Entries are pruned after
`KEEP_MS`: a setup that falls further behind rebuilds from the graph (its periodic full comparison).

Only keys of indicators the graph holds (or held until a purge) are written here, never a checked identifier's.
"""

from __future__ import annotations

from typing import Any, Iterable

from graph.database import Graph

KEEP_MS = 3_600_000  # an hour; the full comparison runs far more often than that
KEYS_PER_ENTRY = 5000

# `at` is Neo4j's clock (ms since the epoch), so every process stamps entries with the same clock.
RECORD_KEYS = """
UNWIND $chunks AS chunk
CREATE (:MatchabilityChange {id: randomUUID(), at: timestamp(), source: $source, keys: chunk})
"""

RECORD_BATCH = """
CREATE (:MatchabilityChange {id: randomUUID(), at: timestamp(), source: 'batch', batch_id: $batch_id})
"""

# Few entries live at a time (pruned after an hour), so a label scan is enough: no index to migrate.
CHANGES_SINCE = """
MATCH (c:MatchabilityChange) WHERE c.at >= $since
RETURN c.id AS id, c.at AS at, c.source AS source, coalesce(c.keys, []) AS keys, c.batch_id AS batch_id
ORDER BY c.at
"""

PRUNE = """
MATCH (c:MatchabilityChange) WHERE c.at < $before
DELETE c
RETURN count(*) AS pruned
"""

NOW = "RETURN timestamp() AS now"


async def keys_changed(graph: Graph, keys: Iterable[str], source: str) -> None:
    """Record that these indicators may have become (un)matchable; call it after the change is committed."""
    ordered = sorted(set(keys))
    if ordered:
        chunks = [ordered[i:i + KEYS_PER_ENTRY] for i in range(0, len(ordered), KEYS_PER_ENTRY)]
        await graph.write(RECORD_KEYS, {"chunks": chunks, "source": source})


async def batch_aggregated(graph: Graph, batch_id: str) -> None:
    """Record that a batch's leads now count in the aggregates (its indicators are read from its leads)."""
    await graph.write(RECORD_BATCH, {"batch_id": batch_id})


async def changes_since(graph: Graph, since_ms: int) -> list[dict[str, Any]]:
    return await graph.read_values(CHANGES_SINCE, {"since": since_ms})


async def prune(graph: Graph, before_ms: int) -> int:
    rows = await graph.write(PRUNE, {"before": before_ms})
    return rows[0]["pruned"] if rows else 0


async def now_ms(graph: Graph) -> int:
    rows = await graph.read_values(NOW)
    return int(rows[0]["now"])
