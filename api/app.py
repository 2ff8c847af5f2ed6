"""The Starlette application factory: explicit wiring of routes, GraphQL and the process runtime."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api import batches_http, checks_http, federation_http, loopwatch, psi_http, well_known
from api.graphql.endpoint import GRAPHIQL_ASSETS_PATH, GRAPHIQL_DIR, graphql_app
from api.health import healthz
from api.metrics import RequestMetrics
from api.metrics import routes as metrics_routes
from api.middleware import GuardMiddleware
from api.police import routes as police_routes
from api.runtime import Runtime, open_runtime
from core.settings import Settings, get_settings
from escalation.desk import Desk
from federation.node import start_federation
from graph.database import Target, resolve_target
from core.children import die_with_parent
from jobs.process import build_scheduler
from jobs.scheduler import Scheduler
from psi.setup import PrivateSetup


def create_app(settings: Settings, target: Target, *, scheduler: bool = False) -> Starlette:
    """An app bound to one Neo4j target; the driver opens and closes with the app's lifespan.

    `scheduler`: also run the job scheduler in this process (the single-node default of `fenghuo serve`).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, target) as runtime:
            runtime.federation = start_federation(settings)
            app.state.runtime = runtime
            app.state.desk = Desk.open(runtime.graph, runtime.audit, runtime.alliance_key, settings)
            migrator = asyncio.create_task(runtime.keep_migrating())
            runtime.audit.start()
            jobs_task = asyncio.create_task(_schedule_when_migrated(runtime)) if scheduler else None
            # private checks (issue 15): the setup follows the change feed (every 1 s, at once after a batch here)
            runtime.private_setup = PrivateSetup(runtime.graph)
            runtime.batches.after_aggregation.append(runtime.private_setup.after_batch)
            refresher = asyncio.create_task(runtime.private_setup.keep_fresh(runtime.migrated))
            runtime.batches.after_aggregation.insert(0, runtime.check_plan.after_batch)  # before the networks' hook
            planner = asyncio.create_task(runtime.check_plan.keep_fresh(runtime.migrated))
            watcher = asyncio.create_task(loopwatch.watch())  # how late the loop runs, at /metrics
            thresholds = gc.get_threshold()
            gc.freeze()  # see _FROZEN below
            gc.set_threshold(*_SERVING_GC_THRESHOLDS)
            try:
                yield
            finally:
                gc.set_threshold(*thresholds)
                gc.unfreeze()
                refresher.cancel()
                planner.cancel()
                watcher.cancel()
                migrator.cancel()
                if jobs_task is not None:
                    await _stop_scheduler(jobs_task)
                await runtime.federation.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphql_app(settings), methods=["GET", "POST"]),
        *batches_http.routes,
        *checks_http.routes,  # bulk checks, JSON and NDJSON (issue 14)
        Mount(GRAPHIQL_ASSETS_PATH, StaticFiles(directory=GRAPHIQL_DIR), name="graphiql-assets"),
        *police_routes.routes,  # the police liaison inbox (escalation)
        *well_known.routes,
        *federation_http.routes,
        *metrics_routes,  # GET /metrics: requests, jobs and peers (the default prometheus_client registry)
        *psi_http.routes,  # private checks and lead collision (issue 15)
    ]
    middleware = [Middleware(RequestMetrics), Middleware(GuardMiddleware, settings=settings)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


# _FROZEN: what the process holds once started (modules, the GraphQL schema, the runtime: ~200,000 objects the
# collector tracks) is moved out of the collector's sight while the app serves. Otherwise every full collection walks
# it again, and a large call triggers several: a 10,000-identifier check allocates ~100,000 objects that live until
# it answers, and spent 0.3–0.5 s of its ~2 s in two or three full collections (in process, 100k-row graph, 5 Dec
# 2026; 0.1–0.15 s frozen). Garbage the start-up left is kept until shutdown (unfrozen then: an app started in a
# test process leaves nothing behind).
#
# _SERVING_GC_THRESHOLDS: the young generation is collected after 10,000 new container objects instead of
# CPython's 700. A check allocates ~100 tracked objects per identifier (parsed leads, driver records, verdicts, the
# answer) that live until it answers; at 700 the collector walked them again and again while they were in use:
# 240 young, 22 middle and 2 full collections per 10,000-identifier `POST /v1/checks`, 205–300 ms of its 0.80–0.89 s;
# at 10,000, 16 young and 1 middle, 37–71 ms of 0.60–0.73 s (`checkLeads` 1.02–1.31 → 0.82–1.07 s; in process, the
# real lookup, 100k-row graph, 5 Dec 2026). Single checks at 50 connections measured the same or slightly better
# (wrk, API CPU per check 296 against 313 µs, six rounds each). 50,000 did no better for large calls and made the
# empty request 5–8 % dearer while each one still left a reference cycle (api/graphql/pipeline.Executor): garbage
# held between collections crowds the CPU's caches. Cycles wait longer to be freed, by at most one threshold.
#
# The middle generation is collected after 100 young collections instead of 10. What survives a young collection
# is mostly a call still in progress, and a middle collection walks all of it: each cost ~50 ms during a
# 10,000-identifier `checkLeads`, which made 18 young collections and so paid for two (in process, real lookup,
# 100k-row graph, 5 Dec 2026: GC 122–274 ms of the call at 10, 35–50 ms at 100 unless a rare middle one fell in
# it). Single GraphQL checks at 50 connections: API CPU per check 544–755 µs against 591–824 µs at 10 (wrk, six
# 10 s rounds each, interleaved; REST and the empty request unchanged), API RSS 324 MB against 318–462 MB.
_SERVING_GC_THRESHOLDS = (10_000, 100, 10)


def worker_app() -> Starlette:
    """One process of `fenghuo serve --workers N` (uvicorn's factory): settings from the environment the supervisor
    passed on, Neo4j as the supervisor found or started it. It dies with the supervisor. Each worker runs a scheduler
    that waits for the lease, so exactly one schedules and another takes over if that worker dies."""
    die_with_parent(os.getppid())
    settings = get_settings()
    target = resolve_target(settings)
    if target is None:
        raise RuntimeError("no Neo4j to talk to: the supervisor should have started the embedded one")
    return create_app(settings, target, scheduler=settings.serve_scheduler)


# -- scheduled jobs in this process (issue 11) ---------------------------------------------------------------

async def _schedule_when_migrated(runtime: Runtime) -> Scheduler:
    await runtime.migrated.wait()
    scheduler = build_scheduler(runtime.graph, runtime.audit, runtime.batches, runtime.settings, runtime.side,
                                runtime.networks)
    await scheduler.start(wait_for_lease=True)
    return scheduler


async def _stop_scheduler(task: "asyncio.Task[Scheduler]") -> None:
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return
    if task.exception() is None:
        await task.result().stop()
