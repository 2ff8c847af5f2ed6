"""Leads in Neo4j: writing a batch's leads and folding them into the aggregates checks read.

Two passes keep a batch all-or-nothing: `write_chunk` creates its leads (invisible while the batch is
`processing`), graph/batches.py `commit` flips the batch to `committed` in one write, and `aggregate_chunk`
then folds the leads into the per-(member, indicator) aggregates. Each chunk moves a cursor on the batch in
the same transaction, so a crash at any point resumes exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from graph.database import Graph
from graph.networks import takes_part

# The cursor guard makes each chunk exactly-once: a replayed chunk matches no batch and writes nothing.
WRITE_CHUNK = """
MATCH (b:Batch {id: $batch_id}) WHERE b.written_seq = $expected AND b.status = 'processing'
SET b.written_seq = $next, b.rows_done = $rows_done
WITH b
UNWIND $leads AS row
CREATE (l:Lead {id: row.id, batch_id: b.id, seq: row.line, member_code: b.member_code, category: row.category,
                observed_at: datetime(row.observed_at), confidence: row.confidence, tlp: row.tlp, attributed: $attributed,
                agent: row.agent, note: row.note, reference: row.reference, content_hash: row.content_hash,
                status: 'active', created_at: datetime()})
WITH l, row
CALL (l, row) {
  UNWIND row.indicators AS ind
  MERGE (i:Indicator {key: ind.key})
  ON CREATE SET i += ind.attrs, i.type = ind.type, i.key_version = $key_version, i.masked = ind.masked,
                i.status = 'active', i.benign = false, i.lead_count = 0
  CREATE (l)-[:NAMES]->(i)
}
CALL (l, row) {
  WITH l, row WHERE row.agent IS NOT NULL
  MERGE (a:Agent {id: l.member_code + ':' + row.agent})
  ON CREATE SET a.member_code = l.member_code, a.label = row.agent
  CREATE (l)-[:OPERATED_BY]->(a)
}
RETURN count(*) AS written
"""

# Pass 2: fold a committed chunk into the aggregates and the indicator counters. Co-occurrence is not kept: a
# check draws its neighbour links through the leads it may count (graph/checks.py).
AGGREGATE_GUARD = """
MATCH (b:Batch {id: $batch_id}) WHERE b.aggregated_seq = $expected AND b.status = 'committed'
SET b.aggregated_seq = $next
RETURN b.id AS id, b.member_code AS member_code
"""

# One row per (lead, indicator). A new aggregate takes the lead's values as they are; an existing one folds
# the lead in (the CASEs read the old values before they are replaced, hence their order). The member is
# the batch's, sought once. The indicator's lead count (the hub cap of networks) is then folded once per
# indicator of the chunk, of the leads that take part in networks only: networks are computed once for everyone,
# so a RED lead must not change them. First and last sightings live on the aggregates, not on the indicator.
AGGREGATE_REPORTED = f"""
MATCH (m:Member {{code: $member_code}})
MATCH (l:Lead) WHERE l.batch_id = $batch_id AND l.seq >= $from AND l.seq < $to AND l.status = 'active'
MATCH (l)-[:NAMES]->(i:Indicator)
MERGE (m)-[r:REPORTED {{tlp: l.tlp, category: l.category}}]->(i)
ON CREATE SET r.leads = 1, r.attributed = coalesce(l.attributed, false),
              r.max_confidence = l.confidence, r.max_confidence_at = l.observed_at,
              r.first_seen = l.observed_at, r.last_seen = l.observed_at, r.last_confidence = l.confidence
ON MATCH SET r.leads = r.leads + 1,
             r.attributed = r.attributed OR coalesce(l.attributed, false),
             r.max_confidence_at = CASE WHEN l.confidence > r.max_confidence THEN l.observed_at ELSE r.max_confidence_at END,
             r.max_confidence = CASE WHEN l.confidence > r.max_confidence THEN l.confidence ELSE r.max_confidence END,
             r.first_seen = CASE WHEN l.observed_at < r.first_seen THEN l.observed_at ELSE r.first_seen END,
             r.last_confidence = CASE WHEN l.observed_at >= r.last_seen THEN l.confidence ELSE r.last_confidence END,
             r.last_seen = CASE WHEN l.observed_at > r.last_seen THEN l.observed_at ELSE r.last_seen END
WITH i, count(CASE WHEN {takes_part("l")} THEN 1 END) AS leads WHERE leads > 0
SET i.lead_count = coalesce(i.lead_count, 0) + leads
"""

BENIGN_KEYS = "MATCH (i:Indicator {benign: true}) RETURN i.key AS key"

DELETE_FAILED_LEADS = """
MATCH (l:Lead {batch_id: $id}) WITH l LIMIT 5000
DETACH DELETE l
RETURN count(*) AS deleted
"""


async def write_chunk(graph: Graph, batch_id: str, leads: list[dict[str, Any]], *, expected: int, next_seq: int,
                      rows_done: int, attributed: bool, key_version: int) -> bool:
    """Create a chunk's leads; False when the cursor says this chunk was already written."""
    # The driver keeps a query's parameters in a reference cycle (its AsyncResult and the connection's error
    # handler, and the ResultSummary) that only the garbage collector frees. Under the serving thresholds
    # (api/app.py) that cycle outlives young collections, so every chunk's 5,000 rows waited for a full collection:
    # the API process grew 541 → 811 MB from 100k to 1M rows while ingesting (bench/ingest.py, 6 Dec 2026). The
    # driver gets a list of its own, emptied once the transaction is over, so the rows go when they are written.
    rows = list(leads)

    async def work(tx: AsyncManagedTransaction) -> bool:
        result = await tx.run(WRITE_CHUNK, batch_id=batch_id, leads=rows, expected=expected, next=next_seq,
                              rows_done=rows_done, attributed=attributed, key_version=key_version)
        record = await result.single()
        return record is not None and record["written"] > 0

    try:
        return await graph.transaction(work)
    finally:
        rows.clear()


async def advance_cursor_only(graph: Graph, batch_id: str, *, expected: int, next_seq: int, rows_done: int) -> None:
    """A chunk with no accepted lead still moves the cursor (so resume skips it)."""
    await graph.write(
        "MATCH (b:Batch {id: $id}) WHERE b.written_seq = $expected SET b.written_seq = $next, b.rows_done = $rows_done",
        {"id": batch_id, "expected": expected, "next": next_seq, "rows_done": rows_done},
    )


async def aggregate_chunk(graph: Graph, batch_id: str, *, start: int, end: int) -> bool:
    """Fold leads with line in [start, end) into the aggregates, once; False if already done."""

    async def work(tx: AsyncManagedTransaction) -> bool:
        guard = await (await tx.run(AGGREGATE_GUARD, batch_id=batch_id, expected=start, next=end)).single()
        if guard is None:
            return False
        params = {"batch_id": batch_id, "from": start, "to": end}
        await (await tx.run(AGGREGATE_REPORTED, params, member_code=guard["member_code"])).consume()
        return True

    return await graph.transaction(work)


async def benign_keys(graph: Graph) -> set[str]:
    return {row["key"] for row in await graph.read(BENIGN_KEYS)}


async def delete_leads_of(graph: Graph, batch_id: str) -> int:
    total = 0
    while True:
        deleted = (await graph.write(DELETE_FAILED_LEADS, {"id": batch_id}))[0]["deleted"]
        total += deleted
        if deleted == 0:
            return total
