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

# Few entries live at a time (pruned after an hour), so a label scan is enough: no index to migrate. One read gives
# Neo4j's clock with the entries, so a reader moves its cursor to the time of the read; the entries it applied
# before (read again within its slack) stay in Neo4j rather than come back with their keys every second.
CHANGES_SINCE = """
WITH timestamp() AS now
OPTIONAL MATCH (c:MatchabilityChange) WHERE c.at >= coalesce($cursor, now) - $slack AND NOT c.id IN $skip
WITH now, c ORDER BY c.at
RETURN now, collect(c {.id, .at, .source, keys: CASE WHEN $keys THEN coalesce(c.keys, []) ELSE [] END, .batch_id})
       AS entries
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


async def changes_since(graph: Graph, cursor_ms: int | None, slack_ms: int, skip: Iterable[str] = (),
                        keys: bool = True) -> tuple[int, list[dict[str, Any]]]:
    """Neo4j's clock now, and the entries stamped from `slack_ms` before `cursor_ms` (before now if None) on, oldest
    first, but those whose ids are in `skip`; without their keys if `keys` is false."""
    rows = await graph.read_values(CHANGES_SINCE, {"cursor": cursor_ms, "slack": slack_ms, "skip": list(skip),
                                                   "keys": keys})
    return int(rows[0]["now"]), rows[0]["entries"]


async def prune(graph: Graph, before_ms: int) -> int:
    rows = await graph.write(PRUNE, {"before": before_ms})
    return rows[0]["pruned"] if rows else 0


async def now_ms(graph: Graph) -> int:
    rows = await graph.read_values(NOW)
    return int(rows[0]["now"])
