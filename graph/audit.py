"""The audit trail in Neo4j: appending sealed blocks under the head's lock, reading, and walking the chain."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

from neo4j import AsyncManagedTransaction

from core.principal import Principal
from graph import visibility
from graph.database import Graph


class AuditHeadLost(RuntimeError):
    pass


# SET on the head takes its write lock: concurrent appenders (API, CLI, scheduler) queue here once per block.
LOCK_HEAD = """
MERGE (h:AuditHead {id: 'head'})
ON CREATE SET h.seq = 0, h.hash = $genesis, h.record_seq = 0, h.record_hash = $genesis
SET h.locked_at = timestamp()
RETURN coalesce(h.seq, 0) AS seq, coalesce(h.hash, $genesis) AS hash,
       coalesce(h.record_seq, 0) AS record_seq, coalesce(h.record_hash, $genesis) AS record_hash
"""

APPEND_BLOCK = """
MATCH (h:AuditHead {id: 'head'})
CREATE (b:AuditBlock {seq: $block.seq, prev_hash: $block.prev_hash, records_hash: $block.records_hash,
                      hash: $block.hash, count: $block.count, created_at: $block.created_at})
SET h.seq = $block.seq, h.hash = $block.hash, h.record_seq = $record_seq, h.record_hash = $record_hash
WITH b
UNWIND $records AS record
CREATE (r:AuditRecord)
SET r = record
CREATE (r)-[:IN_BLOCK]->(b)
RETURN count(r) AS written
"""

# Records a previous attempt committed although its caller saw an error (a reset after COMMIT, a cancel).
ALREADY_WRITTEN = "UNWIND $ids AS id MATCH (r:AuditRecord {id: id}) RETURN collect(r.id) AS ids"

HEAD = "MATCH (h:AuditHead {id: 'head'}) RETURN h {.seq, .hash, .record_seq, .record_hash} AS head"

BLOCKS_FROM = """
MATCH (b:AuditBlock) WHERE b.seq >= $from_seq
WITH b ORDER BY b.seq LIMIT $limit
OPTIONAL MATCH (r:AuditRecord)-[:IN_BLOCK]->(b)
WITH b, r ORDER BY r.seq
RETURN b {.seq, .prev_hash, .records_hash, .hash, .count, .created_at} AS block,
       [x IN collect(r) | x {.*}] AS records
ORDER BY block.seq
"""

SEARCH = f"""
MATCH (r:AuditRecord)
WHERE {visibility.operators_only()}
  AND ($member_code IS NULL OR r.member_code = $member_code)
  AND ($principal_id IS NULL OR r.principal_id = $principal_id)
  AND ($action IS NULL OR r.action = $action)
  AND ($since IS NULL OR r.at >= $since)
  AND ($until IS NULL OR r.at < $until)
  AND ($before_seq IS NULL OR r.seq < $before_seq)
RETURN r {{.id, .seq, .at, .principal_id, .member_code, .action, .subject, .request_id, .outcome, .detail,
          .purpose, .hash}} AS record
ORDER BY r.seq DESC
LIMIT $limit
"""


async def append(
    graph: Graph, pending: list[dict[str, Any]], seal: Callable[[dict[str, Any], list[dict[str, Any]]], Any], genesis: str,
) -> Any:
    """Seal `pending` after the current head (`seal(head, records)` is audit/chain.py's, handed in so the data
    layer knows nothing of the chain) and store the block, all in one transaction.

    Records already in the chain are left out, so retrying a flush whose commit went through (while its
    caller saw an error) neither duplicates them nor fails forever on the id constraint. None when every
    record was already written.
    """

    async def work(tx: AsyncManagedTransaction) -> Any:
        row = await (await tx.run(LOCK_HEAD, genesis=genesis)).single()
        written_before = set((await (await tx.run(ALREADY_WRITTEN, ids=[r["id"] for r in pending])).single())["ids"])
        todo = [r for r in pending if r["id"] not in written_before]
        if not todo:
            return None
        block = seal({k: row[k] for k in ("seq", "hash", "record_seq", "record_hash")}, todo)
        last = block.records[-1]
        written = await (await tx.run(
            APPEND_BLOCK,
            block={k: getattr(block, k) for k in ("seq", "prev_hash", "records_hash", "hash", "count", "created_at")},
            records=block.records, record_seq=last["seq"], record_hash=last["hash"],
        )).single()
        if written is None or written["written"] != len(block.records):
            raise AuditHeadLost("the audit chain head disappeared while appending; the records stay queued")
        return block

    return await graph.transaction(work)


async def head(graph: Graph) -> dict[str, Any] | None:
    rows = await graph.read(HEAD)
    return rows[0]["head"] if rows else None


async def walk(graph: Graph, page: int = 200) -> AsyncIterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every block with its records, in chain order, a page at a time."""
    next_seq = 1
    while True:
        rows = await graph.read(BLOCKS_FROM, {"from_seq": next_seq, "limit": page})
        if not rows:
            return
        for row in rows:
            yield row["block"], row["records"]
        next_seq = rows[-1]["block"]["seq"] + 1


async def search(graph: Graph, principal: Principal, **filters: Any) -> list[dict[str, Any]]:
    return [row["record"] for row in await graph.read(SEARCH, {**filters, **visibility.params(principal)})]
