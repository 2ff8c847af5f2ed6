"""The audit trail is append-only and tamper-evident: any edit or deletion is found and named."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path


from core.principal import Principal, Role
from audit.log import AuditLog, verify
from graph.database import Graph, Target

ANALYST = Principal(id="key:abcdefgh", member_code="ACME", roles=frozenset({Role.ANALYST}))


async def _trail(graph: Graph, blocks: int = 3, per_block: int = 4) -> AuditLog:
    audit = AuditLog(graph)
    for block in range(blocks):
        for n in range(per_block):
            audit.record(ANALYST, "check", subject=[f"phone:{block}{n:062d}"], request_id=f"r{block}-{n}")
        await audit.flush()
    return audit


async def test_an_untouched_trail_verifies(graph: Graph) -> None:
    await _trail(graph)
    broken, blocks, records = await verify(graph)
    assert broken is None and (blocks, records) == (3, 12)


async def test_records_chain_to_the_previous_record(graph: Graph) -> None:
    await _trail(graph, blocks=1, per_block=3)
    rows = await graph.read("MATCH (r:AuditRecord) RETURN r.seq AS seq, r.prev_hash AS prev, r.hash AS hash ORDER BY seq")
    assert [r["prev"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]


async def test_editing_a_record_is_found_and_named(graph: Graph) -> None:
    await _trail(graph)
    target = (await graph.write("MATCH (r:AuditRecord {seq: 6}) SET r.outcome = 'denied' RETURN r.id AS id"))[0]["id"]
    broken, _, _ = await verify(graph)
    assert broken is not None and broken.record_id == target and "modified" in broken.problem


async def test_deleting_a_record_is_found(graph: Graph) -> None:
    await _trail(graph)
    await graph.write("MATCH (r:AuditRecord {seq: 7}) DETACH DELETE r")
    broken, _, _ = await verify(graph)
    assert broken is not None and broken.block_seq == 2


async def test_deleting_the_last_block_is_found(graph: Graph) -> None:
    await _trail(graph)
    await graph.write("MATCH (r:AuditRecord)-[:IN_BLOCK]->(b:AuditBlock {seq: 3}) DETACH DELETE r, b")
    broken, _, _ = await verify(graph)
    assert broken is not None and "head" in broken.problem


async def test_deleting_a_middle_block_is_found(graph: Graph) -> None:
    await _trail(graph)
    await graph.write("MATCH (r:AuditRecord)-[:IN_BLOCK]->(b:AuditBlock {seq: 2}) DETACH DELETE r, b")
    broken, _, _ = await verify(graph)
    assert broken is not None and broken.block_seq == 2 and "missing" in broken.problem


async def test_recording_does_not_wait_for_the_database(graph: Graph) -> None:
    audit = AuditLog(graph)
    audit.record(ANALYST, "check")  # synchronous: no await, no lock
    assert await graph.read("MATCH (r:AuditRecord) RETURN r") == []
    assert await audit.flush() == 1
    assert len(await graph.read("MATCH (r:AuditRecord) RETURN r")) == 1


async def test_close_writes_everything_still_queued(graph: Graph) -> None:
    audit = AuditLog(graph, flush_interval=60)
    audit.start()
    for n in range(25):
        audit.record(ANALYST, "check", subject=f"phone:{n}")
    await audit.close()
    assert len(await graph.read("MATCH (r:AuditRecord) RETURN r")) == 25


async def test_a_flush_retried_after_its_commit_went_through_writes_nothing_twice(graph: Graph) -> None:
    """A reset after COMMIT leaves the records queued although stored: the retry must not stall on them."""
    audit = AuditLog(graph)
    for n in range(3):
        audit.record(ANALYST, "check", subject=f"phone:{n}")
    committed = list(audit._pending)
    await audit.flush()
    audit._pending[:0] = committed  # what the writer holds when it never heard the commit succeed
    audit.record(ANALYST, "check", subject="phone:later")
    assert await audit.flush() == 4
    assert audit._pending == []
    broken, blocks, records = await verify(graph)
    assert broken is None and (blocks, records) == (2, 4)


async def test_close_while_the_flusher_is_appending_loses_and_repeats_nothing(graph: Graph) -> None:
    audit = AuditLog(graph, flush_interval=0.01)
    audit.start()
    for round_ in range(20):
        for n in range(50):
            audit.record(ANALYST, "check", subject=f"phone:{round_}-{n}")
        await asyncio.sleep(0.005)
    await audit.close()
    broken, _, records = await verify(graph)
    assert broken is None and records == 1000


async def test_concurrent_writers_extend_one_chain(graph: Graph) -> None:
    writers = [AuditLog(graph) for _ in range(4)]
    for round_ in range(3):
        for n, writer in enumerate(writers):
            writer.record(ANALYST, "check", subject=f"phone:{round_}{n}")
        await asyncio.gather(*(writer.flush() for writer in writers))
    broken, blocks, records = await verify(graph)
    assert broken is None and (blocks, records) == (12, 12)


def test_cli_verify_fails_and_names_the_record(settings, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    try:
        graph = Graph.connect(Target(settings.neo4j_uri, None))
        record_id = loop.run_until_complete(_tamper_with(graph))
        loop.run_until_complete(graph.close())
    finally:
        loop.close()
    env = {**os.environ, "FENGHUO_NEO4J_URI": settings.neo4j_uri, "FENGHUO_DATA_DIR": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).with_name("fenghuo")), "audit", "verify"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert record_id in done.stdout


async def _tamper_with(graph: Graph) -> str:
    await graph.write("MATCH (n) WHERE NOT n:Migration DETACH DELETE n")
    await _trail(graph, blocks=2, per_block=2)
    rows = await graph.write("MATCH (r:AuditRecord {seq: 3}) SET r.action = 'nothing' RETURN r.id AS id")
    return rows[0]["id"]
