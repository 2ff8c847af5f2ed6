"""Wiring of a scheduler: the runner and the scheduler over a process's graph, audit log and batch runner."""

from __future__ import annotations

from audit.log import AuditLog
from core.settings import Settings
from graph.database import Graph
from graph.sideloop import SideLoop
from graph.sideprocess import SideProcess
from ingest.pipeline import BatchRunner
from jobs.runner import JobRunner
from jobs.scheduler import Scheduler, new_holder
from jobs.secrets import SecretBox


def build_scheduler(graph: Graph, audit: AuditLog, batches: BatchRunner, settings: Settings,
                    side: SideLoop | None = None, networks: SideProcess | None = None) -> Scheduler:
    runner = JobRunner(graph, audit, batches, SecretBox.from_settings(settings), settings, new_holder(), side, networks)
    return Scheduler(graph, runner, lease_seconds=settings.scheduler_lease_seconds,
                     poll_seconds=settings.scheduler_poll_seconds)
