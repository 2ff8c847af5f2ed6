"""Peers (other Fenghuo nodes) and the nonces of signed federation requests: every Cypher query about them.

Peer registrations are read by operators only (visibility.operators_only); the federation endpoint reads one
registration to authenticate a caller, which is the node acting for itself, not a principal's read.
"""

from __future__ import annotations

from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph

_FIELDS = "p {.node_id, .url, .public_key, .key_id, .timeout_seconds, .enabled, .sharing, .created_at, .updated_at}"

CREATE_PEER = f"""
MERGE (p:Peer {{node_id: $node_id}})
ON CREATE SET p.url = $url, p.public_key = $public_key, p.key_id = $key_id, p.timeout_seconds = $timeout_seconds,
              p.enabled = $enabled, p.sharing = $sharing, p.created_at = datetime(), p.updated_at = datetime(),
              p.created = true
ON MATCH SET p.created = false
WITH p, p.created AS created
REMOVE p.created
RETURN {_FIELDS} AS peer, created
"""

UPDATE_PEER = f"""
MATCH (p:Peer {{node_id: $node_id}})
SET p += $changes, p.updated_at = datetime()
RETURN {_FIELDS} AS peer
"""

READABLE_PEERS = f"""
MATCH (p:Peer) WHERE {visibility.operators_only()}
RETURN {_FIELDS} AS peer ORDER BY p.node_id
"""

READABLE_PEER = f"""
MATCH (p:Peer {{node_id: $node_id}}) WHERE {visibility.operators_only()}
RETURN {_FIELDS} AS peer
"""

ENABLED_PEERS = f"MATCH (p:Peer) WHERE p.enabled RETURN {_FIELDS} AS peer ORDER BY p.node_id"

CALLER = f"MATCH (p:Peer {{node_id: $node_id}}) RETURN {_FIELDS} AS peer"

REMEMBER_NONCE = """
CREATE (n:FederationNonce {id: $id, expires_at: datetime() + duration({seconds: $keep_seconds})})
"""

PURGE_NONCES = """
MATCH (n:FederationNonce) WHERE n.expires_at < datetime()
WITH n LIMIT 10000 DELETE n RETURN count(*) AS purged
"""


async def create(graph: Graph, peer: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    rows = await graph.write(CREATE_PEER, peer)
    return rows[0]["peer"], rows[0]["created"]


async def update(graph: Graph, node_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    rows = await graph.write(UPDATE_PEER, {"node_id": node_id, "changes": changes})
    return rows[0]["peer"] if rows else None


async def readable(graph: Graph, principal: Principal) -> list[dict[str, Any]]:
    return [row["peer"] for row in await graph.read(READABLE_PEERS, visibility.params(principal))]


async def readable_one(graph: Graph, principal: Principal, node_id: str) -> dict[str, Any] | None:
    rows = await graph.read(READABLE_PEER, {"node_id": node_id, **visibility.params(principal)})
    return rows[0]["peer"] if rows else None


async def enabled(graph: Graph) -> list[dict[str, Any]]:
    """The peers a federated check asks (the node's own configuration, not a principal's read)."""
    return [row["peer"] for row in await graph.read(ENABLED_PEERS)]


async def caller(graph: Graph, node_id: str) -> dict[str, Any] | None:
    """The registration of a node that claims to be calling us, to verify its signature."""
    rows = await graph.read(CALLER, {"node_id": node_id})
    return rows[0]["peer"] if rows else None


async def remember_nonce(graph: Graph, nonce_id: str, keep_seconds: int) -> None:
    """Raises neo4j ConstraintError when the nonce was seen before (a replayed request)."""
    await graph.write(REMEMBER_NONCE, {"id": nonce_id, "keep_seconds": keep_seconds})


async def purge_nonces(graph: Graph) -> int:
    rows = await graph.write(PURGE_NONCES)
    return rows[0]["purged"] if rows else 0
