"""One run of one job: take the job's lock, run its connector or housekeeping task, record what happened.

Flow of an ingest run: lock + JobRun (one write, graph/jobs.py) → connector fetches → each payload is filed by
`BatchRunner.submit_file`, its source ids recorded while the batch runs → once it committed, the cursor moves →
the run is closed with its counts, or with a reason an operator can act on and a retry time (exponential backoff).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from core.principal import Principal, Role
from audit.log import AuditLog
from core.settings import Settings
from graph import batches as batches_repo
from graph import jobs as repo
from graph.database import Graph
from graph.sideloop import SideLoop
from graph.sideprocess import SideProcess
from ingest.defaults import BatchDefaults
from ingest.pipeline import BatchRunner, UploadRequest
from jobs import housekeeping, metrics
from jobs.connectors import connector_for
from jobs.connectors.base import Filed, Payload, RunContext, SourceFailed
from jobs.model import Job, RunStatus
from jobs.secrets import SecretBox, SecretsUnreadable

log = logging.getLogger(__name__)

RUN_LOCK_MS = 120_000  # a run renews its lock every third of this; a dead run frees the job after it


def job_principal(job: Job) -> Principal:
    """Who a job files as: an uploader of its member, named after the job in the audit trail."""
    return Principal(id=f"job:{job.name}", member_code=job.member_code or "", roles=frozenset({Role.UPLOADER}),
                     name=f"ingest job {job.name}")


@dataclass
class RunTally:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    items: int = 0
    batch_ids: list[str] = field(default_factory=list)

    def add(self, batch: dict[str, Any], items: int) -> None:
        self.rows += int(batch.get("rows_total") or 0)
        self.accepted += int(batch.get("accepted") or 0)
        self.rejected += int(batch.get("rejected") or 0)
        self.items += items
        self.batch_ids.append(batch["id"])


class JobRunner:
    def __init__(self, graph: Graph, audit: AuditLog, batches: BatchRunner, secrets: SecretBox, settings: Settings,
                 holder: str, side: SideLoop | None = None, networks: SideProcess | None = None) -> None:
        self.graph, self.audit, self.batches, self.secrets = graph, audit, batches, secrets
        self.settings, self.holder = settings, holder
        self.side, self.networks = side, networks  # where a serving process runs long housekeeping (jobs/housekeeping.py)

    async def run(self, job_id: str, trigger: str = "schedule") -> dict[str, Any] | None:
        """The finished run, or None when another run of the job holds its lock (never two at once)."""
        run_id = uuid.uuid4().hex
        run = await repo.acquire_run(self.graph, job_id, run_id, holder=self.holder, trigger=trigger, ttl_ms=RUN_LOCK_MS)
        if run is None:
            log.info("job %s: a run is already in progress; this %s run is skipped", job_id, trigger)
            return None
        node = await repo.find_job(self.graph, job_id)
        job = Job.from_node(node) if node else None
        renewer = asyncio.create_task(self._renew(job_id, run_id))
        started, tally, notes = time.monotonic(), RunTally(), []
        status, error, retry = RunStatus.SUCCEEDED, None, False
        try:
            if job is None:
                raise SourceFailed("the job was deleted", retry=False)
            notes = await self._execute(job, run_id, tally)
        except SourceFailed as failure:
            status, error, retry = RunStatus.FAILED, failure.message, failure.retry
        except SecretsUnreadable as failure:
            status, error = RunStatus.FAILED, str(failure)
        except Exception as failure:  # noqa: BLE001 - the run record must say it failed, whatever failed
            log.exception("job %s run %s failed unexpectedly", job_id, run_id)
            status, error, retry = RunStatus.FAILED, f"internal error ({failure.__class__.__name__}); see the scheduler log", True
        finally:
            renewer.cancel()
        return await self._close(job, run, status, error, retry, tally, notes, time.monotonic() - started)

    async def _execute(self, job: Job, run_id: str, tally: RunTally) -> list[str]:
        if not job.kind.ingests:
            stats = await housekeeping.run(job.kind, self.graph, self.audit, self.settings, job.config, self.side,
                                          self.networks)
            tally.rows = int(stats.pop("rows", 0))
            return [f"{name}: {value}" for name, value in stats.items()]
        known: set[str] = set()  # source ids this job has a record of (filed or not), as the connector asked
        context = RunContext(
            job=job, secrets=self.secrets.open(job.secrets_enc),
            filed_ids=lambda ids: repo.filed_items(self.graph, job.id, ids, known=known),
            file=lambda payload: self._file(job, run_id, payload, tally, known),
            save_cursor=lambda cursor: self._save_cursor(job, run_id, cursor),
        )
        await connector_for(job.kind, self.settings.data_dir / "spool").run(context)
        if context.skipped:
            context.notes.insert(0, f"{context.skipped} source items are not identifiers (counted and skipped)")
        return context.notes

    async def _file(self, job: Job, run_id: str, payload: Payload, tally: RunTally, known: set[str]) -> Filed:
        defaults = BatchDefaults(**{k: job.defaults.get(k) for k in ("category", "tlp", "confidence", "agent")})
        request = UploadRequest(filename=payload.filename, format=payload.format)
        outcome = await self.batches.submit_file(job_principal(job), payload.chunks(), request, wait=False,
                                                 request_id=f"job-run:{run_id}", defaults=defaults or None)
        # The items are recorded while the batch runs; they count as filed once it has committed (graph/jobs.py).
        # The run goes on once the batch is checkable, as an upload answers then; its network upkeep follows.
        _, batch = await asyncio.gather(
            repo.record_items(self.graph, job.id, payload.source_ids, outcome.batch["id"], known=known),
            self.batches.checkable(outcome.batch["id"]))
        batch = batch or outcome.batch
        if batch["status"] == "committed":
            if payload.cursor is not None:
                await self._save_cursor(job, run_id, payload.cursor)
            tally.add(batch, payload.items or len(payload.source_ids))
        report = await batches_repo.report(self.graph, batch["id"]) if job.kind.value == "drop_folder" else []
        return Filed(batch, outcome.created, report)

    async def _save_cursor(self, job: Job, run_id: str, cursor: dict[str, Any]) -> None:
        if not await repo.save_cursor(self.graph, job.id, run_id, json.dumps(cursor, sort_keys=True)):
            raise SourceFailed("this run lost the job's lock (it ran longer than the lock without renewing); "
                               "the next run resumes from the last saved cursor")

    async def _renew(self, job_id: str, run_id: str) -> None:
        while True:
            await asyncio.sleep(RUN_LOCK_MS / 3000)
            try:
                await repo.renew_run(self.graph, job_id, run_id, RUN_LOCK_MS)
            except Exception:  # noqa: BLE001 - a missed renewal is retried; the lock outlives two of them
                log.warning("job %s: could not renew the run lock", job_id)

    async def _close(self, job: Job | None, run: dict[str, Any], status: RunStatus, error: str | None, retry: bool,
                     tally: RunTally, notes: list[str], seconds: float) -> dict[str, Any]:
        failures = (job.failures if job else 0) + 1
        delay = min(self.settings.job_retry_base_seconds * 2 ** (failures - 1), self.settings.job_retry_max_seconds)
        retry_at = datetime.now(timezone.utc) + timedelta(seconds=delay) if status is RunStatus.FAILED and retry else None
        if error and retry_at:
            error = f"{error} (retry {failures} at {retry_at:%Y-%m-%d %H:%M:%S} UTC)"
        stats = {"rows": tally.rows, "accepted": tally.accepted, "rejected": tally.rejected, "items": tally.items,
                 "batch_ids": tally.batch_ids, "notes": notes[:20]}
        failures_now = await repo.finish_run(self.graph, run["id"], status=status.value, stats=stats, error=error,
                                             retry_at=retry_at)
        name = job.name if job else run["job_id"]
        metrics.JOB_RUNS.labels(name, job.kind.value if job else "unknown", status.value).inc()
        metrics.JOB_DURATION.labels(name).observe(seconds)
        metrics.JOB_ROWS.labels(name, "accepted").inc(tally.accepted)
        metrics.JOB_ROWS.labels(name, "rejected").inc(tally.rejected)
        metrics.JOB_FAILURES.labels(name).set(failures_now)
        if status is RunStatus.SUCCEEDED:
            metrics.JOB_LAST_SUCCESS.labels(name).set(time.time())
            log.info("job %s run %s succeeded: %d rows, %d accepted, %d rejected", name, run["id"], tally.rows,
                     tally.accepted, tally.rejected)
        else:
            log.warning("job %s run %s failed: %s", name, run["id"], error)
        return {**run, **stats, "status": status.value, "error": error}
