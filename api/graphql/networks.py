"""Agent networks over GraphQL: list them, draw one, or draw what lies around one identifier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.graphql.checks import indicator_key_of
from api.graphql.context import Info
from api.graphql.permissions import require
from core.errors import NotFound
from graph import network_reads as repo


@strawberry.type
class TopIndicator:
    type: str
    masked: str
    degree: int = strawberry.field(description="How many of the network's leads name it")


@strawberry.type(description="A network of leads linked by shared identifiers or a declared agent/gang label.")
class AgentNetwork:
    id: str
    size: int = strawberry.field(description="Leads in the network")
    indicators: int
    members: int = strawberry.field(description="Members involved")
    member_codes: list[str] = strawberry.field(description="Codes you may know: yours, attributed ones; all for operators")
    categories: list[str]
    agents: list[str] = strawberry.field(description="Declared agent/gang labels")
    first_seen: datetime | None
    last_seen: datetime | None
    top_indicators: list[TopIndicator]
    cursor: str


@strawberry.type(description="A node to draw: a lead, an indicator (masked) or an agent label.")
class DrawingNode:
    id: str
    kind: str
    type: str | None = None
    masked: str | None = None
    category: str | None = None
    observed_at: datetime | None = None
    filer: str | None = None
    label: str | None = None


@strawberry.type
class DrawingEdge:
    source: str
    target: str
    type: str


@strawberry.type(description="Nodes and edges for drawing; `truncated` when the limit cut it short.")
class NetworkDrawing:
    nodes: list[DrawingNode]
    edges: list[DrawingEdge]
    truncated: bool


def _drawing(result: dict[str, Any]) -> NetworkDrawing:
    nodes = [DrawingNode(**{k: v for k, v in node.items() if k in DrawingNode.__annotations__}) for node in result["nodes"]]
    return NetworkDrawing(nodes=nodes, edges=[DrawingEdge(**edge) for edge in result["edges"]], truncated=result["truncated"])


@strawberry.type
class NetworkQuery:
    @strawberry.field(description="Agent networks you may see, largest first (page with `after` = a network's cursor).")
    async def agent_networks(self, info: Info, min_size: int = 2, category: str | None = None,
                             member_involved: str | None = None, first: int = 20, after: str | None = None) -> list[AgentNetwork]:
        principal = require(info, "agentNetworks")
        rows = await repo.list_networks(info.context.runtime.graph, principal, min_size=min_size, category=category,
                                        member_involved=member_involved, first=first, after=after)
        info.context.audit("networks.read", subject=[row["id"] for row in rows])
        return [AgentNetwork(
            id=r["id"], size=r["size"], indicators=r["indicators"], members=r["members"], member_codes=r["member_codes"],
            categories=r["categories"], agents=r["agents"], first_seen=r["first_seen"], last_seen=r["last_seen"],
            top_indicators=[TopIndicator(type=t["type"], masked=t["masked"], degree=t["degree"]) for t in r["top_indicators"]],
            cursor=r["cursor"]) for r in rows]

    @strawberry.field(description="One network's leads, indicators and agents for drawing (at most `limit` nodes).")
    async def network(self, info: Info, id: str, limit: int = 500) -> NetworkDrawing:
        principal = require(info, "network")
        result = await repo.network_graph(info.context.runtime.graph, principal, id, limit=limit)
        if result is None:
            raise NotFound(f"no network {id} visible to you")
        info.context.audit("network.read", subject=id)
        return _drawing(result)

    @strawberry.field(description="What lies around one identifier, up to `depth` hops (max 3) and `limit` nodes.")
    async def indicator_neighbourhood(self, info: Info, type: str, value: str, depth: int = 2, limit: int = 200) -> NetworkDrawing:
        principal = require(info, "indicatorNeighbourhood")
        key = indicator_key_of(info, type, value)
        info.context.audit("neighbourhood.read", subject=key, detail=f"depth={depth}")
        return _drawing(await repo.neighbourhood(info.context.runtime.graph, principal, key, depth=depth, limit=limit))
