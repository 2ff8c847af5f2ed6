"""Peers over GraphQL: this node's identity, registered peers with their live figures, and their management."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from api.graphql.context import Info
from audit.reader import Reader
from api.graphql.permissions import require
from federation import peers as peer_service
from federation.breaker import BreakerState as DomainBreakerState
from federation.client import PeerOutcome as DomainOutcome
from federation.flows import check_leads_federated
from graph.members import to_native


@strawberry.enum(description="Whether this node asks (and answers) the peer.")
class PeerState(Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


@strawberry.enum(description="The peer's circuit breaker in this API process.")
class BreakerState(Enum):
    CLOSED = "CLOSED"
    HALF_OPEN = "HALF_OPEN"
    OPEN = "OPEN"


SharingPolicy = strawberry.enum(peer_service.SharingPolicy, description=(
    "What this node tells the peer: ALLIANCE = AMBER, GREEN and CLEAR; EXTERNAL = GREEN and CLEAR. RED never leaves."))


@strawberry.enum(description="How a peer took part in a federated check.")
class PeerOutcomeStatus(Enum):
    ANSWERED = "ANSWERED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@strawberry.type(description="One peer's part in a federated check.")
class PeerOutcome:
    node_id: str
    status: PeerOutcomeStatus
    latency_ms: float | None
    reason: str | None = strawberry.field(description="Why it failed or was skipped")


@strawberry.type(description="This node, as other nodes register it.")
class FederationNode:
    node_id: str
    key_id: str
    public_key: str = strawberry.field(description="Raw Ed25519 public key, base64")


@strawberry.type(description="Another Fenghuo node this node asks and answers.")
class Peer:
    node_id: str
    url: str
    key_id: str
    public_key: str
    timeout_seconds: float
    state: PeerState
    sharing: SharingPolicy
    created_at: datetime | None
    updated_at: datetime | None
    breaker: BreakerState
    requests: int = strawberry.field(description="Requests this API process sent it")
    failures: int
    skipped: int
    last_latency_ms: float | None
    p50_latency_ms: float | None = strawberry.field(description="Over this process's last 200 requests")
    last_error: str | None


@strawberry.input
class AddPeerInput:
    node_id: str
    url: str
    public_key: str = strawberry.field(description="The peer's raw Ed25519 public key, base64 (its `federationNode`)")
    timeout_seconds: float = 2.0
    sharing: SharingPolicy = peer_service.SharingPolicy.EXTERNAL  # type: ignore[assignment]
    enabled: bool = True


@strawberry.input
class UpdatePeerInput:
    url: str | None = None
    public_key: str | None = None
    timeout_seconds: float | None = None
    sharing: SharingPolicy | None = None
    enabled: bool | None = None


def outcome(o: DomainOutcome) -> PeerOutcome:
    return PeerOutcome(node_id=o.node_id, status=PeerOutcomeStatus(o.status.value), latency_ms=o.latency_ms, reason=o.reason)


def _peer(info: Info, row: dict[str, Any]) -> Peer:
    federation = info.context.runtime.federation
    stats = federation.client.stats.get(row["node_id"]) if federation else None
    breaker = stats.breaker.state if stats else DomainBreakerState.CLOSED
    return Peer(
        node_id=row["node_id"], url=row["url"], key_id=row["key_id"], public_key=row["public_key"],
        timeout_seconds=row["timeout_seconds"], state=PeerState.ENABLED if row["enabled"] else PeerState.DISABLED,
        sharing=peer_service.SharingPolicy(row["sharing"]), created_at=to_native(row.get("created_at")),
        updated_at=to_native(row.get("updated_at")), breaker=BreakerState(breaker.value),
        requests=stats.requests if stats else 0, failures=stats.failures if stats else 0,
        skipped=stats.skipped if stats else 0, last_latency_ms=stats.last_latency_ms if stats else None,
        p50_latency_ms=round(stats.latency_percentile(0.5), 2) if stats and stats.latencies_ms else None,
        last_error=stats.last_error if stats else None,
    )


@strawberry.type
class PeerQuery:
    @strawberry.field(description="The peers this node asks and answers, with this process's figures (operators).")
    async def peers(self, info: Info) -> list[Peer]:
        rows = await peer_service.list_peers(info.context.reader(require(info, "peers")))
        return [_peer(info, row) for row in rows]

    @strawberry.field(description="This node's id and public key, to register it on other nodes (operators).")
    def federation_node(self, info: Info) -> FederationNode:
        require(info, "federationNode")
        identity = info.context.runtime.federation.identity
        return FederationNode(node_id=identity.node_id, key_id=identity.key_id, public_key=identity.public_key)


@strawberry.type
class PeerMutation:
    @strawberry.mutation(description="Register a peer node.")
    async def add_peer(self, info: Info, input: AddPeerInput) -> Peer:
        principal = require(info, "addPeer")
        runtime = info.context.runtime
        row = await peer_service.add_peer(
            runtime.graph, runtime.audit, principal, own_node_id=runtime.federation.node_id, node_id=input.node_id,
            url=input.url, public_key=input.public_key, timeout_seconds=input.timeout_seconds,
            sharing=peer_service.SharingPolicy(input.sharing), enabled=input.enabled, request_id=info.context.request_id)
        return _peer(info, row)

    @strawberry.mutation(description="Change a peer's URL, key, timeout, sharing policy or state.")
    async def update_peer(self, info: Info, node_id: str, input: UpdatePeerInput) -> Peer:
        principal = require(info, "updatePeer")
        runtime = info.context.runtime
        row = await peer_service.update_peer(
            runtime.graph, runtime.audit, principal, node_id, url=input.url, public_key=input.public_key,
            timeout_seconds=input.timeout_seconds, enabled=input.enabled,
            sharing=peer_service.SharingPolicy(input.sharing) if input.sharing else None, request_id=info.context.request_id)
        return _peer(info, row)

    @strawberry.mutation(description="Stop asking and answering a peer (kept for audit; enable again with updatePeer).")
    async def disable_peer(self, info: Info, node_id: str) -> Peer:
        principal = require(info, "disablePeer")
        runtime = info.context.runtime
        row = await peer_service.update_peer(runtime.graph, runtime.audit, principal, node_id, enabled=False,
                                             request_id=info.context.request_id)
        return _peer(info, row)


async def federated_check(info: Info, reader: Reader, queries: list) -> tuple[list, list[PeerOutcome]]:
    """checkLeads(scope: FEDERATED): the verdicts (check.service.LeadVerdict) and every peer's outcome."""
    runtime = info.context.runtime
    result = await check_leads_federated(reader, runtime.federation, runtime.alliance_key, queries)
    return result.verdicts, [outcome(o) for o in result.peers]
