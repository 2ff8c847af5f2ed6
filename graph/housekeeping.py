"""Housekeeping queries: retention (expired and purged leads), abandoned batches, the newest audit blocks.

Retention cut-offs come per category (`$cutoffs`: category code → datetime); the oldest one bounds an index
seek on `Lead.observed_at`. Purging deletes leads (audit records are never touched) and returns, per member,
the indicators whose aggregates must be rebuilt and the networks the leads were in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, AsyncIterator

from graph import audit as audit_graph
from graph.database import Graph

COUNT_EXPIRED = """
MATCH (l:Lead) WHERE l.observed_at < $oldest AND l.status = 'active'
WITH l WHERE l.observed_at < $cutoffs[l.category]
RETURN count(l) AS expired
"""

PURGE_LEADS = """
MATCH (l:Lead) WHERE l.observed_at < $oldest
WITH l WHERE l.observed_at < $cutoffs[l.category]
WITH l LIMIT $limit
OPTIONAL MATCH (l)-[:NAMES]->(i:Indicator)
WITH l, l.member_code AS member, l.network_id AS network, collect(i.key) AS keys
DETACH DELETE l
RETURN member, network, keys
"""

# An indicator no lead names any more, that is no benign number and no dispute refers to, is gone too.
PURGE_ORPHAN_INDICATORS = """
UNWIND $keys AS key
MATCH (i:Indicator {key: key})
WHERE NOT EXISTS { (i)<-[:NAMES]-(:Lead) } AND NOT coalesce(i.benign, false)
  AND NOT EXISTS { (i)--(other) WHERE NOT other:Indicator AND NOT other:Member }
DETACH DELETE i
RETURN count(*) AS purged
"""

ABANDONED_BATCHES = """
MATCH (b:Batch {status: 'processing'}) WHERE b.created_at < $before
RETURN b.id AS id, b.member_code AS member_code
"""

NEWEST_BLOCKS = audit_graph.BLOCKS_FROM


async def count_expired(graph: Graph, cutoffs: dict[str, datetime]) -> int:
    rows = await graph.read(COUNT_EXPIRED, {"cutoffs": cutoffs, "oldest": max(cutoffs.values())})
    return rows[0]["expired"] if rows else 0


async def purge_leads(graph: Graph, cutoffs: dict[str, datetime], limit: int = 5000) -> list[dict[str, Any]]:
    """One slice of leads past retention, deleted; call until it returns nothing."""
    return await graph.write(PURGE_LEADS, {"cutoffs": cutoffs, "oldest": max(cutoffs.values()), "limit": limit})


async def purge_orphan_indicators(graph: Graph, keys: list[str]) -> int:
    purged = 0
    for start in range(0, len(keys), 5000):
        rows = await graph.write(PURGE_ORPHAN_INDICATORS, {"keys": keys[start:start + 5000]})
        purged += rows[0]["purged"] if rows else 0
    return purged


async def abandoned_batches(graph: Graph, before: datetime) -> list[dict[str, Any]]:
    return await graph.read(ABANDONED_BATCHES, {"before": before})


async def chain_head(graph: Graph) -> dict[str, Any] | None:
    return await audit_graph.head(graph)


async def newest_blocks(graph: Graph, head: dict[str, Any], count: int,
                        page: int) -> AsyncIterator[list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """The newest `count` blocks up to `head` with their records, oldest first, `page` blocks per read (a block
    holds up to 5,000 records, a 10,000-identifier check's record 10,000 keys)."""
    last = int(head["seq"])
    start = max(1, last - count + 1)
    while start <= last:
        rows = await graph.read(NEWEST_BLOCKS, {"from_seq": start, "limit": min(page, last - start + 1)})
        if not rows:
            return
        yield [(row["block"], row["records"]) for row in rows]
        start = int(rows[-1]["block"]["seq"]) + 1
