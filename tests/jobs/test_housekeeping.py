"""Housekeeping: retention purges leads past τ + grace (audit kept), the sweeper, the audit checkpoint, network upkeep."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from audit.log import AuditLog
from graph.database import Graph, Target
from graph.sideloop import SideLoop
from graph.sideprocess import SideProcess
from ingest.pipeline import BatchRunner, UploadRequest
from jobs import housekeeping, metrics
from jobs.model import JobKind
from escalation.scheduled import CHINA
from jobs.service import install_builtin_jobs
from tests.jobs.conftest import MEMBER, JobsEnv
from tests.jobs.test_drop_folder import LEADS
from tests.support import TEST_KEY
from core.principal import Principal, Role

UPLOADER = Principal(id="key:u", member_code=MEMBER, roles=frozenset({Role.UPLOADER}))


async def _file(graph: Graph, tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    audit = AuditLog(graph)
    runner = BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    text = "phone,category,observed_at\n" + "".join(f"{p},{c},{d}\n" for p, c, d in rows)
    await runner.submit_file(UPLOADER, [text.encode()], UploadRequest(filename="x.csv"), wait=True)
    await audit.close()


async def _on_side_loop(jobs_env: JobsEnv, target: Target, kind: JobKind, thread: str) -> dict:
    """`kind` run as a serving process runs it: with a side loop (graph/sideloop.py) named `thread`."""
    side = SideLoop(target, "neo4j", thread)
    try:
        return await housekeeping.run(kind, jobs_env.graph, jobs_env.audit, jobs_env.settings, {}, side=side)
    finally:
        await side.close()


async def _checkpoint_failure(jobs_env: JobsEnv, **options: int) -> Exception | None:
    try:
        await housekeeping.audit_checkpoint(jobs_env.graph, jobs_env.settings, **options)
    except Exception as error:  # noqa: BLE001
        return error
    return None


async def test_retention_counts_expired_and_purges_leads_past_grace_keeping_audit(jobs_env: JobsEnv, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    day = lambda n: (now - timedelta(days=n)).strftime("%Y-%m-%d")  # noqa: E731
    # DEVICE_FARM: τ = 180 days; grace 90 → purge after 270 days.
    await _file(jobs_env.graph, tmp_path, [("13800138101", "DEVICE_FARM", day(10)), ("13800138102", "DEVICE_FARM", day(200)),
                                           ("13800138103", "DEVICE_FARM", day(300)), ("13800138104", "MONEY_MULE", day(300))])
    audit_before = await jobs_env.count("MATCH (r:AuditRecord) RETURN count(r) AS n")

    stats = await housekeeping.retention(jobs_env.graph, jobs_env.audit, jobs_env.settings)
    await jobs_env.audit.flush()

    assert stats["expired"] == 2 and stats["purged_leads"] == 1 and stats["purged_indicators"] == 1
    assert await jobs_env.count(LEADS) == 3
    assert await jobs_env.count("MATCH (r:AuditRecord) RETURN count(r) AS n") > audit_before
    reported = await jobs_env.count("MATCH (:Member)-[r:REPORTED]->() RETURN sum(r.leads) AS n")
    assert reported == 3


async def test_sweeper_fails_batches_abandoned_in_processing(jobs_env: JobsEnv) -> None:
    await jobs_env.graph.write("CREATE (:Batch {id: 'old', member_code: $m, status: 'processing', created_at: datetime() - duration('P1D')}),"
                               " (:Batch {id: 'new', member_code: $m, status: 'processing', created_at: datetime()})", {"m": MEMBER})

    stats = await housekeeping.sweep_batches(jobs_env.graph, jobs_env.audit, jobs_env.settings)

    rows = await jobs_env.graph.read("MATCH (b:Batch) RETURN b.id AS id, b.status AS status, b.error AS error ORDER BY id")
    assert stats["swept_batches"] == 1
    assert [(r["id"], r["status"]) for r in rows] == [("new", "processing"), ("old", "failed")]
    assert "abandoned" in rows[1]["error"]


async def test_audit_checkpoint_alerts_when_a_recent_record_was_altered(jobs_env: JobsEnv) -> None:
    for n in range(3):
        jobs_env.audit.record(UPLOADER, "test.action", subject=f"s{n}")
        await jobs_env.audit.flush()
    assert (await housekeeping.audit_checkpoint(jobs_env.graph, jobs_env.settings))["verified_blocks"] >= 3
    assert metrics.AUDIT_CHAIN_BROKEN._value.get() == 0

    await jobs_env.graph.write("MATCH (r:AuditRecord {subject: ['s1']}) SET r.action = 'edited'")
    raised = await _checkpoint_failure(jobs_env)

    assert raised is not None and "audit chain is broken" in str(raised)
    assert metrics.AUDIT_CHAIN_BROKEN._value.get() == 1


async def test_audit_checkpoint_reads_a_page_of_blocks_at_a_time_and_finds_a_break_in_a_later_page(jobs_env: JobsEnv) -> None:
    for n in range(5):
        jobs_env.audit.record(UPLOADER, "test.paged", subject=f"p{n}")
        await jobs_env.audit.flush()
    blocks = await jobs_env.count("MATCH (b:AuditBlock) RETURN count(b) AS n")

    assert (await housekeeping.audit_checkpoint(jobs_env.graph, jobs_env.settings, page=2))["verified_blocks"] == blocks
    assert metrics.AUDIT_CHAIN_BROKEN._value.get() == 0

    await jobs_env.graph.write("MATCH (r:AuditRecord {subject: ['p4']}) SET r.action = 'edited'")  # the newest page
    raised = await _checkpoint_failure(jobs_env, page=2)
    assert raised is not None and "audit chain is broken" in str(raised)

    await jobs_env.graph.write("MATCH (r:AuditRecord {subject: ['p4']}) SET r.action = 'test.paged'")
    await jobs_env.graph.write("MATCH (b:AuditBlock) WITH max(b.seq) AS newest MATCH (b:AuditBlock {seq: newest}) DETACH DELETE b")
    raised = await _checkpoint_failure(jobs_env, page=2)  # the newest block gone: the head no longer matches
    assert raised is not None and "audit chain is broken" in str(raised)


async def test_audit_checkpoint_runs_on_the_side_loop_in_a_serving_process(jobs_env: JobsEnv, neo4j_target: Target,
                                                                           monkeypatch) -> None:
    """On the requests' loop a checkpoint of a busy node's newest blocks held every check for seconds."""
    jobs_env.audit.record(UPLOADER, "test.side", subject="s")
    await jobs_env.audit.flush()
    threads: list[str] = []
    real = housekeeping.repo.newest_blocks

    def watched(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(housekeeping.repo, "newest_blocks", watched)
    stats = await _on_side_loop(jobs_env, neo4j_target, JobKind.AUDIT_CHECKPOINT, "test-side-checkpoint")

    assert threads == ["test-side-checkpoint"] and threading.current_thread().name != "test-side-checkpoint"
    assert stats["verified_blocks"] >= 1


async def test_housekeeping_jobs_are_installed_once_and_run_through_the_runner(jobs_env: JobsEnv) -> None:
    assert await install_builtin_jobs(jobs_env.graph) == len(housekeeping.BUILTIN_JOBS)
    assert await install_builtin_jobs(jobs_env.graph) == 0
    job = await jobs_env.job("housekeeping-batch-sweeper")

    run = await jobs_env.run(job)

    assert job["kind"] == JobKind.BATCH_SWEEPER.value and run["status"] == "succeeded"


async def test_the_daily_escalation_digest_is_installed_and_its_run_stores_yesterdays_digest(jobs_env: JobsEnv) -> None:
    await install_builtin_jobs(jobs_env.graph)
    job = await jobs_env.job("housekeeping-escalation-digest")
    yesterday = datetime.now(CHINA) - timedelta(days=1)
    await jobs_env.graph.write(
        "CREATE (:Case {id: 'case-1', number: 'FH-1', jurisdiction_code: '440300', province_code: '440000', status: 'NEW',"
        " title: '昨日新案', created_at: $at, updated_at: $at})", {"at": yesterday})

    run = await jobs_env.run(job)

    stored = await jobs_env.graph.read("MATCH (d:EscalationDigest) RETURN d.id AS id, d.new_cases AS new ORDER BY id")
    day = yesterday.date().isoformat()
    assert (job["kind"], job["cron"], job["builtin"]) == (JobKind.ESCALATION_DIGEST.value, "10 0 * * *", True)
    assert (run["status"], run["rows"]) == ("succeeded", 2), run
    assert stored == [{"id": f"440000-{day}", "new": 1}, {"id": f"440300-{day}", "new": 1}]


async def test_network_upkeep_runs_in_the_network_process_of_a_serving_process(jobs_env: JobsEnv, tmp_path: Path,
                                                                              neo4j_target: Target, monkeypatch) -> None:
    """A serving process passes its network process (graph/sideprocess.py): the upkeep runs there, not in the
    process that answers requests, and still assigns the batch whose after-batch hook never ran."""
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    await _file(jobs_env.graph, tmp_path, [("13800138201", "MONEY_MULE", today), ("13800138202", "MONEY_MULE", today)])

    async def not_here(graph: Graph) -> int:
        raise AssertionError("the upkeep ran in the serving process")

    monkeypatch.setattr(housekeeping, "assign_pending_networks", not_here)  # this process's copy only
    networks = SideProcess(neo4j_target, "neo4j", "test-networks")
    try:
        stats = await housekeeping.run(JobKind.NETWORK_UPKEEP, jobs_env.graph, jobs_env.audit, jobs_env.settings, {},
                                       networks=networks)
        again = await housekeeping.run(JobKind.NETWORK_UPKEEP, jobs_env.graph, jobs_env.audit, jobs_env.settings, {},
                                       networks=networks)
    finally:
        await networks.close()

    assert stats == {"rows": 1, "mode": "pending batches assigned"}
    assert again == {"rows": 0, "mode": "pending batches assigned"}
    assert await jobs_env.count("MATCH (b:Batch {status: 'committed'}) WHERE b.networks_assigned_at IS NULL RETURN count(b) AS n") == 0


async def test_network_upkeep_starts_no_process_while_networks_are_being_assigned(jobs_env: JobsEnv, tmp_path: Path,
                                                                                  neo4j_target: Target, monkeypatch) -> None:
    """While a batch's own hook holds the network lease its batch is pending; the upkeep leaves it (it would start a
    process only to wait for the lease) and assigns it on a run after the lease is free."""
    from graph import networks as networks_repo

    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    await _file(jobs_env.graph, tmp_path, [("13800138211", "MONEY_MULE", today), ("13800138212", "MONEY_MULE", today)])
    networks = SideProcess(neo4j_target, "neo4j", "test-networks")
    started = []
    run = networks.run

    async def counted(step, *args, **kwargs):
        started.append(step.__name__)
        return await run(step, *args, **kwargs)

    monkeypatch.setattr(networks, "run", counted)
    assert await networks_repo.acquire_lease(jobs_env.graph, "hook-in-flight", 60_000)
    try:
        held = await housekeeping.run(JobKind.NETWORK_UPKEEP, jobs_env.graph, jobs_env.audit, jobs_env.settings, {},
                                      networks=networks)
        await networks_repo.release_lease(jobs_env.graph, "hook-in-flight")
        free = await housekeeping.run(JobKind.NETWORK_UPKEEP, jobs_env.graph, jobs_env.audit, jobs_env.settings, {},
                                      networks=networks)
    finally:
        await networks.close()

    assert held == {"rows": 0, "mode": "pending batches assigned", "left": "networks are being assigned"}
    assert free == {"rows": 1, "mode": "pending batches assigned"}
    assert started == ["network_upkeep"]
