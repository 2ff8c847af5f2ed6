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

# The trail's search: one predicate per filter the operator gave, so Neo4j can seek the index of the most selective
# one (`($x IS NULL OR r.x = $x)` for every filter hid them all: each search scanned every record, 0.2-0.4 s at 300k
# records and linear in the trail). The ordering on `seq`, newest first, is read off its index when nothing narrower
# applies.
SEARCH_FILTERS = {
    "member_code": "r.member_code = $member_code",
    "principal_id": "r.principal_id = $principal_id",
    "action": "r.action = $action",
    "since": "r.at >= $since",
    "until": "r.at < $until",
    "before_seq": "r.seq < $before_seq",
}

_SEARCH_RETURN = """
RETURN r {.id, .seq, .at, .principal_id, .member_code, .action, .subject, .request_id, .outcome, .detail,
          .purpose, .hash} AS record
ORDER BY r.seq DESC
LIMIT $limit
"""


def search_query(filters: dict[str, Any]) -> str:
    """The search for the filters that are set (not None): fixed fragments only, every value a parameter."""
    given = [SEARCH_FILTERS[name] for name in SEARCH_FILTERS if filters.get(name) is not None]
    where = " AND ".join([visibility.operators_only(), "r.seq IS NOT NULL", *given])
    return f"MATCH (r:AuditRecord)\nWHERE {where}{_SEARCH_RETURN}"


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


async def search(graph: Graph, principal: Principal, *, limit: int, **filters: Any) -> list[dict[str, Any]]:
    unknown = set(filters) - set(SEARCH_FILTERS)
    if unknown:
        raise ValueError(f"unknown audit search filters {sorted(unknown)}; accepted: {sorted(SEARCH_FILTERS)}")
    given = {name: value for name, value in filters.items() if value is not None}
    rows = await graph.read(search_query(given), {**given, "limit": limit, **visibility.params(principal)})
    return [row["record"] for row in rows]
