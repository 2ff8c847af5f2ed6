"""Peers: operators register, change and disable the other nodes this node asks and answers."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from access.node_key import key_id
from core.principal import Principal
from audit.log import AuditLog
from audit.reader import Reader
from core.errors import BadInput, Forbidden, NotFound
from federation.client import PeerTarget
from federation.signing import parse_public_key
from graph import peers as repo
from graph.database import Graph

NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_TIMEOUT, MAX_TIMEOUT = 0.05, 60.0


class SharingPolicy(str, Enum):
    """What this node tells a peer: ALLIANCE peers get AMBER, GREEN and CLEAR; EXTERNAL peers GREEN and CLEAR.
    TLP:RED never leaves its node."""

    ALLIANCE = "ALLIANCE"
    EXTERNAL = "EXTERNAL"


def _node_id(value: str) -> str:
    if not NODE_ID.fullmatch(value or ""):
        raise BadInput(f"node id {value!r} is not accepted: 1–64 letters, digits, '.', '_' or '-', starting with a "
                       "letter or digit", field="nodeId")
    return value


def _url(value: str) -> str:
    parts = urlsplit((value or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadInput(f"url {value!r} is not accepted: give the peer's base URL, e.g. https://fenghuo.example.com:8443",
                       field="url")
    try:
        parts.port  # noqa: B018 — raises on a malformed port
    except ValueError:
        raise BadInput(f"url {value!r} has a malformed port", field="url") from None
    return value.strip().rstrip("/")


def _public_key(value: str) -> tuple[str, str]:
    try:
        public = parse_public_key(value)
    except ValueError as error:
        raise BadInput(str(error), field="publicKey") from None
    return value.strip(), key_id(public)


def _timeout(value: float) -> float:
    if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise BadInput(f"timeoutSeconds {value} is out of range: {MIN_TIMEOUT}–{MAX_TIMEOUT} seconds", field="timeoutSeconds")
    return float(value)


def _operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("peers are managed by operators")


async def add_peer(graph: Graph, audit: AuditLog, principal: Principal, *, own_node_id: str, node_id: str, url: str,
                   public_key: str, timeout_seconds: float, sharing: SharingPolicy, enabled: bool = True,
                   request_id: str | None = None) -> dict[str, Any]:
    _operator(principal)
    if _node_id(node_id) == own_node_id:
        raise BadInput(f"{node_id} is this node's own id; a node does not peer with itself", field="nodeId")
    public, kid = _public_key(public_key)
    peer, created = await repo.create(graph, {
        "node_id": node_id, "url": _url(url), "public_key": public, "key_id": kid,
        "timeout_seconds": _timeout(timeout_seconds), "enabled": enabled, "sharing": SharingPolicy(sharing).value,
    })
    if not created:
        raise BadInput(f"peer {node_id} is already registered; change it with updatePeer", field="nodeId")
    audit.record(principal, "peer.add", subject=node_id, request_id=request_id, detail=f"url={peer['url']} key_id={kid}")
    return peer


async def update_peer(graph: Graph, audit: AuditLog, principal: Principal, node_id: str, *, url: str | None = None,
                      public_key: str | None = None, timeout_seconds: float | None = None,
                      sharing: SharingPolicy | None = None, enabled: bool | None = None,
                      request_id: str | None = None) -> dict[str, Any]:
    _operator(principal)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = _url(url)
    if public_key is not None:
        changes["public_key"], changes["key_id"] = _public_key(public_key)
    if timeout_seconds is not None:
        changes["timeout_seconds"] = _timeout(timeout_seconds)
    if sharing is not None:
        changes["sharing"] = SharingPolicy(sharing).value
    if enabled is not None:
        changes["enabled"] = enabled
    peer = await repo.update(graph, node_id, changes)
    if peer is None:
        raise NotFound(f"no peer {node_id} is registered")
    audit.record(principal, "peer.update", subject=node_id, request_id=request_id, detail=",".join(sorted(changes)) or "none")
    return peer


async def list_peers(reader: Reader) -> list[dict[str, Any]]:
    rows = await repo.readable(reader.graph, reader.principal)
    reader.record("peers.read", subject=[row["node_id"] for row in rows], found=bool(rows))
    return rows


async def get_peer(graph: Graph, principal: Principal, node_id: str) -> dict[str, Any]:
    peer = await repo.readable_one(graph, principal, node_id)
    if peer is None:
        raise NotFound(f"no peer {node_id} is registered")
    return peer


def target(peer: dict[str, Any]) -> PeerTarget:
    return PeerTarget(peer["node_id"], peer["url"], parse_public_key(peer["public_key"]), float(peer["timeout_seconds"]))


async def enabled_targets(graph: Graph) -> list[PeerTarget]:
    return [target(peer) for peer in await repo.enabled(graph)]
