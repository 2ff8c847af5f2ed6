"""Reading agent networks, always through graph/visibility.py: list them, draw one, explore around an indicator.

A network summary is shown whole or not at all (`network_visible`): to operators, and to principals allowed
every TLP among its leads, so its counts never leak a lead the reader may not see. Lead nodes go through
`visibility.lead` and `visibility.filer` as every lead read does. Maintenance is graph/networks.py.
"""

from __future__ import annotations

from typing import Any, Sequence

from access.principal import Principal
from check.networks import (
    MAX_NEIGHBOURHOOD_DEPTH, MIN_NETWORK_LEADS, NETWORK_DEGREE_CAP, Drawing, draw_network, lead_node, network_cursor,
    parse_network_cursor,
)
from graph import visibility
from graph.database import Graph
from graph.members import to_native
from graph.networks import linking, network_visible

_SHOWN_CODES = "[c IN n.member_codes WHERE $vis_operator OR c = $vis_member OR c IN n.attributed_codes]"

LIST_NETWORKS = f"""
MATCH (n:Network)
WHERE n.leads >= $min_size AND {network_visible()}
  AND ($category IS NULL OR $category IN n.categories)
  AND ($member IS NULL OR ($member IN n.member_codes
       AND ($vis_operator OR $member = $vis_member OR $member IN n.attributed_codes)))
  AND ($after_size IS NULL OR n.leads < $after_size OR (n.leads = $after_size AND n.id > $after_id))
WITH n ORDER BY n.leads DESC, n.id LIMIT $first
CALL (n) {{
  UNWIND range(0, size(n.top_keys) - 1) AS k
  MATCH (i:Indicator {{key: n.top_keys[k]}})
  RETURN collect(i {{.key, .type, .masked, degree: n.top_degrees[k]}}) AS top
}}
RETURN n {{.id, .leads, .indicators, .members, .categories, .agents, .first_seen, .last_seen, .updated_at,
          member_codes: {_SHOWN_CODES}}} AS network, top
ORDER BY network.leads DESC, network.id
"""

NETWORK_HEADER = f"MATCH (n:Network {{id: $network_id}}) WHERE {network_visible()} RETURN n.leads AS leads"

NETWORK_LEADS = f"""
MATCH (l:Lead {{network_id: $network_id}}) USING INDEX l:Lead(network_id)
WHERE {visibility.lead("l")}
WITH l ORDER BY l.observed_at DESC, l.id LIMIT $limit
RETURN l.id AS id, l.category AS category, l.observed_at AS observed_at, {visibility.filer("l")} AS filer,
       [(l)-[:NAMES]->(i:Indicator {{network_id: $network_id}}) | i {{.key, .type, .masked}}] AS indicators,
       [(l)-[:OPERATED_BY]->(a:Agent {{network_id: $network_id}}) | a {{.id, .label}}] AS agents
"""

# DISTINCT streams, so LIMIT stops early even when the start is a hub named by thousands of leads.
NEIGHBOUR_LEADS = f"""
UNWIND $keys AS key
MATCH (i:Indicator {{key: key}})<-[:NAMES]-(l:Lead) USING INDEX i:Indicator(key)
WHERE NOT l.id IN $seen AND {visibility.lead("l")}
WITH DISTINCT l LIMIT $limit
RETURN l.id AS id, l.category AS category, l.observed_at AS observed_at, {visibility.filer("l")} AS filer,
       [(l)-[:NAMES]->(i:Indicator) WHERE i.key IN $keys | i.key] AS via
"""

LEAD_INDICATORS = f"""
UNWIND $ids AS id
MATCH (:Lead {{id: id}})-[:NAMES]->(i:Indicator) WHERE {linking()}
RETURN id AS lead, i.key AS key, i.type AS type, i.masked AS masked
LIMIT $limit
"""

INDICATOR = "MATCH (i:Indicator {key: $key}) RETURN i.key AS key, i.type AS type, i.masked AS masked"

NETWORK_OF = f"""
UNWIND $keys AS key
MATCH (i:Indicator {{key: key}}) WHERE i.network_id IS NOT NULL
MATCH (n:Network {{id: i.network_id}}) WHERE {network_visible()}
RETURN key, n {{.id, .leads, .members, .categories}} AS network
"""


