"""GET /healthz: is Neo4j reachable, which version, are migrations applied. 503 while it is not."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from graph.database import GraphUnavailable


async def healthz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        version = await runtime.graph.server_version()
    except GraphUnavailable as error:
        body = {"status": "unavailable", "neo4j": {"reachable": False, "error": str(error)[:200]}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    migrated = runtime.migrated.is_set()
    body = {
        "status": "ok" if migrated else "starting",
        "neo4j": {"reachable": True, "version": version},
        "migrations": "applied" if migrated else "pending",
    }
    return JSONResponse(body, status_code=200 if migrated else 503)
