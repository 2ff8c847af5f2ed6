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
from federation.node import start_federation
from api.middleware import GuardMiddleware
from api.runtime import Runtime, load_alliance_key
from audit.log import AuditLog
from graph.networks import assign_networks
from ingest.pipeline import BatchRunner
from core.settings import Settings
from graph.database import Graph, Target


def create_app(settings: Settings, target: Target) -> Starlette:
    """An app bound to one Neo4j target; the driver opens and closes with the app's lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        graph = Graph.connect(target, settings.neo4j_database)
        audit = AuditLog(graph)
        alliance_key = load_alliance_key(settings)
        batches = BatchRunner(graph, audit, alliance_key, settings.data_dir / "spool")
        batches.after_aggregation.append(assign_networks)
        runtime = Runtime(settings=settings, graph=graph, alliance_key=alliance_key, audit=audit, batches=batches)
        runtime.federation = start_federation(settings)  # federation (issue 12)
        app.state.runtime = runtime
        migrator = asyncio.create_task(runtime.keep_migrating())
        audit.start()
        try:
            yield
        finally:
            migrator.cancel()
            await batches.close()
            await runtime.federation.close()  # federation (issue 12)
            await audit.close()
            await graph.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphql_app(settings), methods=["GET", "POST"]),
        *batches_http.routes,
        *federation_http.routes,  # federation (issue 12)
        federation_http.metrics_route,  # /metrics (federation metrics; the default prometheus_client registry)
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(GuardMiddleware, settings=settings)])