async def list_networks(graph: Graph, principal: Principal, *, min_size: int = MIN_NETWORK_LEADS,
                        category: str | None = None, member_involved: str | None = None, first: int = 20,
                        after: str | None = None) -> list[dict[str, Any]]:
    """Networks the principal may read, largest first; `after` is the `cursor` of the previous page's last one.

    Members involved are counted; their codes are shown to operators, and otherwise only the caller's own code
    and codes of members who filed with named attribution (filtering by another, unnamed member finds nothing).
    """
    after_size, after_id = parse_network_cursor(after)
    params = {"min_size": max(min_size, MIN_NETWORK_LEADS), "category": category, "member": member_involved,
              "first": max(1, min(first, 200)), "after_size": after_size, "after_id": after_id,
              **visibility.params(principal)}
    networks = []
    for row in await graph.read(LIST_NETWORKS, params):
        n = row["network"]
        networks.append({
            "id": n["id"], "size": n["leads"], "indicators": n["indicators"], "members": n["members"],
            "member_codes": sorted(n["member_codes"]), "categories": sorted(n["categories"]),
            "agents": sorted(n["agents"]), "first_seen": to_native(n["first_seen"]),
            "last_seen": to_native(n["last_seen"]), "updated_at": to_native(n["updated_at"]),
            "cursor": network_cursor(n["leads"], n["id"]),
            "top_indicators": sorted(row["top"], key=lambda i: (-i["degree"], i["key"])),
        })
    return networks


async def network_graph(graph: Graph, principal: Principal, network_id: str, *,
                        limit: int = 500) -> dict[str, Any] | None:
    """Nodes (leads, linking indicators, agents) and edges (NAMES, OPERATED_BY) of one network, most recent leads
    first, at most `limit` nodes; None when there is no such network for this principal."""
    vis = visibility.params(principal)
    header = await graph.read(NETWORK_HEADER, {"network_id": network_id, **vis})
    if not header:
        return None
    limit = max(1, min(limit, 5000))
    rows = await graph.read(NETWORK_LEADS, {"network_id": network_id, "limit": limit, **vis})
    return draw_network(map(_native, rows), limit=limit, total=header[0]["leads"])


async def neighbourhood(graph: Graph, principal: Principal, indicator_key: str, *, depth: int = 2, limit: int = 200,
                        cap: int = NETWORK_DEGREE_CAP) -> dict[str, Any]:
    """What lies around one indicator: hop by hop, the visible leads naming the frontier's indicators and their
    other linking (non-hub) indicators. Depth 1 = the leads naming it and their indicators; at most 3 hops and
    `limit` nodes. Empty when no lead the principal may read names it."""
    depth, limit = max(1, min(depth, MAX_NEIGHBOURHOOD_DEPTH)), max(1, min(limit, 2000))
    vis = visibility.params(principal)
    start = await graph.read(INDICATOR, {"key": indicator_key})
    drawing = Drawing(limit)
    if not start:
        return drawing.result()
    drawing.add_node(indicator_key, kind="indicator", type=start[0]["type"], masked=start[0]["masked"])
    frontier, seen = [indicator_key], []
    for _ in range(depth):
        budget = limit - len(drawing.nodes)
        leads = await graph.read(NEIGHBOUR_LEADS, {"keys": frontier, "seen": seen, "limit": budget + 1, **vis})
        added = [row["id"] for row in leads if drawing.add_node(row["id"], **lead_node(_native(row)))]
        for row in leads:
            for key in row["via"]:
                drawing.add_edge(row["id"], key, "NAMES")
        if not seen and not leads:
            return Drawing(limit).result()  # nothing visible names it: say nothing about it
        seen += added
        if not added:
            break
        frontier = []
        for row in await graph.read(LEAD_INDICATORS, {"ids": added, "cap": cap, "limit": 20 * limit}):
            new = row["key"] not in drawing.nodes
            if drawing.add_node(row["key"], kind="indicator", type=row["type"], masked=row["masked"]):
                drawing.add_edge(row["lead"], row["key"], "NAMES")
                frontier += [row["key"]] if new else []
    return drawing.result()


async def network_of(graph: Graph, principal: Principal, indicator_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The visible network of each indicator that is in one (for checks): one set-based query."""
    rows = await graph.read(NETWORK_OF, {"keys": list(indicator_keys), **visibility.params(principal)})
    return {row["key"]: {"id": n["id"], "size": n["leads"], "members": n["members"],
                         "categories": sorted(n["categories"])} for row in rows for n in [row["network"]]}


def _native(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "observed_at": to_native(row["observed_at"])}
