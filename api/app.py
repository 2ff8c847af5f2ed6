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
from api.health import healthz
from api import federation_http
from api import psi_http
from federation.node import start_federation
from api.middleware import GuardMiddleware
from api.runtime import open_runtime
from core.settings import Settings
from psi.setup import PrivateSetup
from graph.database import Target


def create_app(settings: Settings, target: Target) -> Starlette:
    """An app bound to one Neo4j target; the driver opens and closes with the app's lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, target) as runtime:
            runtime.federation = start_federation(settings)
            app.state.runtime = runtime
            migrator = asyncio.create_task(runtime.keep_migrating())
            runtime.audit.start()
            # private checks (issue 15): the setup refreshes after every aggregated batch and every 30 s
            runtime.private_setup = PrivateSetup(runtime.graph)
            runtime.batches.after_aggregation.append(runtime.private_setup.after_batch)
            refresher = asyncio.create_task(runtime.private_setup.keep_fresh(runtime.migrated))
            try:
                yield
            finally:
                refresher.cancel()
                migrator.cancel()
                await runtime.federation.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphql_app(settings), methods=["GET", "POST"]),
        *batches_http.routes,
        *federation_http.routes,
        *psi_http.routes,  # private checks and lead collision (issue 15)
        federation_http.metrics_route,  # /metrics (the default prometheus_client registry)
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(GuardMiddleware, settings=settings)])
