"""Sessions of the liaison inbox (/police/): a server-side record per signed-in browser, so signing out and
expiry take effect at once. Only a hash of the cookie's token is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graph.database import Graph
from graph.members import to_native

CREATE_SESSION = """
CREATE (s:PoliceSession {token_hash: $token_hash, key_prefix: $key_prefix, csrf: $csrf, created_at: datetime(),
                         expires_at: $expires_at})
"""

# Sliding expiry: each request that finds a live session extends it.
TOUCH_SESSION = """
MATCH (s:PoliceSession {token_hash: $token_hash}) WHERE s.expires_at > $now
SET s.expires_at = $expires_at
RETURN s {.key_prefix, .csrf} AS session
"""

DELETE_SESSION = "MATCH (s:PoliceSession {token_hash: $token_hash}) DELETE s"
DELETE_EXPIRED = "MATCH (s:PoliceSession) WHERE s.expires_at <= $now DELETE s"

QUERIES = [CREATE_SESSION, TOUCH_SESSION, DELETE_SESSION, DELETE_EXPIRED]


async def create(graph: Graph, *, token_hash: str, key_prefix: str, csrf: str, expires_at: datetime) -> None:
    await graph.write(CREATE_SESSION, {"token_hash": token_hash, "key_prefix": key_prefix, "csrf": csrf,
                                       "expires_at": expires_at})


async def touch(graph: Graph, token_hash: str, now: datetime, expires_at: datetime) -> dict[str, Any] | None:
    rows = await graph.write(TOUCH_SESSION, {"token_hash": token_hash, "now": now, "expires_at": expires_at})
    return {k: to_native(v) for k, v in rows[0]["session"].items()} if rows else None


async def delete(graph: Graph, token_hash: str) -> None:
    await graph.write(DELETE_SESSION, {"token_hash": token_hash})


async def delete_expired(graph: Graph, now: datetime) -> None:
    await graph.write(DELETE_EXPIRED, {"now": now})
