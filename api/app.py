"""The Starlette application factory: explicit wiring of routes, GraphQL and the process runtime."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api.graphql.endpoint import graphql_app
from api import batches_http
from api.metrics import RequestMetrics
from api.metrics import routes as metrics_routes
from api.health import healthz
from api.middleware import GuardMiddleware
from api.runtime import Runtime, load_alliance_key
from audit.log import AuditLog
from graph.networks import assign_networks
from ingest.pipeline import BatchRunner
from core.settings import Settings
from graph.database import Graph, Target
from jobs.process import build_scheduler
from jobs.scheduler import Scheduler


def create_app(settings: Settings, target: Target, *, scheduler: bool = False) -> Starlette:
    """An app bound to one Neo4j target; the driver opens and closes with the app's lifespan.

    `scheduler`: also run the job scheduler in this process (the single-node default of `fenghuo serve`).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        graph = Graph.connect(target, settings.neo4j_database)
        audit = AuditLog(graph)
        alliance_key = load_alliance_key(settings)
        batches = BatchRunner(graph, audit, alliance_key, settings.data_dir / "spool")
        batches.after_aggregation.append(assign_networks)
        runtime = Runtime(settings=settings, graph=graph, alliance_key=alliance_key, audit=audit, batches=batches)
        app.state.runtime = runtime
        migrator = asyncio.create_task(runtime.keep_migrating())
        audit.start()
        jobs_task = asyncio.create_task(_schedule_when_migrated(runtime)) if scheduler else None
        try:
            yield
        finally:
            migrator.cancel()
            if jobs_task is not None:
                await _stop_scheduler(jobs_task)
            await batches.close()
            await audit.close()
            await graph.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphql_app(settings), methods=["GET", "POST"]),
        *batches_http.routes,
        *metrics_routes,
    ]
    middleware = [Middleware(RequestMetrics), Middleware(GuardMiddleware, settings=settings)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


# -- scheduled jobs in this process (issue 11) ---------------------------------------------------------------

async def _schedule_when_migrated(runtime: Runtime) -> Scheduler:
    await runtime.migrated.wait()
    scheduler = build_scheduler(runtime.graph, runtime.audit, runtime.batches, runtime.settings)
    await scheduler.start(wait_for_lease=True)
    return scheduler


async def _stop_scheduler(task: "asyncio.Task[Scheduler]") -> None:
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return
    if task.exception() is None:
        await task.result().stop()
