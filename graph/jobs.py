"""Scheduled ingest in Neo4j: job definitions, the per-job run lock, run history, filed source items, the lease.

- `IngestJob`: one job (kind, schedule, member, connector config as JSON, encrypted secrets, cursor). Reads
  for people go through `readable_*` (operators only, graph/visibility.py `ingest_job`) and never return the
  encrypted secrets; only the scheduler reads them (`job_for_run`).
- A run holds the job's lock (`running_run_id` + `running_until`) taken in the same transaction that creates
  its `JobRun`, so two runs of one job never overlap, whichever process asks.
- `JobItem {job_id, source_id, batch_id}`: each source item a job filed (file hash, STIX id|modified, MISP attribute
  uuid), recorded while its batch runs (the write overlaps the batch's own work). An item counts as filed unless
  its batch failed or is still `processing` (a run killed part-way): then the next run files it again, and the
  pipeline's content idempotency resumes or replaces that batch. A re-run or a restart never files it twice.
- `SchedulerLease`: the one process allowed to schedule.
"""

from __future__ import annotations

from typing import Any

from neo4j.exceptions import ConstraintError

from core.principal import Principal
from graph import visibility
from graph.database import Graph

PUBLIC_JOB = "j {.*, secrets_enc: null, secrets_set: j.secrets_enc IS NOT NULL}"

CREATE_JOB = """
CREATE (j:IngestJob)
SET j = $props, j.created_at = datetime(), j.updated_at = datetime(), j.version = 1, j.paused = coalesce($props.paused, false),
    j.failures = 0
RETURN j {.*, secrets_enc: null, secrets_set: j.secrets_enc IS NOT NULL} AS job
"""

UPDATE_JOB = """
MATCH (j:IngestJob {id: $id})
SET j += $props, j.updated_at = datetime(), j.version = j.version + 1
RETURN j {.*, secrets_enc: null, secrets_set: j.secrets_enc IS NOT NULL} AS job
"""

CLEAR_SECRETS = "MATCH (j:IngestJob {id: $id}) REMOVE j.secrets_enc"

DELETE_JOB = """
MATCH (j:IngestJob {id: $id}) WHERE NOT coalesce(j.builtin, false)
OPTIONAL MATCH (r:JobRun {job_id: j.id})
DETACH DELETE r
WITH DISTINCT j
DETACH DELETE j
RETURN count(*) AS deleted
"""

DELETE_JOB_ITEMS = """
MATCH (s:JobItem {job_id: $id}) WITH s LIMIT 10000
DELETE s
RETURN count(*) AS deleted
"""

READABLE_JOBS = f"""
MATCH (j:IngestJob) WHERE {visibility.operators_only()}
RETURN {PUBLIC_JOB} AS job ORDER BY j.name
"""

READABLE_JOB = f"""
MATCH (j:IngestJob) WHERE (j.id = $id OR j.name = $id) AND {visibility.operators_only()}
RETURN {PUBLIC_JOB} AS job
"""

READABLE_RUNS = f"""
MATCH (j:IngestJob {{id: $id}}) WHERE {visibility.operators_only()}
MATCH (r:JobRun {{job_id: j.id}})
RETURN r {{.*}} AS run ORDER BY r.started_at DESC LIMIT $first
"""

LAST_RUNS = """
UNWIND $ids AS id
CALL (id) {
  MATCH (r:JobRun {job_id: id}) RETURN r ORDER BY r.started_at DESC LIMIT 1
}
RETURN id, r {.*} AS run
"""

FIND_JOB = "MATCH (j:IngestJob) WHERE j.id = $id OR j.name = $id RETURN j {.*} AS job"

ALL_JOBS = "MATCH (j:IngestJob) RETURN j {.*} AS job ORDER BY j.name"

JOBS_SIGNATURE = """
MATCH (j:IngestJob)
RETURN j.id AS id, j.version AS version, j.paused AS paused ORDER BY id
"""

REQUEST_RUN = "MATCH (j:IngestJob {id: $id}) SET j.run_requested_at = datetime() RETURN j.id AS id"

TAKE_RUN_REQUESTS = """
MATCH (j:IngestJob) WHERE j.run_requested_at IS NOT NULL
REMOVE j.run_requested_at
RETURN j.id AS id
"""

# The lock and the run record in one write: either this run holds the job, or nothing was written.
ACQUIRE_RUN = """
MATCH (j:IngestJob {id: $id})
WHERE j.running_run_id IS NULL OR j.running_until < timestamp()
SET j.running_run_id = $run_id, j.running_until = timestamp() + $ttl_ms, j.running_holder = $holder
CREATE (r:JobRun {id: $run_id, job_id: j.id, status: 'running', trigger: $trigger, started_at: datetime(),
                  rows: 0, accepted: 0, rejected: 0, holder: $holder})
RETURN r {.*} AS run
"""

RENEW_RUN = """
MATCH (j:IngestJob {id: $id}) WHERE j.running_run_id = $run_id
SET j.running_until = timestamp() + $ttl_ms
RETURN j.id AS id
"""

