"""Private checks and lead collision over HTTP (issue 15). Bodies are protobuf (the openmined.psi messages).

GET  /v1/psi/setup              the setup's manifest: key id, segments with ETags, age (member analysts)
GET  /v1/psi/setup/{segment}    one segment (a psi ServerSetup), with its ETag; If-None-Match → 304
POST /v1/psi/check              a psi Request → a psi Response; headers X-Fenghuo-PSI-Key-Id, X-Fenghuo-Setup-Age
POST /v1/psi/collide            a peer node's collision request (signed, federation/signing.py)
POST /v1/psi/collide/result     a peer node telling us the overlap it found (signed)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.batches_http import _error
from api.http_auth import principal_for, reader_for
from core.errors import FenghuoError, NotFound
from graph.database import GraphUnavailable
from psi import collision
from psi.check import answer_private_check, setup_manifest
from psi.client import CHECK_PATH, H_KEY_ID, H_SETUP_AGE, SETUP_PATH
from psi.setup import SetupNotReady

OPERATION = "privateCheck"


def _not_ready(error: SetupNotReady) -> JSONResponse:
    return JSONResponse({"errors": [{"message": str(error), "extensions": {"code": "UNAVAILABLE"}}]},
                        status_code=503, headers={"retry-after": "5"})


async def manifest(request: Request) -> Response:
    try:
        body = setup_manifest(reader_for(request, OPERATION), request.app.state.runtime.private_setup)
    except SetupNotReady as error:
        return _not_ready(error)
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)
    return JSONResponse(body, headers={"cache-control": "no-cache"})


async def segment(request: Request) -> Response:
    try:
        principal_for(request, OPERATION)
        found = request.app.state.runtime.private_setup.segment(request.path_params["segment"])
        if found is None:
            raise NotFound("no such setup segment (the setup changed): fetch the manifest again")
    except FenghuoError as error:
        return _error(error)
    headers = {"etag": found.etag, "cache-control": "private, max-age=31536000, immutable"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.message, media_type="application/octet-stream", headers=headers)


async def check(request: Request) -> Response:
    try:
        reader = reader_for(request, OPERATION)
        answer = await answer_private_check(reader, request.app.state.runtime.private_setup, await request.body())
    except SetupNotReady as error:
        return _not_ready(error)
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)
    return Response(answer.response, media_type="application/octet-stream",
                    headers={H_KEY_ID: answer.key_id, H_SETUP_AGE: str(answer.setup_age_seconds)})


async def _peer_call(request: Request, handler) -> Response:
    runtime = request.app.state.runtime
    if runtime.federation is None or not runtime.migrated.is_set():
        return JSONResponse({"errors": [{"message": "this node is starting; retry shortly",
                                         "extensions": {"code": "UNAVAILABLE"}}]}, status_code=503)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        reply = await handler(runtime, method=request.method, path=request.url.path, headers=headers,
                              body=await request.body(), request_id=request.scope.get("request_id", ""))
    except GraphUnavailable as error:
        return _error(error)
    return Response(reply.body, status_code=reply.status, media_type="application/json", headers=reply.headers)


async def collide(request: Request) -> Response:
    return await _peer_call(request, lambda rt, **kw: collision.answer_collision(
        rt.graph, rt.audit, rt.federation, rt.alliance_key, **kw))


async def collide_result(request: Request) -> Response:
    return await _peer_call(request, lambda rt, **kw: collision.record_result(rt.graph, rt.audit, rt.federation, **kw))


routes = [
    Route(SETUP_PATH, manifest, methods=["GET"]),
    Route(SETUP_PATH + "/{segment}", segment, methods=["GET"]),
    Route(CHECK_PATH, check, methods=["POST"]),
    Route(collision.COLLIDE_PATH, collide, methods=["POST"]),
    Route(collision.RESULT_PATH, collide_result, methods=["POST"]),
]
