"""Request guards, outermost first: request id, body size, authentication, rate limit, timeout (api/deadlines.py).

Pure ASGI so that uploads stream through untouched. Every refusal is JSON in the GraphQL error shape with
a stable code, and never a 500.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from access.ratelimit import RateLimiter
from access.service import KEY_RECORDS, authenticate
from api.deadlines import Deadlines
from core.errors import Unauthenticated
from core.settings import Settings
from graph.database import GraphUnavailable

log = logging.getLogger(__name__)

UNLIMITED_TIME_PATHS = ("/v1/batches",)  # uploads stream large files; their size is bounded instead
UPLOAD_PATHS = ("/v1/batches",)  # a lead file's raw body (what `fenghuo upload` streams) has the upload limit
STREAM_PATHS = ("/v1/checks",)  # NDJSON streamed in and out: a day's applications, bounded like an upload


def _streamed(scope: Scope, headers: dict[str, Any]) -> bool:
    return (scope["path"].rstrip("/") in STREAM_PATHS
            and headers.get("content-type", "").split(";")[0].strip() == "application/x-ndjson")


class BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-request-id", request_id.encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        KEY_RECORDS.seconds = settings.auth_cache_seconds
        self.key_records = KEY_RECORDS
        self.deadlines = Deadlines(settings.request_timeout_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")[:64] or os.urandom(16).hex()  # as uuid4().hex, a quarter the cost
        scope["request_id"] = request_id

        limit = self._body_limit(scope, headers)
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "PAYLOAD_TOO_LARGE", f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes", request_id)
            return

        principal = None
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token:
                    raise Unauthenticated("use `Authorization: Bearer <API key>`")
                client = scope.get("client")
                principal = await authenticate(self.app_graph(scope), token, client[0] if client else None,
                                               records=self.key_records)
            except Unauthenticated as error:
                await _refuse(send, 401, error.code, error.message, request_id, {"www-authenticate": "Bearer"})
                return
            except GraphUnavailable:
                await _refuse(send, 503, "UNAVAILABLE", "the intelligence graph is temporarily unavailable; retry shortly", request_id, {"retry-after": "5"})
                return
        scope["principal"] = principal

        who = principal.id if principal else f"ip:{(scope.get('client') or ('?',))[0]}"
        wait = self.limiter.acquire(who)
        if wait > 0:
            await _refuse(send, 429, "RATE_LIMITED", f"rate limit exceeded; retry in {math.ceil(wait)}s", request_id,
                          {"retry-after": str(math.ceil(wait))})
            return

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", request_id.encode())]
            await send(message)

        received = 0

        async def receive_bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            if scope["path"].startswith(UNLIMITED_TIME_PATHS) or _streamed(scope, headers):
                await self.app(scope, receive_bounded, send_with_id)
            else:
                await self.deadlines.run(self.app(scope, receive_bounded, send_with_id))
        except ClientDisconnect:  # nobody to answer; Starlette would log a 500 with a traceback
            log.info("request %s: the client went away before its body was read", request_id)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, "PAYLOAD_TOO_LARGE", f"request body exceeds the limit of {limit} bytes", request_id)
        except TimeoutError:
            log.warning("request %s timed out after %.0fs", request_id, self.settings.request_timeout_seconds)
            if not started:
                await _refuse(send, 504, "TIMEOUT", f"the request took longer than {self.settings.request_timeout_seconds:.0f}s", request_id)

    def _body_limit(self, scope: Scope, headers: dict[str, Any]) -> int:
        """Uploads (multipart anywhere, or any body POSTed to an upload path) get the upload limit; the rest the JSON one."""
        if headers.get("content-type", "").startswith("multipart/form-data"):
            return self.settings.max_upload_bytes
        if scope["method"] == "POST" and (scope["path"].rstrip("/") in UPLOAD_PATHS or _streamed(scope, headers)):
            return self.settings.max_upload_bytes
        return self.settings.max_body_bytes

    @staticmethod
    def app_graph(scope: Scope):  # the runtime lives on the Starlette app
        return scope["app"].state.runtime.graph
