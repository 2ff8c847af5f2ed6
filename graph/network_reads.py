"""Reading agent networks for a principal: the Cypher, each query built from graph/visibility.py.

A network summary is shown whole or not at all (`visibility.network`), so its counts never leak a lead the
reader may not see; lead nodes go through `visibility.lead` and `visibility.filer` as every lead read does; the
start of a neighbourhood through `visibility.indicator`. The audited read functions are networks/reads.py.
"""

from __future__ import annotations

from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph
from graph.communities import PAIR_WEIGHT
from graph.networks import linking

LIST_NETWORKS = f"""
MATCH (n:Network)
WHERE n.leads >= $min_size AND {visibility.network("n")}
  AND ($category IS NULL OR $category IN n.categories)
  AND {visibility.network_member_filter("n", "$member")}
  AND ($after_size IS NULL OR n.leads < $after_size OR (n.leads = $after_size AND n.id > $after_id))
WITH n ORDER BY n.leads DESC, n.id LIMIT $first
CALL (n) {{
  UNWIND range(0, size(n.top_keys) - 1) AS k
  MATCH (i:Indicator {{key: n.top_keys[k]}})
  RETURN collect(i {{.key, .type, .masked, degree: n.top_degrees[k]}}) AS top
}}
RETURN n {{.id, .leads, .indicators, .members, .categories, .agents, .first_seen, .last_seen, .updated_at, .cohesion, .oversized,
          member_codes: {visibility.network_member_codes("n")}}} AS network, top
ORDER BY network.leads DESC, network.id
"""

NETWORK_HEADER = f"""
MATCH (n:Network {{id: $network_id}}) WHERE {visibility.network('n')}
RETURN n.leads AS leads, n.cohesion AS cohesion, coalesce(n.oversized, false) AS oversized
"""

# Why each (visible) lead is in the network: the linking identifiers it shares with other visible members, with
# how many of them and how much each weighs, and the agent labels it shares with them.
NETWORK_MEMBERSHIP = f"""
MATCH (l:Lead {{network_id: $network_id}}) USING INDEX l:Lead(network_id)
WHERE {visibility.lead("l")}
WITH l ORDER BY l.observed_at DESC, l.id LIMIT $limit
CALL (l) {{
  MATCH (l)-[:NAMES]->(i:Indicator)<-[:NAMES]-(o:Lead {{network_id: $network_id}})
  WHERE o <> l AND {linking()} AND {visibility.lead("o")}
  WITH i, collect(o.id) AS others
  RETURN collect({{key: i.key, type: i.type, masked: i.masked, leads: others[..$with_limit], shared_with: size(others),
                  weight: {PAIR_WEIGHT}}}) AS shared
}}
CALL (l) {{
  MATCH (l)-[:OPERATED_BY]->(a:Agent)<-[:OPERATED_BY]-(o:Lead {{network_id: $network_id}})
  WHERE o <> l AND {visibility.lead("o")}
  RETURN collect(DISTINCT a.label) AS agents
}}
RETURN l.id AS lead, shared, agents
"""

# Identifiers the network's visible leads name that are hubs (named by more than `$cap` leads): they link nothing,
# so they are shown as hubs with their degree, never as members. The degree is the leads the reader may count (its
# visible aggregates, as a check counts), not `lead_count`: that counts every member's AMBER and GREEN leads.
NETWORK_HUBS = f"""
MATCH (l:Lead {{network_id: $network_id}}) USING INDEX l:Lead(network_id)
WHERE {visibility.lead("l")}
MATCH (l)-[:NAMES]->(i:Indicator)
WHERE NOT coalesce(i.benign, false) AND coalesce(i.status, 'active') <> 'retracted' AND i.lead_count > $cap
WITH i, count(l) AS here
CALL (i) {{
  OPTIONAL MATCH (vm:Member)-[vr:REPORTED]->(i) WHERE {visibility.reported("vr", "vm")}
  RETURN coalesce(sum(vr.leads), 0) AS degree
}}
RETURN i.key AS key, i.type AS type, i.masked AS masked, degree, here
ORDER BY degree DESC, key LIMIT $limit
"""

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

# Only indicators of leads the caller may read (the ids come from NEIGHBOUR_LEADS, checked again here).
LEAD_INDICATORS = f"""
UNWIND $ids AS id
MATCH (l:Lead {{id: id}})-[:NAMES]->(i:Indicator) WHERE {visibility.lead("l")} AND {linking()}
RETURN id AS lead, i.key AS key, i.type AS type, i.masked AS masked
LIMIT $limit
"""

START_INDICATOR = f"""
MATCH (i:Indicator {{key: $key}}) WHERE {visibility.indicator("i")}
RETURN i.key AS key, i.type AS type, i.masked AS masked
"""

NETWORK_OF = f"""
UNWIND $keys AS key
MATCH (i:Indicator {{key: key}}) WHERE i.network_id IS NOT NULL
MATCH (n:Network {{id: i.network_id}}) WHERE {visibility.network("n")}
RETURN key, n {{.id, .leads, .members, .categories, .cohesion, .oversized}} AS network
"""


async def list_networks(graph: Graph, principal: Principal, *, min_size: int, category: str | None,
                        member: str | None, first: int, after_size: int | None, after_id: str | None) -> list[dict[str, Any]]:
    return await graph.read(LIST_NETWORKS, {
        "min_size": min_size, "category": category, "member": member, "first": first, "after_size": after_size,
        "after_id": after_id, **visibility.params(principal)})


async def network_header(graph: Graph, principal: Principal, network_id: str) -> dict[str, Any] | None:
    rows = await graph.read(NETWORK_HEADER, {"network_id": network_id, **visibility.params(principal)})
    return rows[0] if rows else None


async def network_membership(graph: Graph, principal: Principal, network_id: str, limit: int, cap: int,
                             weights: dict[str, float], pair_cap: int) -> list[dict[str, Any]]:
    return await graph.read(NETWORK_MEMBERSHIP, {"network_id": network_id, "limit": limit, "cap": cap, "w": weights,
                                                 "pair_cap": pair_cap, "with_limit": 20,
                                                 **visibility.params(principal)})


async def network_hubs(graph: Graph, principal: Principal, network_id: str, cap: int, limit: int) -> list[dict[str, Any]]:
    return await graph.read(NETWORK_HUBS, {"network_id": network_id, "cap": cap, "limit": limit,
                                           **visibility.params(principal)})


async def network_leads(graph: Graph, principal: Principal, network_id: str, limit: int) -> list[dict[str, Any]]:
    return await graph.read(NETWORK_LEADS, {"network_id": network_id, "limit": limit, **visibility.params(principal)})


async def start_indicator(graph: Graph, principal: Principal, key: str) -> dict[str, Any] | None:
    rows = await graph.read(START_INDICATOR, {"key": key, **visibility.params(principal)})
    return rows[0] if rows else None


async def neighbour_leads(graph: Graph, principal: Principal, keys: list[str], seen: list[str], limit: int) -> list[dict[str, Any]]:
    return await graph.read(NEIGHBOUR_LEADS, {"keys": keys, "seen": seen, "limit": limit, **visibility.params(principal)})


async def lead_indicators(graph: Graph, principal: Principal, lead_ids: list[str], cap: int, limit: int) -> list[dict[str, Any]]:
    return await graph.read(LEAD_INDICATORS, {"ids": lead_ids, "cap": cap, "limit": limit, **visibility.params(principal)})


async def network_of(graph: Graph, principal: Principal, keys: list[str]) -> list[dict[str, Any]]:
    return await graph.read(NETWORK_OF, {"keys": keys, **visibility.params(principal)})
