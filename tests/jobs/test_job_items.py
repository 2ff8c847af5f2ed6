"""Which source items count as filed: those of a batch that committed (or was since purged), not of one that failed."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from graph import batches as batches_repo
from graph import jobs as jobs_repo
from tests.jobs.conftest import MEMBER, JobsEnv


async def _batch(env: JobsEnv) -> str:
    batch = await batches_repo.create_batch(env.graph, id=uuid.uuid4().hex, member_code=MEMBER, principal_id="job:t",
                                            content_hash=uuid.uuid4().hex, idempotency_key=None, filename="f.json",
                                            format="stix", bytes_total=1, defaults=None)
    return batch["id"]


async def test_items_count_as_filed_only_once_their_batch_committed(jobs_env: JobsEnv) -> None:
    job = await jobs_env.create("items", "taxii", {"collection_url": "http://127.0.0.1:9/api/collections/c/"})
    ids = ["indicator--a|1", "indicator--b|1"]
    running = await _batch(jobs_env)
    await jobs_repo.record_items(jobs_env.graph, job["id"], ids, running)
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ids) == set()  # still processing (or killed)

    await batches_repo.fail(jobs_env.graph, running, "bad")
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ids) == set()

    retried = await _batch(jobs_env)
    await jobs_repo.record_items(jobs_env.graph, job["id"], ids, retried)
    await batches_repo.commit(jobs_env.graph, retried)
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ids + ["indicator--c|1"]) == set(ids)

    later = await _batch(jobs_env)  # a filed item named again keeps the batch that filed it
    await jobs_repo.record_items(jobs_env.graph, job["id"], ids[:1], later)
    await batches_repo.fail(jobs_env.graph, later, "bad")
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ids) == set(ids)

    await jobs_env.graph.write("MATCH (b:Batch {id: $id}) DETACH DELETE b", {"id": retried})  # purged by retention
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ids) == set(ids)


async def test_a_run_ends_once_its_batch_is_checkable_while_network_upkeep_goes_on(jobs_env: JobsEnv, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "leads.csv").write_text("手机号,黑产类型\n13800138001,贷款中介\n13800138002,贷款中介\n", encoding="utf-8")
    past = time.time() - 60
    os.utime(folder / "leads.csv", (past, past))
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 1})
    hook_started, release = asyncio.Event(), asyncio.Event()

    async def slow_upkeep(graph, batch_id: str) -> None:  # stands in for agent-network assignment after aggregation
        hook_started.set()
        await release.wait()

    jobs_env.runner.batches.after_aggregation.append(slow_upkeep)
    try:
        run = await asyncio.wait_for(jobs_env.run(job), timeout=60)
        assert hook_started.is_set() and not release.is_set()
        assert (run["status"], run["accepted"]) == ("succeeded", 2), run
        batch = await batches_repo.get_batch(jobs_env.graph, run["batch_ids"][0])
        assert batch["status"] == "committed" and batch["aggregated_seq"] > batch["last_line"]
    finally:
        release.set()
        await jobs_env.runner.batches.wait_idle()


async def test_items_believed_new_but_already_recorded_are_merged_not_duplicated(jobs_env: JobsEnv) -> None:
    job = await jobs_env.create("items", "taxii", {"collection_url": "http://127.0.0.1:9/api/collections/c/"})
    failed = await _batch(jobs_env)
    await jobs_repo.record_items(jobs_env.graph, job["id"], ["a|1"], failed)
    await batches_repo.fail(jobs_env.graph, failed, "bad")
    known: set[str] = set()
    assert await jobs_repo.filed_items(jobs_env.graph, job["id"], ["a|1", "b|1"], known=known) == set()
    assert known == {"a|1"}

    batch = await _batch(jobs_env)
    await jobs_repo.record_items(jobs_env.graph, job["id"], ["a|1", "b|1"], batch, known=set())  # a stale `known`
    await batches_repo.commit(jobs_env.graph, batch)

    rows = await jobs_env.graph.read("MATCH (s:JobItem {job_id: $id}) RETURN s.source_id AS sid, s.batch_id AS batch "
                                     "ORDER BY sid", {"id": job["id"]})
    assert rows == [{"sid": "a|1", "batch": batch}, {"sid": "b|1", "batch": batch}]
