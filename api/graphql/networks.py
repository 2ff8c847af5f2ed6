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


COHESION = ("Share (0–1) of its leads' link weight that stays inside the network: near 1, one separate gang; "
            "low, a community cut out of a larger web")
OVERSIZED = "Larger than a gang plausibly is and not cohesive: read it as a web of gangs, not one"


@strawberry.type
class TopIndicator:
    type: IndicatorType
    masked: str
    degree: int = strawberry.field(description="How many of the network's leads name it")


@strawberry.type(description="An agent network (graph label :Network): a community (GDS Leiden) of leads linked by "
                             "weighted shared identifiers and declared agent/gang labels, within a connected component.")
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
    cohesion: float | None = strawberry.field(description=COHESION)
    oversized: bool = strawberry.field(description=OVERSIZED)


@strawberry.type(description="The agent network an identifier belongs to, in brief (the whole one is `network(id)`).")
class NetworkSummary:
    id: str
    size: int
    members: int
    categories: list[Category]
    category_labels: list[str]
    cohesion: float | None = strawberry.field(default=None, description=COHESION)
    oversized: bool = strawberry.field(default=False, description=OVERSIZED)


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


@strawberry.type(description="One identifier a lead shares with other leads of its network, and how strongly it links.")
class SharedIdentifier:
    type: IndicatorType
    masked: str
    shared_with: int = strawberry.field(description="Other leads of the network (that you may see) naming it")
    leads: list[str] = strawberry.field(description="Those leads' ids (at most 20)")
    weight: float = strawberry.field(description="Link weight per pair: type weight (device, bank card > phone) "
                                                 "/ ln(1 + leads naming it anywhere)")


@strawberry.type(description="Why a lead is in its network.")
class Membership:
    lead: str
    strength: float = strawberry.field(description="Sum of its shared identifiers' weight × leads shared with")
    shared: list[SharedIdentifier]
    agents: list[str] = strawberry.field(description="Agent labels it declares together with other members")


@strawberry.type(description="An identifier named by too many leads to link them (a hub): shown, never a member.")
class Hub:
    type: IndicatorType
    masked: str
    degree: int = strawberry.field(description="Leads you may see naming it across the alliance (its degree centrality)")
    here: int = strawberry.field(description="This network's leads (that you may see) naming it")


@strawberry.type(description="Nodes and edges of a network for drawing; `truncated` when the limit cut it short.")
class NetworkDrawing:
    nodes: list[DrawingNode]
    edges: list[DrawingEdge]
    truncated: bool
    size: int | None = strawberry.field(default=None, description="Leads in the network (`network` only)")
    cohesion: float | None = strawberry.field(default=None, description=COHESION)
    oversized: bool | None = strawberry.field(default=None, description=OVERSIZED)
    membership: list[Membership] | None = strawberry.field(
        default=None, description="Why each drawn lead is in the network (`network` only)")
    hubs: list[Hub] | None = strawberry.field(default=None, description="Hub identifiers its leads name (`network` only)")


def network_summary(row: dict[str, Any] | None) -> NetworkSummary | None:
    if not row:
        return None
    categories = sorted(row.get("categories") or [])
    return NetworkSummary(id=row["id"], size=row.get("leads") or row.get("size") or 0, members=row.get("members") or 0,
                          categories=all_by_value(Category, categories), category_labels=[category_label(c) for c in categories],
                          cohesion=row.get("cohesion"), oversized=bool(row.get("oversized")))


def _node(node: dict[str, Any]) -> DrawingNode:
    return DrawingNode(
        id=node["id"], kind=DrawingNodeKind(node["kind"]), type=IndicatorType(node["type"]) if node.get("type") else None,
        masked=node.get("masked"), category=Category(node["category"]) if node.get("category") else None,
        observed_at=node.get("observed_at"), filer=node.get("filer"), label=node.get("label"))


def _drawing(result: dict[str, Any]) -> NetworkDrawing:
    membership = result.get("membership")
    return NetworkDrawing(nodes=[_node(node) for node in result["nodes"]],
                          edges=[DrawingEdge(source=e["source"], target=e["target"], type=DrawingEdgeType(e["type"]))
                                 for e in result["edges"]],
                          truncated=result["truncated"], size=result.get("size"), cohesion=result.get("cohesion"),
                          oversized=result.get("oversized"),
                          membership=None if membership is None else [_membership(m) for m in membership],
                          hubs=None if result.get("hubs") is None else [
                              Hub(type=IndicatorType(h["type"]), masked=h["masked"], degree=h["degree"], here=h["here"])
                              for h in result["hubs"]])


def _membership(m: dict[str, Any]) -> Membership:
    return Membership(lead=m["lead"], strength=m["strength"], agents=m["agents"], shared=[
        SharedIdentifier(type=IndicatorType(s["type"]), masked=s["masked"], shared_with=s["shared_with"],
                         leads=s["leads"], weight=round(s["weight"], 4)) for s in m["shared"]])


def _network(r: dict[str, Any]) -> Network:
    return Network(
        id=r["id"], size=r["size"], indicators=r["indicators"], members=r["members"], member_codes=r["member_codes"],
        categories=all_by_value(Category, r["categories"]), category_labels=[category_label(c) for c in r["categories"]],
        agents=r["agents"], first_seen=r["first_seen"], last_seen=r["last_seen"],
        top_indicators=[TopIndicator(type=IndicatorType(t["type"]), masked=t["masked"], degree=t["degree"])
                        for t in r["top_indicators"]],
        cursor=r["cursor"], cohesion=r.get("cohesion"), oversized=r.get("oversized", False))


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
