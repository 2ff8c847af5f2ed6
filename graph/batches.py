"""Lead batches in Neo4j: creating, finding, committing and reading batches and their row reports.

Reads go through `readable_*`, which apply visibility: a member's own batches, or every batch for operators.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

from access.principal import Principal
from graph.database import Graph

FIND_BATCH = """
MATCH (b:Batch {member_code: $member_code})
WHERE ($content_hash IS NOT NULL AND b.content_hash = $content_hash)
   OR ($idempotency_key IS NOT NULL AND b.idempotency_key = $idempotency_key)
RETURN b {.*} AS batch
ORDER BY b.created_at DESC
LIMIT 1
"""

CREATE_BATCH = """
CREATE (b:Batch {id: $id, member_code: $member_code, principal_id: $principal_id, content_hash: $content_hash,
                 idempotency_key: $idempotency_key, filename: $filename, format: $format, status: 'processing',
                 rows_total: 0, rows_done: 0, accepted: 0, rejected: 0, skipped: 0, duplicate: 0, warnings: 0,
                 written_seq: 0, aggregated_seq: 0, last_line: 0, bytes_total: $bytes_total,
                 created_at: datetime()})
SET b += $defaults
RETURN b {.*} AS batch
"""

GET_BATCH = "MATCH (b:Batch {id: $id}) RETURN b {.*} AS batch"

PROGRESS = "MATCH (b:Batch {id: $id}) SET b.rows_done = $rows_done, b.bytes_done = $bytes_done"

FINISH_WRITING = """
MATCH (b:Batch {id: $id})
SET b += $totals
"""

COMMIT = """
MATCH (b:Batch {id: $id}) WHERE b.status = 'processing'
SET b.status = 'committed', b.committed_at = datetime()
RETURN b.id AS id
"""

FAIL = """
MATCH (b:Batch {id: $id}) WHERE b.status = 'processing'
SET b.status = 'failed', b.error = $error, b.failed_at = datetime()
"""

SAVE_REPORT = """
MERGE (r:BatchReport {batch_id: $id})
SET r.report_gz = $report_gz, r.totals_json = $totals_json
"""

FILE_INFO = "MATCH (b:Batch {id: $id}) SET b.format = $format, b.file_warnings = $warnings"

GET_REPORT = "MATCH (r:BatchReport {batch_id: $id}) RETURN r.report_gz AS report_gz"

PENDING_AGGREGATION = """
MATCH (b:Batch {status: 'committed'}) WHERE b.aggregated_seq <= b.last_line
RETURN b.id AS id, b.aggregated_seq AS aggregated_seq, b.last_line AS last_line
"""

READABLE_BATCH = """
MATCH (b:Batch {id: $id}) WHERE $operator OR b.member_code = $member_code
RETURN b {.*} AS batch
"""

READABLE_BATCHES = """
MATCH (b:Batch) WHERE ($operator OR b.member_code = $member_code) AND ($before IS NULL OR b.created_at < $before)
RETURN b {.*} AS batch
ORDER BY b.created_at DESC
LIMIT $first
"""


async def find_batch(graph: Graph, member_code: str, content_hash: str | None, idempotency_key: str | None) -> dict[str, Any] | None:
    rows = await graph.read(FIND_BATCH, {"member_code": member_code, "content_hash": content_hash,
                                         "idempotency_key": idempotency_key})
    return rows[0]["batch"] if rows else None


async def create_batch(graph: Graph, *, defaults: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    """A new `processing` batch; `defaults` are the batch's `default_*` properties (its defaults for empty fields)."""
    return (await graph.write(CREATE_BATCH, {**properties, "defaults": defaults or {}}))[0]["batch"]


async def get_batch(graph: Graph, batch_id: str) -> dict[str, Any] | None:
    rows = await graph.read(GET_BATCH, {"id": batch_id})
    return rows[0]["batch"] if rows else None


async def progress(graph: Graph, batch_id: str, rows_done: int, bytes_done: int) -> None:
    await graph.write(PROGRESS, {"id": batch_id, "rows_done": rows_done, "bytes_done": bytes_done})


async def finish_writing(graph: Graph, batch_id: str, totals: dict[str, Any], report_gz: bytes) -> None:
    """Totals on the batch; the row report (a gzip'd JSON array) beside it."""
    await graph.write(FINISH_WRITING, {"id": batch_id, "totals": totals})
    await graph.write(SAVE_REPORT, {"id": batch_id, "report_gz": report_gz, "totals_json": json.dumps(totals)})


async def file_info(graph: Graph, batch_id: str, fmt: str, warnings: list[str]) -> None:
    await graph.write(FILE_INFO, {"id": batch_id, "format": fmt, "warnings": warnings})


async def commit(graph: Graph, batch_id: str) -> bool:
    return bool(await graph.write(COMMIT, {"id": batch_id}))


async def fail(graph: Graph, batch_id: str, error: str) -> None:
    await graph.write(FAIL, {"id": batch_id, "error": error[:2000]})


async def report(graph: Graph, batch_id: str) -> list[dict[str, Any]]:
    rows = await graph.read(GET_REPORT, {"id": batch_id})
    if not rows or rows[0]["report_gz"] is None:
        return []
    return json.loads(gzip.decompress(bytes(rows[0]["report_gz"])))


async def pending_aggregation(graph: Graph) -> list[dict[str, Any]]:
    return await graph.read(PENDING_AGGREGATION)


async def readable_batch(graph: Graph, principal: Principal, batch_id: str) -> dict[str, Any] | None:
    rows = await graph.read(READABLE_BATCH, {"id": batch_id, "operator": principal.is_operator,
                                             "member_code": principal.member_code})
    return rows[0]["batch"] if rows else None


async def readable_batches(graph: Graph, principal: Principal, first: int, before: datetime | None) -> list[dict[str, Any]]:
    rows = await graph.read(READABLE_BATCHES, {"operator": principal.is_operator, "member_code": principal.member_code,
                                               "first": first, "before": before})
    return [row["batch"] for row in rows]
