"""Agent networks over GraphQL: list them, draw one, or draw what lies around one identifier. Resolvers stay thin:
networks/reads.py applies visibility (through graph/) and audits every read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.enums import (
    Category, DrawingEdgeType, DrawingNodeKind, IdentifierKind, IndicatorType, all_by_value, category_label,
)
from api.graphql.permissions import require
from core.errors import NotFound
from ingest.pseudonym import require_identified
from networks import reads


@strawberry.type
class TopIndicator:
    type: IndicatorType
    masked: str
    degree: int = strawberry.field(description="How many of the network's leads name it")


@strawberry.type(description="An agent network (graph label :Network): leads linked by shared identifiers or a declared agent/gang label.")
class Network:
    id: str
    size: int = strawberry.field(description="Leads in the network")
    indicators: int
    members: int = strawberry.field(description="Members involved")
    member_codes: list[str] = strawberry.field(description="Codes you may know: yours, attributed ones; all for operators")
    categories: list[Category]
    category_labels: list[str] = strawberry.field(description="The categories' Chinese labels, in the same order")
    agents: list[str] = strawberry.field(description="Declared agent/gang labels")
    first_seen: datetime | None
    last_seen: datetime | None
    top_indicators: list[TopIndicator]
    cursor: str


@strawberry.type(description="The agent network an identifier belongs to, in brief (the whole one is `network(id)`).")
class NetworkSummary:
    id: str
    size: int
    members: int
    categories: list[Category]
    category_labels: list[str]


@strawberry.type(description="A node to draw: a lead, an indicator (masked) or an agent label.")
class DrawingNode:
    id: str
    kind: DrawingNodeKind
    type: IndicatorType | None = None
    masked: str | None = None
    category: Category | None = None
    observed_at: datetime | None = None
    filer: str | None = None
    label: str | None = None


@strawberry.type
class DrawingEdge:
    source: str
    target: str
    type: DrawingEdgeType


@strawberry.type(description="Nodes and edges of a network for drawing; `truncated` when the limit cut it short.")
class NetworkDrawing:
    nodes: list[DrawingNode]
    edges: list[DrawingEdge]
    truncated: bool


def network_summary(row: dict[str, Any] | None) -> NetworkSummary | None:
    if not row:
        return None
    categories = sorted(row.get("categories") or [])
    return NetworkSummary(id=row["id"], size=row.get("leads") or row.get("size") or 0, members=row.get("members") or 0,
                          categories=all_by_value(Category, categories), category_labels=[category_label(c) for c in categories])


def _node(node: dict[str, Any]) -> DrawingNode:
    return DrawingNode(
        id=node["id"], kind=DrawingNodeKind(node["kind"]), type=IndicatorType(node["type"]) if node.get("type") else None,
        masked=node.get("masked"), category=Category(node["category"]) if node.get("category") else None,
        observed_at=node.get("observed_at"), filer=node.get("filer"), label=node.get("label"))


def _drawing(result: dict[str, Any]) -> NetworkDrawing:
    return NetworkDrawing(nodes=[_node(node) for node in result["nodes"]],
                          edges=[DrawingEdge(source=e["source"], target=e["target"], type=DrawingEdgeType(e["type"]))
                                 for e in result["edges"]],
                          truncated=result["truncated"])


def _network(r: dict[str, Any]) -> Network:
    return Network(
        id=r["id"], size=r["size"], indicators=r["indicators"], members=r["members"], member_codes=r["member_codes"],
        categories=all_by_value(Category, r["categories"]), category_labels=[category_label(c) for c in r["categories"]],
        agents=r["agents"], first_seen=r["first_seen"], last_seen=r["last_seen"],
        top_indicators=[TopIndicator(type=IndicatorType(t["type"]), masked=t["masked"], degree=t["degree"])
                        for t in r["top_indicators"]],
        cursor=r["cursor"])


@strawberry.type
class NetworkQuery:
    @strawberry.field(description="Agent networks you may see, largest first (page with `after` = a network's cursor).")
    async def agent_networks(self, info: Info, min_size: int = 2, category: str | None = None,
                             member_involved: str | None = None, first: int = 20, after: str | None = None) -> list[Network]:
        reader = info.context.reader(require(info, "agentNetworks"))
        rows = await reads.list_networks(reader, min_size=min_size, category=category, member_involved=member_involved,
                                         first=first, after=after)
        return [_network(row) for row in rows]

    @strawberry.field(description="One network's leads, indicators and agents for drawing (at most `limit` nodes).")
    async def network(self, info: Info, id: str, limit: int = 500) -> NetworkDrawing:
        reader = info.context.reader(require(info, "network"))
        result = await reads.network_graph(reader, id, limit=limit)
        if result is None:
            raise NotFound(f"no network {id} visible to you")
        return _drawing(result)

    @strawberry.field(description="What lies around one identifier, up to `depth` hops (max 3) and `limit` nodes.")
    async def indicator_neighbourhood(self, info: Info, type: IdentifierKind, value: str, depth: int = 2,
                                      limit: int = 200) -> NetworkDrawing:
        reader = info.context.reader(require(info, "indicatorNeighbourhood"))
        key = require_identified(info.context.runtime.alliance_key, type.value, value).key
        return _drawing(await reads.neighbourhood(reader, key, depth=depth, limit=limit))
