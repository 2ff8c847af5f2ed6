"""Members, their API keys and registered official hotlines: every Cypher query about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph

CREATE_MEMBER = """
MERGE (m:Member {code: $code})
ON CREATE SET m.name = $name, m.home_jurisdiction = $home_jurisdiction, m.reliability = $reliability,
              m.created_at = datetime(), m.created = true
ON MATCH SET m.created = false
WITH m, m.created AS created
REMOVE m.created
RETURN m {.code, .name, .home_jurisdiction, .reliability} AS member, created
"""

LIST_MEMBERS = f"""
MATCH (m:Member) WHERE {visibility.operators_only()}
OPTIONAL MATCH (m)-[:OFFICIAL_NUMBER]->(i:Indicator)
WITH m, collect(i.masked) AS hotlines
RETURN m {{.code, .name, .home_jurisdiction, .reliability, hotlines: hotlines}} AS member
ORDER BY m.code
"""

GET_MEMBER = "MATCH (m:Member {code: $code}) RETURN m {.code, .name, .home_jurisdiction, .reliability} AS member"

REGISTER_HOTLINE = """
MATCH (m:Member {code: $code})
MERGE (i:Indicator {key: $key})
ON CREATE SET i.type = $type, i.key_version = $key_version, i.masked = $masked, i.status = 'active',
              i.lead_count = 0, i.member_count = 0
SET i.benign = true, i.benign_reason = $reason
MERGE (m)-[:OFFICIAL_NUMBER]->(i)
RETURN i.masked AS masked
"""

CREATE_KEY = """
MATCH (m:Member {code: $member_code})
CREATE (k:ApiKey {id: $id, prefix: $prefix, secret_hash: $secret_hash, member_code: $member_code, name: $name,
                  roles: $roles, jurisdictions: $jurisdictions, ip_allowlist: $ip_allowlist,
                  expires_at: $expires_at, created_at: datetime()})
CREATE (k)-[:OF_MEMBER]->(m)
RETURN k.id AS id
"""

# The one lookup behind every authenticated request (unique index on prefix).
KEY_BY_PREFIX = """
MATCH (k:ApiKey {prefix: $prefix})
RETURN k {.id, .prefix, .secret_hash, .member_code, .name, .roles, .jurisdictions, .ip_allowlist,
          .expires_at, .revoked_at} AS key
"""

REVOKE_KEY = """
MATCH (k:ApiKey) WHERE k.prefix = $prefix OR k.id = $prefix
SET k.revoked_at = coalesce(k.revoked_at, datetime())
RETURN k.prefix AS prefix, k.member_code AS member_code
"""

LIST_KEYS = f"""
MATCH (k:ApiKey) WHERE {visibility.operators_only()} AND ($member_code IS NULL OR k.member_code = $member_code)
RETURN k {{.id, .prefix, .member_code, .name, .roles, .jurisdictions, .ip_allowlist,
          .expires_at, .revoked_at, .created_at}} AS key
ORDER BY k.created_at
"""


async def create_member(
    graph: Graph, code: str, name: str, home_jurisdiction: str | None, reliability: float = 1.0
) -> tuple[dict[str, Any], bool]:
    rows = await graph.write(
        CREATE_MEMBER,
        {"code": code, "name": name, "home_jurisdiction": home_jurisdiction, "reliability": reliability},
    )
    return rows[0]["member"], rows[0]["created"]


async def list_members(graph: Graph, principal: Principal) -> list[dict[str, Any]]:
    return [row["member"] for row in await graph.read(LIST_MEMBERS, visibility.params(principal))]


async def get_member(graph: Graph, code: str) -> dict[str, Any] | None:
    rows = await graph.read(GET_MEMBER, {"code": code})
    return rows[0]["member"] if rows else None


async def register_hotline(
    graph: Graph, code: str, *, key: str, type: str, key_version: int, masked: str, reason: str
) -> str | None:
    rows = await graph.write(
        REGISTER_HOTLINE,
        {"code": code, "key": key, "type": type, "key_version": key_version, "masked": masked, "reason": reason},
    )
    return rows[0]["masked"] if rows else None


async def create_key(graph: Graph, **properties: Any) -> bool:
    return bool(await graph.write(CREATE_KEY, properties))


async def key_by_prefix(graph: Graph, prefix: str) -> dict[str, Any] | None:
    rows = await graph.read(KEY_BY_PREFIX, {"prefix": prefix})
    return rows[0]["key"] if rows else None


async def revoke_key(graph: Graph, prefix: str) -> dict[str, Any] | None:
    rows = await graph.write(REVOKE_KEY, {"prefix": prefix})
    return rows[0] if rows else None


async def list_keys(graph: Graph, principal: Principal, member_code: str | None = None) -> list[dict[str, Any]]:
    return [row["key"] for row in await graph.read(LIST_KEYS, {"member_code": member_code, **visibility.params(principal)})]


def to_native(value: Any) -> Any:
    """neo4j temporal values → Python datetimes (for comparisons and JSON)."""
    return value.to_native() if hasattr(value, "to_native") else value


def is_past(value: Any, now: datetime) -> bool:
    native = to_native(value)
    return native is not None and native <= now
