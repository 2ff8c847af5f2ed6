"""The audit writer batches: a flush writes what was queued when it began, so a steady stream of checks costs one
write transaction per flush interval, not one per few records."""

from __future__ import annotations

import asyncio
import math
import time

from audit import trail
from audit.log import AuditLog, verify
from audit.reader import Reader
from core.principal import Principal, Role
from graph.database import Graph

ANALYST = Principal(id="key:abcdefgh", member_code="ACME", roles=frozenset({Role.ANALYST}))
OPERATOR = Principal(id="key:operator", member_code="HUB", roles=frozenset({Role.OPERATOR}))


def _record(audit: AuditLog, n: int) -> None:
    audit.record(ANALYST, "check", subject=[f"phone:{n:064d}"], request_id=f"r{n}")


async def _stored(graph: Graph) -> list[str]:
    rows = await graph.read("MATCH (r:AuditRecord) RETURN r.request_id AS id ORDER BY r.seq")
    return [row["id"] for row in rows]


async def test_records_queued_during_a_flush_wait_for_the_next_one(graph: Graph) -> None:
    audit = AuditLog(graph)
    for n in range(3):
        _record(audit, n)
    flushing = asyncio.ensure_future(audit.flush())
    await asyncio.sleep(0)  # the flush has begun and is waiting on Neo4j
    for n in range(3, 5):
        _record(audit, n)
    assert await flushing == 3
    assert await _stored(graph) == ["r0", "r1", "r2"]
    assert await audit.flush() == 2  # the next flush takes them, in order, chained after the first block
    assert await _stored(graph) == [f"r{n}" for n in range(5)]
    broken, blocks, records = await verify(graph)
    assert broken is None and (blocks, records) == (2, 5)


async def test_a_steady_stream_is_written_in_few_blocks(graph: Graph) -> None:
    interval = 1.0
    audit = AuditLog(graph, flush_interval=interval, max_block=100_000)  # a flush's records in one block
    _record(audit, 0)
    await audit.flush()  # Neo4j plans the append's queries once, before the stream
    audit.start()
    began = time.monotonic()
    n = 0
    try:
        while time.monotonic() - began < 3.0:  # a record every millisecond or so for 3 s: a busy risk engine's checks
            n += 1
            _record(audit, n)
            await asyncio.sleep(0.001)
    finally:
        streamed = time.monotonic() - began
        await audit.close()
    broken, blocks, records = await verify(graph)
    assert broken is None and records == n + 1
    # at most one block per interval of the stream, plus the first and the last (a slow machine stretches the
    # stream, and the bound with it); chasing the stream wrote a block per append, every few records
    allowed = 2 + math.ceil(streamed / interval)
    assert blocks <= allowed, f"{blocks} blocks for {streamed:.1f} s of records at a {interval} s flush interval"


async def test_a_large_flush_is_written_as_chained_blocks_of_at_most_max_block_records(graph: Graph) -> None:
    audit = AuditLog(graph, max_block=40)  # one transaction per block: the requests' loop runs between them
    for n in range(100):
        _record(audit, n)
    assert await audit.flush() == 100
    broken, blocks, records = await verify(graph)
    assert broken is None and (blocks, records) == (3, 100)  # 40 + 40 + 20, chained in order
    assert await _stored(graph) == [f"r{n}" for n in range(100)]
    counts = await graph.read("MATCH (b:AuditBlock) RETURN b.count AS count ORDER BY b.seq")
    assert [row["count"] for row in counts] == [40, 40, 20]


async def test_the_trail_shows_records_still_queued_when_it_is_searched(graph: Graph) -> None:
    audit = AuditLog(graph)  # no flusher running: only the search itself can append what is queued
    for n in range(3):
        _record(audit, n)
    rows = await trail.search(Reader(graph, audit, OPERATOR), member_code="ACME")
    assert [row["request_id"] for row in rows] == ["r2", "r1", "r0"]  # newest first
    await audit.flush()
    read = await graph.read("MATCH (r:AuditRecord {action: 'audit.read'}) RETURN r.principal_id AS who, r.outcome AS outcome")
    assert read == [{"who": "key:operator", "outcome": "ok"}]  # the search is itself on the trail