SAVE_CURSOR = """
MATCH (j:IngestJob {id: $id}) WHERE j.running_run_id = $run_id
SET j.cursor = $cursor
RETURN j.id AS id
"""

FINISH_RUN = """
MATCH (r:JobRun {id: $run_id})
SET r += $stats, r.status = $status, r.error = $error, r.finished_at = datetime()
WITH r
MATCH (j:IngestJob {id: r.job_id})
SET j.failures = CASE WHEN $status = 'failed' THEN coalesce(j.failures, 0) + 1 ELSE 0 END,
    j.retry_at = $retry_at,
    j.last_success_at = CASE WHEN $status = 'succeeded' THEN r.finished_at ELSE j.last_success_at END
WITH j WHERE j.running_run_id = $run_id
REMOVE j.running_run_id, j.running_until, j.running_holder
RETURN j.failures AS failures
"""

# After taking the lease: runs left `running` by a scheduler that died are closed and their locks freed.
CLOSE_ORPHAN_RUNS = """
MATCH (r:JobRun {status: 'running'}) WHERE r.holder <> $holder
SET r.status = 'failed', r.finished_at = datetime(),
    r.error = 'the scheduler stopped during this run (killed or crashed); the next run resumes where it stopped'
WITH collect(DISTINCT r.job_id) AS ids
MATCH (j:IngestJob) WHERE j.running_holder IS NOT NULL AND j.running_holder <> $holder
REMOVE j.running_run_id, j.running_until, j.running_holder
RETURN count(j) AS freed
"""

# One row per batch the ids were recorded with: a batch that no longer exists (purged by retention) or was
# retracted still counts as filed; one that failed or is still `processing` (a run killed part-way) does not.
FILED_ITEMS = """
UNWIND $ids AS sid
MATCH (s:JobItem {job_id: $job_id, source_id: sid})
WITH s.batch_id AS batch_id, collect(s.source_id) AS ids
OPTIONAL MATCH (b:Batch {id: batch_id})
RETURN ids, b IS NULL OR NOT b.status IN ['failed', 'processing'] AS filed
"""

# Items no run recorded before (the caller checked): created without MERGE's lookup and locking.
CREATE_ITEMS = """
UNWIND $ids AS sid
CREATE (:JobItem {job_id: $job_id, source_id: sid, batch_id: $batch_id, filed_at: datetime()})
"""

# An item of a failed (or abandoned) batch moves to the batch filing it now; a filed item keeps its batch.
RECORD_ITEMS = """
UNWIND $ids AS sid
MERGE (s:JobItem {job_id: $job_id, source_id: sid})
ON CREATE SET s.batch_id = $batch_id, s.filed_at = datetime()
WITH s WHERE s.batch_id <> $batch_id
OPTIONAL MATCH (b:Batch {id: s.batch_id})
WITH s, b WHERE b IS NOT NULL AND b.status IN ['failed', 'processing']
SET s.batch_id = $batch_id, s.filed_at = datetime()
"""

ACQUIRE_LEASE = """
MERGE (k:SchedulerLease {id: 'scheduler'})
WITH k, k.holder IS NULL OR k.holder = $holder OR k.expires_at < timestamp() AS free
SET k.since = CASE WHEN free AND coalesce(k.holder, '') <> $holder THEN datetime() ELSE k.since END
SET k.holder = CASE WHEN free THEN $holder ELSE k.holder END,
    k.host = CASE WHEN free THEN $host ELSE k.host END,
    k.pid = CASE WHEN free THEN $pid ELSE k.pid END,
    k.expires_at = CASE WHEN free THEN timestamp() + $ttl_ms ELSE k.expires_at END
RETURN free AS acquired, k.holder AS holder, k.host AS host, k.pid AS pid, k.since AS since,
       k.expires_at - timestamp() AS expires_in_ms
"""

RELEASE_LEASE = "MATCH (k:SchedulerLease {id: 'scheduler'}) WHERE k.holder = $holder SET k.holder = null, k.expires_at = 0"


