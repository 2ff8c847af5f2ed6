"""Reading agent networks as a principal may: list them, draw one, explore around an indicator. Every read is
audited here (audit/reader.py); the visibility rules are in the queries (graph/network_reads.py)."""

from __future__ import annotations

from typing import Any, Sequence

from audit.reader import Reader
from core.principal import Principal
from graph import network_reads as repo
from graph.database import Graph
from graph.members import to_native
from networks.drawing import MAX_NEIGHBOURHOOD_DEPTH, Drawing, draw_network, lead_node, network_cursor, parse_network_cursor
from networks.communities import TYPE_WEIGHTS
from networks.linking import MIN_NETWORK_LEADS, NETWORK_DEGREE_CAP, PAIR_DEGREE_CAP

MAX_HUBS = 10


async def list_networks(reader: Reader, *, min_size: int = MIN_NETWORK_LEADS, category: str | None = None,
                        member_involved: str | None = None, first: int = 20, after: str | None = None) -> list[dict[str, Any]]:
    """Networks the principal may read, largest first; `after` is the `cursor` of the previous page's last one.

    Members involved are counted; their codes are shown to operators, and otherwise only the caller's own code
    and codes of members who filed with named attribution (filtering by another, unnamed member finds nothing).
    """
    after_size, after_id = parse_network_cursor(after)
    rows = await repo.list_networks(
        reader.graph, reader.principal, min_size=max(min_size, MIN_NETWORK_LEADS), category=category,
        member=member_involved, first=max(1, min(first, 200)), after_size=after_size, after_id=after_id)
    networks = [_summary(row["network"], row["top"]) for row in rows]
    reader.record("networks.read", subject=[n["id"] for n in networks], found=bool(networks))
    return networks


def _summary(n: dict[str, Any], top: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": n["id"], "size": n["leads"], "indicators": n["indicators"], "members": n["members"],
        "member_codes": sorted(n["member_codes"]), "categories": sorted(n["categories"]),
        "agents": sorted(n["agents"]), "first_seen": to_native(n["first_seen"]),
        "cohesion": n.get("cohesion"), "oversized": bool(n.get("oversized")),
        "last_seen": to_native(n["last_seen"]), "updated_at": to_native(n["updated_at"]),
        "cursor": network_cursor(n["leads"], n["id"]),
        "top_indicators": sorted(top, key=lambda i: (-i["degree"], i["key"])),
    }


async def network_graph(reader: Reader, network_id: str, *, limit: int = 500,
                        cap: int = NETWORK_DEGREE_CAP) -> dict[str, Any] | None:
    """Nodes (leads, linking indicators, agents) and edges (NAMES, OPERATED_BY) of one network, most recent leads
    first, at most `limit` nodes, with its cohesion, each drawn lead's membership explanation and the hubs its
    leads name; None when there is no such network for this principal."""
    header = await repo.network_header(reader.graph, reader.principal, network_id)
    reader.record("network.read", subject=network_id, found=header is not None)
    if header is None:
        return None
    limit = max(1, min(limit, 5000))
    rows = await repo.network_leads(reader.graph, reader.principal, network_id, limit)
    drawing = draw_network(map(_native, rows), limit=limit, total=header["leads"])
    drawn = {node["id"] for node in drawing["nodes"] if node["kind"] == "lead"}
    membership = await repo.network_membership(reader.graph, reader.principal, network_id, limit, cap, TYPE_WEIGHTS,
                                                PAIR_DEGREE_CAP)
    hubs = await repo.network_hubs(reader.graph, reader.principal, network_id, cap, MAX_HUBS)
    return {**drawing, "size": header["leads"], "cohesion": header["cohesion"], "oversized": header["oversized"],
            "membership": [_explained(row) for row in membership if row["lead"] in drawn], "hubs": hubs}


def _explained(row: dict[str, Any]) -> dict[str, Any]:
    shared = sorted(row["shared"], key=lambda s: (-s["weight"] * s["shared_with"], s["key"]))
    strength = sum(s["weight"] * s["shared_with"] for s in shared)
    return {"lead": row["lead"], "shared": shared, "agents": sorted(row["agents"]), "strength": round(strength, 4)}


async def neighbourhood(reader: Reader, indicator_key: str, *, depth: int = 2, limit: int = 200,
                        cap: int = NETWORK_DEGREE_CAP) -> dict[str, Any]:
    """What lies around one indicator: hop by hop, the visible leads naming the frontier's indicators and their
    other linking (non-hub) indicators. Depth 1 = the leads naming it and their indicators; at most 3 hops and
    `limit` nodes. Empty when no lead the principal may read names it."""
    depth, limit = max(1, min(depth, MAX_NEIGHBOURHOOD_DEPTH)), max(1, min(limit, 2000))
    drawing = await _explore(reader.graph, reader.principal, indicator_key, depth, limit, cap)
    reader.record("neighbourhood.read", subject=indicator_key, found=bool(drawing["nodes"]), detail=f"depth={depth}")
    return drawing


async def _explore(graph: Graph, principal: Principal, key: str, depth: int, limit: int, cap: int) -> dict[str, Any]:
    start = await repo.start_indicator(graph, principal, key)
    drawing = Drawing(limit)
    if not start:
        return drawing.result()
    drawing.add_node(key, kind="indicator", type=start["type"], masked=start["masked"])
    frontier, seen = [key], []
    for _ in range(depth):
        budget = limit - len(drawing.nodes)
        leads = await repo.neighbour_leads(graph, principal, frontier, seen, budget + 1)
        added = [row["id"] for row in leads if drawing.add_node(row["id"], **lead_node(_native(row)))]
        for row in leads:
            for via in row["via"]:
                drawing.add_edge(row["id"], via, "NAMES")
        if not seen and not leads:
            return Drawing(limit).result()  # nothing visible names it: say nothing about it
        seen += added
        if not added:
            break
        frontier = []
        for row in await repo.lead_indicators(graph, principal, added, cap, 20 * limit):
            new = row["key"] not in drawing.nodes
            if drawing.add_node(row["key"], kind="indicator", type=row["type"], masked=row["masked"]):
                drawing.add_edge(row["lead"], row["key"], "NAMES")
                frontier += [row["key"]] if new else []
    return drawing.result()


async def network_of(graph: Graph, principal: Principal, indicator_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The visible network of each indicator that is in one (part of a check, which audits the read)."""
    rows = await repo.network_of(graph, principal, list(indicator_keys))
    return {row["key"]: {"id": n["id"], "size": n["leads"], "members": n["members"], "cohesion": n.get("cohesion"),
                         "oversized": bool(n.get("oversized")), "categories": sorted(n["categories"])}
            for row in rows for n in [row["network"]]}


def _native(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "observed_at": to_native(row["observed_at"])}
