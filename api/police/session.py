"""Signing in to the inbox with a liaison API key: a random session token in an HttpOnly, SameSite=Strict cookie
scoped to /police, a server-side record (graph/police_sessions.py) with sliding expiry, and a CSRF token per
session that every form posts back. Before sign-in, the login form is protected by a double-submit token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from starlette.requests import Request
from starlette.responses import Response

from core.principal import Principal, Role
from access.service import KEY_RECORDS, principal_of
from graph import members as key_repo
from graph import police_sessions as repo
from graph.database import Graph

COOKIE = "fh_police_session"
LOGIN_COOKIE = "fh_police_login"
PATH = "/police"


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict",
                        secure=_secure(request))


async def start(graph: Graph, request: Request, response: Response, principal: Principal, minutes: int) -> None:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    await repo.create(graph, token_hash=_hash(token), key_prefix=principal.id.removeprefix("key:"),
                      csrf=secrets.token_urlsafe(24), expires_at=expires)
    set_cookie(response, request, COOKIE, token, None)  # a browser-session cookie; the server decides expiry
    response.delete_cookie(LOGIN_COOKIE, path=PATH)


async def current(graph: Graph, request: Request, minutes: int) -> Session | None:
    """The signed-in liaison, if the cookie names a live session whose key is still a usable liaison key."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    now = datetime.now(timezone.utc)
    found = await repo.touch(graph, _hash(token), now, now + timedelta(minutes=minutes))
    if found is None:
        return None
    key = await KEY_RECORDS.get(graph, found["key_prefix"])
    if key is None or key["revoked_at"] is not None or key_repo.is_past(key["expires_at"], now):
        await repo.delete(graph, _hash(token))
        return None
    principal = principal_of(key)
    if Role.POLICE_LIAISON not in principal.roles:
        return None
    return Session(principal, found["csrf"], _hash(token))


async def end(graph: Graph, request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        await repo.delete(graph, _hash(token))
    response.delete_cookie(COOKIE, path=PATH)


def csrf_ok(expected: str | None, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def login_token(request: Request) -> tuple[str, bool]:
    """The pre-sign-in double-submit token: the cookie's, or a new one (True) to set."""
    existing = request.cookies.get(LOGIN_COOKIE)
    return (existing, False) if existing else (secrets.token_urlsafe(24), True)
