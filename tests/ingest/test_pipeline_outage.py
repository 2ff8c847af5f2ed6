"""A Neo4j restart in the middle of a batch: the batch rides it out and commits once, or fails saying what to do."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.principal import Principal, Role
from audit.log import AuditLog
from core.settings import Settings
from graph import batches as batches_repo
from graph.database import Graph, Target
from graph.embedded import EmbeddedNeo4j
from graph.migrate import migrate
from ingest import demo
from ingest.columns import ColumnError, map_header
from ingest.formats import open_table
from ingest.outage import OutageTooLong, ride_out
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
from ingest.prepare import Preparer
from tests.conftest import free_port
from tests.support import TEST_KEY, add_member

UPLOADER = Principal(id="key:uploader", member_code="ACME", roles=frozenset({Role.UPLOADER}))
ROWS = 20_000
LEADS = """
MATCH (l:Lead {batch_id: $id})
RETURN count(l) AS leads, count(DISTINCT l.id) AS ids, count(DISTINCT l.seq) AS lines
"""


def _accepted_offline(path: Path) -> int:
    """What the batch must hold, worked out without any database: the row policy over the file."""
    with open(path, "rb") as f:
        table = open_table(f, "csv")
        columns = map_header(table.headers)
        assert not isinstance(columns, ColumnError)
        preparer = Preparer("offline", TEST_KEY)
        for _ in preparer.results(table.rows, columns, datetime.now(timezone.utc)):
            pass
    return preparer.totals.accepted


async def _progress_while_processing(graph: Graph, batch_id: str) -> dict:
    for _ in range(3000):
        batch = await batches_repo.get_batch(graph, batch_id)
        if batch["status"] != "processing" or batch["written_seq"] > 0:
            return batch
        await asyncio.sleep(0.1)
    raise AssertionError("the batch never started writing")


async def test_neo4j_sigkilled_and_restarted_mid_batch_the_batch_commits_every_lead_once(tmp_path: Path) -> None:
    server = EmbeddedNeo4j(tmp_path / "neo4j", free_port(), cache_dir=Settings().cache_dir, heap="512m", page_cache="64m")
    server.start(supervise=True)  # restarts a dead JVM, as `fenghuo serve` does
    graph = Graph.connect(Target(server.uri, None))
    audit = AuditLog(graph)
    try:
        await migrate(graph)
        await add_member(graph, "ACME")
        path = tmp_path / "leads.csv"
        demo.generate(path, ROWS, seed=21)
        runner = BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool", outage_wait=300)
        outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name))
        batch_id = outcome.batch["id"]
        started = await _progress_while_processing(graph, batch_id)
        assert started["status"] == "processing" and 0 < started["rows_done"] < ROWS  # progress shows early
        killed = server.process.pid
        server.process.kill()  # SIGKILL mid-write
        await runner.wait_idle()
        assert server.process.pid != killed
        batch = await batches_repo.get_batch(graph, batch_id)
        assert batch["status"] == "committed", batch.get("error")
        assert batch["rows_total"] == batch["rows_done"] == ROWS
        counts = (await graph.read(LEADS, {"id": batch_id}))[0]
        expected = _accepted_offline(path)
        assert counts == {"leads": expected, "ids": expected, "lines": expected} and batch["accepted"] == expected
        assert batch["aggregated_seq"] == batch["last_line"] + 1
    finally:
        await audit.close()
        await graph.close()
        server.stop()


async def test_ride_out_gives_up_after_its_bounded_wait_when_neo4j_never_answers() -> None:
    graph = Graph.connect(Target(f"bolt://127.0.0.1:{free_port()}", None))  # nothing listens there
    try:
        with pytest.raises(OutageTooLong) as raised:
            await ride_out(graph, lambda: graph.read("RETURN 1"), wait_seconds=2)
        assert "did not answer for 2s" in str(raised.value)
    finally:
        await graph.close()
