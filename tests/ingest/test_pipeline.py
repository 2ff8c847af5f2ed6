"""Lead batches end to end against Neo4j: all-or-nothing, idempotent, resumable, nothing half-written."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import AsyncIterator

import pytest

from core.principal import Principal, Role
from audit.log import AuditLog
from graph.database import Graph
from ingest import demo
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
from tests.support import TEST_KEY, add_member

UPLOADER = Principal(id="key:uploader", member_code="ACME", roles=frozenset({Role.UPLOADER}))
SNAPSHOT = """
MATCH (n) WHERE NOT n:Migration AND NOT n:AuditRecord AND NOT n:AuditBlock AND NOT n:AuditHead
OPTIONAL MATCH (n)-[r]->()
WITH labels(n)[0] AS label, count(DISTINCT n) AS nodes, count(r) AS rels,
     sum(coalesce(r.leads, 0) + coalesce(r.count, 0)) AS weights
RETURN label, nodes, rels, weights ORDER BY label
"""


@pytest.fixture
async def runner(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    await add_member(graph, "ACME", hotlines=["400-819-6155"])
    audit = AuditLog(graph)
    yield BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    await audit.close()


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


async def _visible_leads(graph: Graph) -> int:
    rows = await graph.read("MATCH (l:Lead), (b:Batch {id: l.batch_id, status: 'committed'}) RETURN count(l) AS n")
    return rows[0]["n"]


async def test_generated_batch_is_stored_with_counts_matching_the_report(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    demo.generate(path, 2000, seed=11)
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    batch = outcome.batch
    assert batch["status"] == "committed" and outcome.created
    assert batch["rows_total"] == batch["accepted"] + batch["rejected"] + batch["skipped"] + batch["duplicate"] == 2000
    assert await _visible_leads(graph) == batch["accepted"]
    named = await graph.read("MATCH (:Lead)-[r:NAMES]->() RETURN count(r) AS n")
    reported = await graph.read("MATCH (:Member)-[r:REPORTED]->() RETURN sum(r.leads) AS n")
    assert named[0]["n"] == reported[0]["n"] > batch["accepted"]
    assert batch["aggregated_seq"] == batch["last_line"] + 1


async def test_a_batch_writes_the_edges_and_counters_the_model_lists_and_no_others(runner: BatchRunner, graph: Graph,
                                                                                   tmp_path: Path) -> None:
    """graph/MODEL.md: a lead's filer is its member_code (no edge to the member), and an indicator carries its
    lead count but not sighting times (those are on the REPORTED aggregates). Each extra write costs ingest."""
    path = tmp_path / "leads.csv"
    demo.generate(path, 1000, seed=5)
    await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    edges = await graph.read("MATCH (:Lead)-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type")
    assert [row["type"] for row in edges] == ["NAMES", "OPERATED_BY"]
    fields = await graph.read("MATCH (i:Indicator {benign: false}) UNWIND keys(i) AS k RETURN collect(DISTINCT k) AS keys")
    assert "lead_count" in fields[0]["keys"]
    assert not {"first_seen", "last_seen"} & set(fields[0]["keys"])
    counted = await graph.read("MATCH (i:Indicator {benign: false}) RETURN sum(i.lead_count) AS n")
    named = await graph.read("MATCH (l:Lead)-[:NAMES]->() RETURN count(CASE WHEN l.tlp <> 'RED' THEN 1 END) AS taking_part, "
                             "count(*) AS all")
    assert counted[0]["n"] == named[0]["taking_part"] < named[0]["all"] == edges[0]["n"]  # RED leads link nothing


async def test_uploading_the_same_file_twice_leaves_the_graph_as_after_the_first(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    demo.generate(path, 800, seed=3)
    first = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    before = await graph.read(SNAPSHOT)
    second = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename="renamed.csv"), wait=True)
    assert second.created is False and second.batch["id"] == first.batch["id"]
    assert await graph.read(SNAPSHOT) == before


async def test_same_idempotency_key_returns_the_existing_batch(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    one = _write(tmp_path / "a.csv", "手机号,黑产类型\n13800138000,中介\n")
    two = _write(tmp_path / "b.csv", "手机号,黑产类型\n13900139000,中介\n")
    first = await runner.submit_file(UPLOADER, copy_file_chunks(one), UploadRequest(idempotency_key="k-1"), wait=True)
    again = await runner.submit_file(UPLOADER, copy_file_chunks(two), UploadRequest(idempotency_key="k-1"), wait=True)
    assert again.batch["id"] == first.batch["id"] and not again.created
    assert await _visible_leads(graph) == 1


async def test_gbk_and_bom_files_are_read_alike(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    text = "手机号,黑产类型,中介/团伙\n13800138000,贷款中介,深圳某某财务咨询\n"
    gbk = await runner.submit_file(UPLOADER, copy_file_chunks(_write(tmp_path / "g.csv", text, "gbk")), UploadRequest(), wait=True)
    bom = await runner.submit_file(UPLOADER, copy_file_chunks(_write(tmp_path / "b.csv", text, "utf-8-sig")), UploadRequest(), wait=True)
    assert gbk.batch["accepted"] == bom.batch["accepted"] == 1
    agents = await graph.read("MATCH (a:Agent) RETURN DISTINCT a.label AS label")
    assert agents == [{"label": "深圳某某财务咨询"}]


async def test_a_file_without_a_category_column_fails_clearly_and_writes_no_lead(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "手机号,备注\n13800138000,x\n")
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True)
    assert outcome.batch["status"] == "failed"
    assert "category" in outcome.batch["error"] and "line 1" in outcome.batch["error"]
    assert await graph.read("MATCH (l:Lead) RETURN l") == []


async def test_a_lead_naming_only_a_registered_hotline_is_rejected_with_the_reason(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = _write(tmp_path / "h.csv", "手机号,黑产类型\n4008196155,冒充客服\n4008196155;13800138000,冒充客服\n")
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True)
    assert (outcome.batch["accepted"], outcome.batch["rejected"]) == (1, 1)
    from graph import batches

    report = {row["line"]: row for row in await batches.report(graph, outcome.batch["id"])}
    assert "registered hotline" in report[2]["errors"][0]["message"]
    assert any("registered hotline" in w["message"] for w in report[3]["warnings"])
    benign_named = await graph.read("MATCH (:Lead)-[:NAMES]->(i:Indicator {benign: true}) RETURN count(i) AS n")
    assert benign_named[0]["n"] == 0


async def test_submitted_leads_report_every_row_and_are_idempotent(runner: BatchRunner, graph: Graph) -> None:
    leads = [
        {"category": "贷款中介", "phone": "13800138000", "device": "867530021234561"},
        {"category": "其他", "phone": "13900139000"},
        {"category": "MONEY_MULE", "bank_card": "6222021234567890123", "phone": "1.38001E+10"},
    ]
    first = await runner.submit_leads(UPLOADER, leads, idempotency_key="rt-1")
    assert [r["status"] for r in first.results] == ["accepted", "rejected", "accepted"]
    assert any("lost digits" in w["message"] for w in first.results[2]["warnings"])
    again = await runner.submit_leads(UPLOADER, leads, idempotency_key="rt-1")
    assert not again.created and again.batch["id"] == first.batch["id"]
    assert await _visible_leads(graph) == 2


async def test_leads_of_a_batch_are_invisible_until_it_commits(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    seen_while_processing: list[int] = []
    original = runner._finish

    async def spy(*args, **kwargs):
        seen_while_processing.append(await _visible_leads(graph))
        seen_while_processing.append((await graph.read("MATCH ()-[r:REPORTED]->() RETURN count(r) AS n"))[0]["n"])
        return await original(*args, **kwargs)

    runner._finish = spy  # type: ignore[method-assign]
    path = tmp_path / "leads.csv"
    demo.generate(path, 300, seed=5)
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True)
    written = await graph.read("MATCH (l:Lead) RETURN count(l) AS n")
    assert written[0]["n"] == outcome.batch["accepted"] > 0
    assert seen_while_processing == [0, 0]


KILL_SCRIPT = """
import asyncio, sys
from pathlib import Path
from core.principal import Principal, Role
from audit.log import AuditLog
from graph.database import Graph, Target
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
from tests.support import TEST_KEY

