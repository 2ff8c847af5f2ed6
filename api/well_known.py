"""Public facts about this node at well-known URLs: the Ed25519 key that signs its case packages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from access.node_key import public_key_document


async def node_key(request: Request) -> JSONResponse:
    return JSONResponse(public_key_document(request.app.state.desk.node_key))


routes = [Route("/.well-known/fenghuo/node-key", node_key, methods=["GET"])]