def _props(row: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    return row[0][key] if row else None


async def create_job(graph: Graph, props: dict[str, Any]) -> dict[str, Any]:
    return (await graph.write(CREATE_JOB, {"props": props}))[0]["job"]


async def update_job(graph: Graph, job_id: str, props: dict[str, Any], *, clear_secrets: bool = False) -> dict[str, Any] | None:
    if clear_secrets:
        await graph.write(CLEAR_SECRETS, {"id": job_id})
    return _props(await graph.write(UPDATE_JOB, {"id": job_id, "props": props}), "job")


async def delete_job(graph: Graph, job_id: str) -> bool:
    deleted = (await graph.write(DELETE_JOB, {"id": job_id}))[0]["deleted"] > 0
    while deleted and (await graph.write(DELETE_JOB_ITEMS, {"id": job_id}))[0]["deleted"]:
        pass
    return deleted


async def readable_jobs(graph: Graph, principal: Principal) -> list[dict[str, Any]]:
    return [row["job"] for row in await graph.read(READABLE_JOBS, visibility.params(principal))]


async def readable_job(graph: Graph, principal: Principal, job_id: str) -> dict[str, Any] | None:
    return _props(await graph.read(READABLE_JOB, {"id": job_id, **visibility.params(principal)}), "job")


async def readable_runs(graph: Graph, principal: Principal, job_id: str, first: int) -> list[dict[str, Any]]:
    rows = await graph.read(READABLE_RUNS, {"id": job_id, "first": first, **visibility.params(principal)})
    return [row["run"] for row in rows]


async def last_runs(graph: Graph, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest run of each job (callers pass only ids of jobs they were allowed to read)."""
    return {row["id"]: row["run"] for row in await graph.read(LAST_RUNS, {"ids": job_ids})}


async def find_job(graph: Graph, job_id: str) -> dict[str, Any] | None:
    """A job with its encrypted secrets, for the scheduler and the service that checks names and ids."""
    return _props(await graph.read(FIND_JOB, {"id": job_id}), "job")


async def all_jobs(graph: Graph) -> list[dict[str, Any]]:
    return [row["job"] for row in await graph.read(ALL_JOBS)]


async def jobs_signature(graph: Graph) -> tuple[tuple[str, int, bool], ...]:
    return tuple((r["id"], r["version"], bool(r["paused"])) for r in await graph.read(JOBS_SIGNATURE))


async def request_run(graph: Graph, job_id: str) -> bool:
    return bool(await graph.write(REQUEST_RUN, {"id": job_id}))


async def take_run_requests(graph: Graph) -> list[str]:
    return [row["id"] for row in await graph.write(TAKE_RUN_REQUESTS)]


async def acquire_run(graph: Graph, job_id: str, run_id: str, *, holder: str, trigger: str, ttl_ms: int) -> dict[str, Any] | None:
    """The new run, or None while another run of the job holds its lock."""
    params = {"id": job_id, "run_id": run_id, "holder": holder, "trigger": trigger, "ttl_ms": ttl_ms}
    return _props(await graph.write(ACQUIRE_RUN, params), "run")


async def renew_run(graph: Graph, job_id: str, run_id: str, ttl_ms: int) -> bool:
    return bool(await graph.write(RENEW_RUN, {"id": job_id, "run_id": run_id, "ttl_ms": ttl_ms}))


async def save_cursor(graph: Graph, job_id: str, run_id: str, cursor: str) -> bool:
    return bool(await graph.write(SAVE_CURSOR, {"id": job_id, "run_id": run_id, "cursor": cursor}))


async def finish_run(graph: Graph, run_id: str, *, status: str, stats: dict[str, Any], error: str | None,
                     retry_at: Any) -> int:
    rows = await graph.write(FINISH_RUN, {"run_id": run_id, "status": status, "stats": stats, "error": error,
                                          "retry_at": retry_at})
    return rows[0]["failures"] if rows else 0


async def close_orphan_runs(graph: Graph, holder: str) -> int:
    rows = await graph.write(CLOSE_ORPHAN_RUNS, {"holder": holder})
    return rows[0]["freed"] if rows else 0


async def filed_items(graph: Graph, job_id: str, source_ids: list[str], *, known: set[str] | None = None) -> set[str]:
    """Which of the ids this job filed; `known` (optional) collects every id it has a record of, filed or not."""
    filed: set[str] = set()
    for start in range(0, len(source_ids), 10_000):
        part = {"job_id": job_id, "ids": source_ids[start:start + 10_000]}
        for row in await graph.read(FILED_ITEMS, part):
            if row["filed"]:
                filed.update(row["ids"])
            if known is not None:
                known.update(row["ids"])
    return filed


async def record_items(graph: Graph, job_id: str, source_ids: list[str], batch_id: str | None, *,
                       known: set[str] | None = None) -> None:
    """Record the ids as filed by `batch_id`. With `known` (the ids that have a record, from `filed_items`), the
    others are created outright; should one exist after all, that part is merged instead."""
    for start in range(0, len(source_ids), 10_000):
        part = source_ids[start:start + 10_000]
        fresh = [sid for sid in part if sid not in known] if known is not None else []
        if fresh:
            try:
                await graph.write(CREATE_ITEMS, {"job_id": job_id, "ids": fresh, "batch_id": batch_id})
            except ConstraintError:
                fresh = []
        created = set(fresh)
        rest = [sid for sid in part if sid not in created]
        if rest:
            await graph.write(RECORD_ITEMS, {"job_id": job_id, "ids": rest, "batch_id": batch_id})


async def acquire_lease(graph: Graph, holder: str, *, host: str, pid: int, ttl_ms: int) -> dict[str, Any]:
    """The lease row: `acquired` says whether `holder` holds it now; else it names the live holder."""
    return (await graph.write(ACQUIRE_LEASE, {"holder": holder, "host": host, "pid": pid, "ttl_ms": ttl_ms}))[0]


async def release_lease(graph: Graph, holder: str) -> None:
    await graph.write(RELEASE_LEASE, {"holder": holder})