async def main(uri, path, spool):
    graph = Graph.connect(Target(uri, None))
    runner = BatchRunner(graph, AuditLog(graph), TEST_KEY, Path(spool))
    principal = Principal(id="key:uploader", member_code="ACME", roles=frozenset({Role.UPLOADER}))
    await runner.submit_file(principal, copy_file_chunks(Path(path)), UploadRequest(), wait=True)

if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
"""


async def test_killing_the_process_mid_batch_leaves_nothing_visible_and_a_retry_completes_it(
    runner: BatchRunner, graph: Graph, settings, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    demo.generate(path, 30_000, seed=21)
    script = tmp_path / "upload_and_die.py"
    script.write_text(KILL_SCRIPT)
    child = subprocess.Popen([sys.executable, str(script), settings.neo4j_uri, str(path), str(tmp_path / "spool")],
                             cwd=Path(__file__).parents[2], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and written == 0:
        await asyncio.sleep(0.2)
        rows = await graph.read("MATCH (b:Batch) RETURN b.written_seq AS w")
        written = rows[0]["w"] if rows else 0
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert written > 0, "the child never wrote a chunk"
    batch = (await graph.read("MATCH (b:Batch) RETURN b {.*} AS b"))[0]["b"]
    assert batch["status"] == "processing"
    assert await _visible_leads(graph) == 0
    assert (await graph.read("MATCH ()-[r:REPORTED]->() RETURN count(r) AS n"))[0]["n"] == 0

    retried = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True)
    assert retried.batch["id"] == batch["id"] and retried.batch["status"] == "committed"
    assert await _visible_leads(graph) == retried.batch["accepted"]
    duplicates = await graph.read("MATCH (l:Lead) WITH l.id AS id, count(*) AS n WHERE n > 1 RETURN count(id) AS n")
    assert duplicates[0]["n"] == 0


async def test_written_rows_are_freed_without_waiting_for_the_garbage_collector(runner: BatchRunner, tmp_path: Path) -> None:
    """The driver keeps each query's parameters in a reference cycle. A chunk's rows must not ride in it: the
    serving process collects cycles rarely (api/app.py), and its memory grew with the batch. With the collector
    off, the cycles the upload leaves hold no lead row and no list of more than a few items."""
    import gc

    path = tmp_path / "leads.csv"
    demo.generate(path, 6000, seed=13)
    gc.collect()
    gc.garbage.clear()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
        gc.collect()
        cyclic = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert outcome.batch["status"] == "committed" and outcome.batch["accepted"] > 5000
    rows = [o for o in cyclic if isinstance(o, dict) and "indicators" in o and "observed_at" in o]
    longest = max((len(o) for o in cyclic if isinstance(o, list)), default=0)
    assert not rows and longest < 100, (len(rows), longest)
