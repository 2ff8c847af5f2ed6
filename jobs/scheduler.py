"""The one scheduling process: a lease in Neo4j, an in-memory APScheduler rebuilt from the graph, run requests.

APScheduler 3.x job stores must never be shared, so exactly one process schedules: it holds `SchedulerLease`,
renewed every poll. A second `fenghuo scheduler` is refused and told who holds it; `fenghuo serve` (single node)
waits in the background and takes over when the holder's lease expires. Every poll the holder also compares
each job's version (changes made through the API or CLI), takes run requests, and starts retries that are due.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timezone
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from graph import jobs as repo
from graph.database import Graph, GraphUnavailable
from jobs import metrics
from jobs.model import Job
from jobs.runner import JobRunner
from jobs.service import install_builtin_jobs

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 300


class LeaseHeld(RuntimeError):
    """Another live process schedules; the message names it."""


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def describe_holder(lease: dict[str, Any]) -> str:
    expires = max(0, int(lease.get("expires_in_ms") or 0)) / 1000
    return (f"{lease.get('holder')} (host {lease.get('host')}, pid {lease.get('pid')}, since {lease.get('since')}); "
            f"its lease expires in {expires:.0f} s unless it renews it")


class Scheduler:
    def __init__(self, graph: Graph, runner: JobRunner, *, lease_seconds: float, poll_seconds: float) -> None:
        self.graph, self.runner = graph, runner
        self.holder = runner.holder
        self.lease_ms = int(lease_seconds * 1000)
        self.poll_seconds = poll_seconds
        self.aps = AsyncIOScheduler(timezone="Asia/Shanghai",
                                    job_defaults={"coalesce": True, "max_instances": 1,
                                                  "misfire_grace_time": MISFIRE_GRACE_SECONDS})
        self.leading = False
        self._signature: tuple[Any, ...] | None = None
        self._runs: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def try_lease(self) -> dict[str, Any]:
        lease = await repo.acquire_lease(self.graph, self.holder, host=socket.gethostname(), pid=os.getpid(),
                                         ttl_ms=self.lease_ms)
        metrics.SCHEDULER_LEADER.set(1 if lease["acquired"] else 0)
        return lease

    async def start(self, *, wait_for_lease: bool) -> None:
        """Take the lease (or raise LeaseHeld unless `wait_for_lease`), then schedule until `stop`."""
        lease = await self.try_lease()
        if not lease["acquired"] and not wait_for_lease:
            raise LeaseHeld(f"another scheduler holds the lease: {describe_holder(lease)}")
        if not lease["acquired"]:
            log.warning("scheduler: another process schedules (%s); this one takes over if that lease expires",
                        describe_holder(lease))
        else:
            await self._lead()
        self.aps.start(paused=not self.leading)
        self._loop = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        if self._loop:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        if self.aps.running:
            self.aps.shutdown(wait=False)
        for task in list(self._runs):
            task.cancel()
        await asyncio.gather(*self._runs, return_exceptions=True)
        if self.leading:
            try:
                await repo.release_lease(self.graph, self.holder)
            except GraphUnavailable:
                log.warning("scheduler: could not release the lease; it expires by itself")
        metrics.SCHEDULER_LEADER.set(0)

    async def _lead(self) -> None:
        self.leading = True
        installed = await install_builtin_jobs(self.graph)
        freed = await repo.close_orphan_runs(self.graph, self.holder)
        log.info("scheduler %s holds the lease (%d housekeeping jobs installed, %d runs of a previous holder closed)",
                 self.holder, installed, freed)
        self._signature = None

    async def _poll_forever(self) -> None:
        while True:
            try:
                await self.poll()
            except GraphUnavailable:
                log.warning("scheduler: Neo4j unavailable; retrying in %.0f s", self.poll_seconds)
            except Exception:  # noqa: BLE001 - one bad poll must not stop scheduling
                log.exception("scheduler: poll failed")
            await asyncio.sleep(self.poll_seconds)

    async def poll(self) -> None:
        lease = await self.try_lease()
        if not lease["acquired"]:
            if self.leading:
                log.error("scheduler: lost the lease to %s; scheduling paused", describe_holder(lease))
                self.leading = False
                self.aps.pause()
            return
        if not self.leading:
            await self._lead()
            self.aps.resume()
        jobs = [Job.from_node(node) for node in await repo.all_jobs(self.graph)]
        signature = tuple((j.id, j.version, j.paused) for j in jobs)
        if signature != self._signature:
            self._sync(jobs)
            self._signature = signature
        for job_id in await repo.take_run_requests(self.graph):
            self._start_run(job_id, "manual")
        now = datetime.now(timezone.utc)
        for job in jobs:
            if job.retry_at and job.retry_at <= now and not job.paused and not self._busy(job.id):
                self._start_run(job.id, "retry")

    def _sync(self, jobs: list[Job]) -> None:
        """Rebuild the in-memory job store from the graph's definitions."""
        wanted = {job.id: job for job in jobs if not job.paused}
        for scheduled in self.aps.get_jobs():
            if scheduled.id not in wanted:
                scheduled.remove()
        for job in wanted.values():
            self.aps.add_job(self._fire, trigger=job.schedule.trigger(), args=[job.id], id=job.id, name=job.name,
                             replace_existing=True)
        log.info("scheduler: %d jobs scheduled, %d paused", len(wanted), len(jobs) - len(wanted))

    async def _fire(self, job_id: str) -> None:
        if not self._busy(job_id):
            self._start_run(job_id, "schedule")

    def _busy(self, job_id: str) -> bool:
        return any(task.get_name() == f"job-run:{job_id}" for task in self._runs)

    def _start_run(self, job_id: str, trigger: str) -> None:
        task = asyncio.create_task(self._run(job_id, trigger), name=f"job-run:{job_id}")
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(self, job_id: str, trigger: str) -> None:
        result = await self.runner.run(job_id, trigger)
        if result is None and trigger == "manual":
            await repo.request_run(self.graph, job_id)  # still running: run again once it finished

    async def wait_idle(self) -> None:
        await asyncio.gather(*list(self._runs), return_exceptions=True)
