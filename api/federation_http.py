"""Node-to-node HTTP: `POST /v1/federation/check` (signed; see federation/signing.py) and Prometheus `/metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.answer import handle_check
from federation.client import CHECK_PATH
from graph.database import GraphUnavailable


async def federation_check(request: Request) -> Response:
    runtime = request.app.state.runtime
    if runtime.federation is None or not runtime.migrated.is_set():
        return JSONResponse({"errors": [{"message": "this node is starting; retry shortly",
                                         "extensions": {"code": "UNAVAILABLE"}}]}, status_code=503)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        reply = await handle_check(runtime.graph, runtime.audit, runtime.federation, runtime.alliance_key,
                                   method=request.method, path=request.url.path, headers=headers, body=body,
                                   request_id=request.scope.get("request_id", ""))
    except GraphUnavailable:
        return JSONResponse({"errors": [{"message": "the intelligence graph is temporarily unavailable; retry shortly",
                                         "extensions": {"code": "UNAVAILABLE"}}]}, status_code=503)
    return Response(reply.body, status_code=reply.status, media_type="application/json", headers=reply.headers)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [Route(CHECK_PATH, federation_check, methods=["POST"])]
metrics_route = Route("/metrics", metrics, methods=["GET"])
