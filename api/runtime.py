"""What one process holds — settings, the graph driver, the audit log, the alliance key, the batch runner and the
migration state — wired in one place for the API (api/app.py), the admin commands and the demo seed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

from audit.log import AuditLog
from check.coalesce import Coalescer
from check.service import shared_lookups
from federation.node import Federation
from ingest.pipeline import BatchRunner
from core.children import BACKGROUND_NICE
from core.settings import Settings
from graph.database import Graph, GraphUnavailable, Target
from graph.migrate import migrate
from graph import checks as check_repo
from graph.sideloop import SideLoop
from graph.sideprocess import SideProcess
from ingest.pseudonym import AllianceKey, key_from_config, load_or_create_dev_key
from networks.communities import GdsMissing, require_gds
from networks.flows import assign_networks, assign_pending_networks, networks_pending
from psi.setup import PrivateSetup

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    graph: Graph
    alliance_key: AllianceKey
    audit: AuditLog
    batches: BatchRunner
    side: SideLoop  # the audit checkpoint runs there, off the requests' event loop
    networks: SideProcess  # agent-network work runs there, in a process of its own
    migrated: asyncio.Event = field(default_factory=asyncio.Event)
    federation: Federation | None = None  # this node's identity and peer client (issue 12)
    private_setup: PrivateSetup | None = None  # the private-check setup this node serves (issue 15)
    checks: Coalescer = field(init=False)  # concurrent checks share Neo4j lookups (issue 14)
    check_plan: check_repo.PlanKeeper = field(init=False)  # the check query's plan, replanned beside the checks

    def __post_init__(self) -> None:
        self.checks = shared_lookups(self.graph)
        self.check_plan = check_repo.PlanKeeper(self.graph)

    async def keep_migrating(self) -> None:
        """Apply migrations as soon as Neo4j answers; the API starts (and answers 503) even when it does not."""
        delay = 0.5
        while not self.migrated.is_set():
            try:
                applied = await migrate(self.graph)
                if applied:
                    log.info("applied migrations %s", [m.version for m in applied])
                await _warn_without_gds(self.graph)  # issue 16: networks need GDS; say so at start
                await self.check_plan.start()
                resumed = await self.batches.resume_pending()
                assigned = await self.networks.run(assign_pending_networks) if await networks_pending(self.graph) else 0
                if resumed or assigned:
                    log.info("finished %d aggregations and %d network assignments left from the last stop", resumed, assigned)
                self.migrated.set()
            except GraphUnavailable:
                log.warning("Neo4j unavailable; migrations retry in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def _warn_without_gds(graph: Graph) -> None:
    try:
        log.info("Neo4j Graph Data Science %s: agent networks available", await require_gds(graph))
    except GdsMissing as error:
        log.error("%s", error)


def batch_runner(graph: Graph, audit: AuditLog, alliance_key: AllianceKey, data_dir: Path,
                 networks: SideProcess | None = None, worker_nice: int = BACKGROUND_NICE) -> BatchRunner:
    """The lead-batch pipeline, with agent networks updated after each batch is aggregated (in `networks` when
    given: graph/sideprocess.py)."""
    runner = BatchRunner(graph, audit, alliance_key, data_dir / "spool", worker_nice=worker_nice)
    if networks is None:
        runner.after_aggregation.append(assign_networks)
    else:
        async def assign_beside(graph: Graph, batch_id: str) -> object:
            return await networks.run(assign_networks, batch_id)

        runner.after_aggregation.append(assign_beside)
    return runner


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, target: Target, *, announce_key: bool = True) -> AsyncIterator[Runtime]:
    """Everything a process needs to act on the graph; on exit, batches finish, the audit log flushes, the driver closes."""
    graph = Graph.connect(target, settings.neo4j_database)
    audit = AuditLog(graph)
    alliance_key = load_alliance_key(settings, announce=announce_key)
    side = SideLoop(target, settings.neo4j_database, "fenghuo-side")
    networks = SideProcess(target, settings.neo4j_database, "fenghuo-network")
    runtime = Runtime(settings=settings, graph=graph, alliance_key=alliance_key, audit=audit,
                      batches=batch_runner(graph, audit, alliance_key, settings.data_dir, networks,
                                           settings.batch_worker_nice), side=side,
                      networks=networks)
    try:
        yield runtime
    finally:
        try:
            await runtime.batches.close()
        finally:
            await networks.close()
            await side.close()
        await audit.close()
        await graph.close()


def load_alliance_key(settings: Settings, *, announce: bool = True) -> AllianceKey:
    if settings.alliance_key is not None:
        return key_from_config(settings.alliance_key.get_secret_value(), settings.alliance_key_version)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key, created = load_or_create_dev_key(settings.data_dir)
    if announce or created:
        log.warning(
            "using the development alliance key in %s (%s); set FENGHUO_ALLIANCE_KEY to the alliance's shared key "
            "in any real deployment", settings.data_dir / "alliance.key", "created now" if created else "existing"
        )
    return key
