"""Agent networks as communities, in Neo4j Graph Data Science: the Cypher that projects the weighted lead graph,
runs weakly connected components and Leiden on it, and writes each lead's community back.

The weighted lead graph is never stored: a Cypher aggregation projection (`gds.graph.project` as an aggregating
function) builds it in GDS's memory from (:Lead)-[:NAMES]->(:Indicator)<-[:NAMES]-(:Lead) paths, for the leads of
the given components only (or all of them). A pair of leads weighs the sum, over the linking identifiers they
share, of the identifier type's weight divided by ln(1 + the identifier's lead count) — a shared device or bank card
counts more than a shared phone, and an identifier named by many leads counts less — and, for an identifier named
by more than `$pair_cap` leads, multiplied by `$pair_cap` / its lead count: the degree cap is a gradient, and a
lead's total link weight through one identifier stops growing with the identifier's degree. Such an identifier is
projected as a node of its own, a star (each of its leads linked to it with the weight its pairs through it would
sum to), so an identifier named by 500 leads adds 500 links, not 125,000 pairs. Benign, retracted and hub
identifiers (named by more than `$cap` leads) still link nothing: `graph.networks.linking`. Two leads that declare
the same agent gain `$agent_weight` when they were filed in the same batch, or when they also share an identifier
linked pairwise: an agent label alone never joins leads across batches. Which weights and why is
networks/communities.py; this module only runs queries. Projected identifiers come back from GDS as
`STAR_PREFIX` + key, leads as their id.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neo4j.exceptions import ClientError

from graph.database import Graph
from graph.networks import eligible, linking

STAR_PREFIX = "~"  # a projected identifier's name in GDS's answers (lead ids never start with it)

_TYPE_WEIGHT = """(CASE i.type WHEN 'device' THEN $w.device WHEN 'imei' THEN $w.device WHEN 'oaid' THEN $w.device
  WHEN 'bank_card' THEN $w.bank_card WHEN 'phone' THEN $w.phone WHEN 'id_number' THEN $w.id_number
  ELSE $w.other END) / log(1.0 + coalesce(i.lead_count, 2))"""
# A linking identifier's weight for one pair of leads sharing it.
PAIR_WEIGHT = f"""({_TYPE_WEIGHT} * CASE WHEN coalesce(i.lead_count, 2) > $pair_cap
  THEN toFloat($pair_cap) / i.lead_count ELSE 1.0 END)"""
# One lead's link to an identifier projected as a star: what its pairs through the identifier would sum to.
STAR_WEIGHT = f"({_TYPE_WEIGHT} * $pair_cap)"


def _pairs(scope: str) -> str:
    """Weighted lead pairs (each pair once, a.id < b.id) within `scope`, a predicate on `l` / `o`."""
    return f"""
CALL () {{
  MATCH (l:Lead) WHERE {scope.format(x="l")} AND {eligible("l")}
  MATCH (l)-[:NAMES]->(i:Indicator)<-[:NAMES]-(o:Lead)
  WHERE l.id < o.id AND {linking()} AND coalesce(i.lead_count, 0) <= $pair_cap
    AND {scope.format(x="o")} AND {eligible("o")}
  RETURN l AS a, o AS b, {PAIR_WEIGHT} AS w, l.batch_id = o.batch_id AS same_batch, false AS agent
  UNION ALL
  MATCH (l:Lead) WHERE {scope.format(x="l")} AND {eligible("l")}
  MATCH (l)-[:OPERATED_BY]->(:Agent)<-[:OPERATED_BY]-(o:Lead)
  WHERE l.id < o.id AND {scope.format(x="o")} AND {eligible("o")}
  RETURN l AS a, o AS b, 0.0 AS w, l.batch_id = o.batch_id AS same_batch, true AS agent
}}
WITH a, b, sum(w) AS shared, max(same_batch) AS same_batch, max(agent) AS agent
WITH a, b, shared + CASE WHEN agent AND (same_batch OR shared > 0) THEN $agent_weight ELSE 0.0 END AS weight
WHERE weight > 0
"""


_IN_COMPONENTS = "{x}.component_id IN $components"
_IN_LEADS = "{x}.id IN $leads"
_EVERY = "{x}.component_id IS NOT NULL"

# Nodes without any edge are projected too (as sources with a null target), so WCC and Leiden see every lead.
_PROJECT = """
CALL () {{
  {pairs}
  RETURN a AS source, b AS target, weight
  UNION ALL
  MATCH (l:Lead) WHERE {scope_l} AND {eligible_l}
  MATCH (l)-[:NAMES]->(i:Indicator) WHERE {linking} AND i.lead_count > $pair_cap
  RETURN l AS source, i AS target, {star} AS weight
  UNION ALL
  MATCH (l:Lead) WHERE {scope_l} AND {eligible_l}
  RETURN l AS source, null AS target, null AS weight
}}
WITH gds.graph.project($name, source, target,
       {{relationshipProperties: {{weight: coalesce(weight, 0.0)}}}},
       {{undirectedRelationshipTypes: ['*']}}) AS g
RETURN g.graphName AS name, g.nodeCount AS nodes, g.relationshipCount AS relationships
"""


def _project(scope: str) -> str:
    return _PROJECT.format(pairs=_pairs(scope), scope_l=scope.format(x="l"), eligible_l=eligible("l"),
                           linking=linking(), star=STAR_WEIGHT)


PROJECT_COMPONENTS = _project(_IN_COMPONENTS)
PROJECT_ALL = _project(_EVERY)
PROJECT_LEADS = _project(_IN_LEADS)

GDS_VERSION = "RETURN gds.version() AS version"

DROP_GRAPH = "CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName"


def _name(x: str) -> str:
    """A projected node's name: a lead's id, or an identifier's key after `STAR_PREFIX`."""
    return f"coalesce({x}.id, '{STAR_PREFIX}' + {x}.key)"


WCC = f"""
CALL gds.wcc.stream($name) YIELD nodeId, componentId
WITH nodeId, gds.util.asNode(nodeId) AS n, componentId
RETURN nodeId AS node, {_name('n')} AS lead, componentId AS component
"""
LEIDEN = f"""
CALL gds.leiden.stream($name, {{relationshipWeightProperty: 'weight', gamma: $gamma, randomSeed: 19,
                               concurrency: 1, maxLevels: 10}})
YIELD nodeId, communityId
WITH gds.util.asNode(nodeId) AS n, communityId RETURN {_name('n')} AS lead, communityId AS community
"""

# The projected graph's total link weight (each undirected pair is stored in both directions: counted once).
TOTAL_WEIGHT = """
CALL gds.graph.relationshipProperty.stream($name, 'weight') YIELD sourceNodeId, targetNodeId, propertyValue
WHERE sourceNodeId < targetNodeId
RETURN sum(propertyValue) AS total
"""
# The link weight between groups of nodes, summed in Neo4j: `$of` maps a node id (as a string) to its group's
# number, -1 for a node in no group. One entry per pair of groups that share links (a <= b; a = b: links inside),
# in three parallel lists of one record (one aggregation fills the three collects row by row, so they align).
LINKS = """
CALL gds.graph.relationshipProperty.stream($name, 'weight') YIELD sourceNodeId, targetNodeId, propertyValue
WHERE sourceNodeId < targetNodeId
WITH coalesce($of[toString(sourceNodeId)], -1) AS x, coalesce($of[toString(targetNodeId)], -1) AS y,
     propertyValue AS weight
WITH CASE WHEN x <= y THEN x ELSE y END AS a, CASE WHEN x <= y THEN y ELSE x END AS b, sum(weight) AS weight
WITH collect(a) AS a, collect(b) AS b, collect(weight) AS weight
UNWIND range(0, size(a) - 1, $page) AS from
RETURN a[from..from + $page] AS a, b[from..from + $page] AS b, weight[from..from + $page] AS weight
"""
LINKS_PAGE = 50_000  # pairs per record of LINKS: what the caller holds as Python objects at once
# The weighted edges themselves (the size guard's cohesion test over one small projection): each undirected pair
# comes back in both directions.
EDGES = f"""
CALL gds.graph.relationshipProperty.stream($name, 'weight') YIELD sourceNodeId, targetNodeId, propertyValue
WHERE sourceNodeId < targetNodeId
WITH gds.util.asNode(sourceNodeId) AS n, gds.util.asNode(targetNodeId) AS m, propertyValue AS weight
RETURN {_name('n')} AS a, {_name('m')} AS b, weight
"""


# -- writing communities ------------------------------------------------------------------------------------

SCOPE_LEADS = """
UNWIND $components AS cid MATCH (l:Lead {component_id: cid}) RETURN l.id AS id, l.network_id AS network_id
"""
# How many leads of each component carry each network id (null: none yet): which components must be recomputed
# together (those sharing a network id) and how large each such group is.
SCOPE_SHAPE = """
UNWIND $components AS cid MATCH (l:Lead {component_id: cid})
RETURN cid AS component, l.network_id AS network, count(l) AS leads
"""
ALL_SCOPE_LEADS = """
MATCH (l:Lead) WHERE l.component_id IS NOT NULL OR l.network_id IS NOT NULL
RETURN l.id AS id, l.network_id AS network_id, l.component_id IS NOT NULL AS in_component
"""
ALL_NETWORK_IDS = """
CALL () {
  MATCH (l:Lead) WHERE l.network_id IS NOT NULL RETURN DISTINCT l.network_id AS id
  UNION MATCH (n:Network) RETURN n.id AS id
}
RETURN id
"""
# Leads that left every component (retracted, RED, or alone now) leave their network too.
CLEAR_ORPHANS = """
UNWIND $ids AS nid MATCH (l:Lead {network_id: nid}) WHERE l.component_id IS NULL SET l.network_id = null
"""

# A lead's network is also its linking indicators' and its agents' (an identifier shared by leads of two networks
# takes the network of the lead written last: `network_of` in a check names one of them).
ASSIGN = f"""
UNWIND $rows AS row
MATCH (l:Lead {{id: row.lead}})
SET l.network_id = row.network
WITH l, row
CALL (l, row) {{ MATCH (l)-[:NAMES]->(i:Indicator) WHERE {linking()} SET i.network_id = row.network }}
CALL (l, row) {{ MATCH (l)-[:OPERATED_BY]->(a:Agent) SET a.network_id = row.network }}
"""

# Tested from each node's own relationships, as graph/networks.py's CLEAR_STALE_LINKS (and why).
CLEAR_STALE_LINKS = f"""
CALL () {{
  MATCH (i:Indicator) WHERE i.network_id IN $ids
  WITH i WHERE CASE WHEN {linking()} THEN NOT any(x IN [(i)<-[:NAMES]-(l:Lead) | l.network_id] WHERE x = i.network_id)
                    ELSE true END
  SET i.network_id = null
}}
CALL () {{
  MATCH (a:Agent) WHERE a.network_id IN $ids
    AND NOT any(x IN [(a)<-[:OPERATED_BY]-(l:Lead) | l.network_id] WHERE x = a.network_id)
  SET a.network_id = null
}}
"""

# Summaries; `$facts` maps a network id to {cohesion, oversized} computed from the weighted graph.
REFRESH_SUMMARIES = """
UNWIND $ids AS nid
CALL (nid) {
  MATCH (l:Lead {network_id: nid})
  RETURN count(l) AS leads, collect(DISTINCT l.member_code) AS member_codes, collect(DISTINCT l.tlp) AS tlps,
         collect(DISTINCT CASE WHEN l.attributed THEN l.member_code END) AS attributed_codes,
         collect(DISTINCT l.category) AS categories, min(l.observed_at) AS first_seen, max(l.observed_at) AS last_seen,
         min(l.component_id) AS component
}
WITH * WHERE leads >= $min_leads
CALL (nid) { MATCH (:Lead {network_id: nid})-[:OPERATED_BY]->(a:Agent) RETURN collect(DISTINCT a.label) AS agents }
CALL (nid) {
  MATCH (i:Indicator {network_id: nid})<-[:NAMES]-(l:Lead {network_id: nid})
  WITH i, count(l) AS degree ORDER BY degree DESC, i.key
  RETURN count(i) AS indicators, collect(i.key)[..$top] AS top_keys, collect(degree)[..$top] AS top_degrees
}
MERGE (n:Network {id: nid})
SET n.leads = leads, n.indicators = indicators, n.members = size(member_codes), n.member_codes = member_codes,
    n.attributed_codes = attributed_codes, n.categories = categories, n.agents = agents, n.tlps = tlps,
    n.top_keys = top_keys, n.top_degrees = top_degrees, n.first_seen = first_seen, n.last_seen = last_seen,
    n.component_id = component, n.cohesion = $facts[nid].cohesion, n.oversized = $facts[nid].oversized,
    n.updated_at = datetime()
"""

DROP_EMPTY = """
UNWIND $ids AS nid MATCH (n:Network {id: nid}) WHERE COUNT { (:Lead {network_id: nid}) } < $min_leads
DETACH DELETE n
"""


async def scope_leads(graph: Graph, components: list[str]) -> list[dict[str, Any]]:
    return await graph.read(SCOPE_LEADS, {"components": components})


async def scope_shape(graph: Graph, components: list[str]) -> list[dict[str, Any]]:
    return await graph.read(SCOPE_SHAPE, {"components": components})


async def all_scope_leads(graph: Graph) -> list[dict[str, Any]]:
    return await graph.read(ALL_SCOPE_LEADS)


async def all_network_ids(graph: Graph) -> set[str]:
    return {row["id"] for row in await graph.read(ALL_NETWORK_IDS)}


async def clear_orphans(graph: Graph, ids: list[str]) -> None:
    await graph.write(CLEAR_ORPHANS, {"ids": ids})


async def assign(graph: Graph, rows: list[dict[str, Any]], cap: int) -> None:
    await graph.write(ASSIGN, {"rows": rows, "cap": cap})


async def clear_stale_links(graph: Graph, ids: list[str], cap: int) -> None:
    await graph.write(CLEAR_STALE_LINKS, {"ids": ids, "cap": cap})


async def refresh_summaries(graph: Graph, ids: list[str], facts: dict[str, dict[str, Any]], min_leads: int,
                            top: int) -> None:
    await graph.write(REFRESH_SUMMARIES, {"ids": ids, "facts": facts, "min_leads": min_leads, "top": top})


async def drop_empty(graph: Graph, ids: list[str], min_leads: int) -> None:
    await graph.write(DROP_EMPTY, {"ids": ids, "min_leads": min_leads})


async def gds_version(graph: Graph) -> str:
    return (await graph.read(GDS_VERSION))[0]["version"]


async def project(graph: Graph, name: str, components: list[str] | None, weights: dict[str, float],
                  agent_weight: float, cap: int, pair_cap: int) -> dict[str, Any]:
    query, params = (PROJECT_ALL, {}) if components is None else (PROJECT_COMPONENTS, {"components": components})
    rows = await graph.write(query, {"name": name, "w": weights, "agent_weight": agent_weight, "cap": cap,
                                     "pair_cap": pair_cap, **params})
    return rows[0]


async def project_leads(graph: Graph, name: str, leads: list[str], weights: dict[str, float],
                        agent_weight: float, cap: int, pair_cap: int) -> dict[str, Any]:
    """The weighted graph of just these leads and the star identifiers they name (the size guard re-splits one
    oversized community)."""
    rows = await graph.write(PROJECT_LEADS, {"name": name, "leads": leads, "w": weights, "agent_weight": agent_weight,
                                             "cap": cap, "pair_cap": pair_cap})
    return rows[0]


async def drop(graph: Graph, name: str) -> None:
    await graph.write(DROP_GRAPH, {"name": name})


async def wcc(graph: Graph, name: str) -> tuple[dict[str, int], dict[str, int]]:
    """Each projected node's weakly connected component, and its GDS node id (what `links` groups by)."""
    rows = await graph.read_values(WCC, {"name": name})
    return {row["lead"]: row["component"] for row in rows}, {row["lead"]: row["node"] for row in rows}


async def total_weight(graph: Graph, name: str) -> float:
    return (await graph.read_values(TOTAL_WEIGHT, {"name": name}))[0]["total"] or 0.0


async def links(graph: Graph, name: str, of: dict[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Link weight summed per pair of groups (`of`: GDS node id → group number; -1 for nodes in no group) as three
    parallel arrays: the pairs' two groups (a <= b) and their weight. The projected graph's edges never leave Neo4j,
    only one entry per pair of linked groups does, a page of `LINKS_PAGE` pairs at a time: a chunk of 50,000 leads
    at 1M rows has up to ~730,000 linked pairs, which as Python lists held ~90 MB of the network process at once
    (as a driver record and a dict per pair, ~200 MB of the API process before that)."""
    a, b, weight = [], [], []
    async for page in graph.read_pages(LINKS, {"name": name, "of": {str(node): group for node, group in of.items()},
                                               "page": LINKS_PAGE}):
        a.append(np.array(page["a"], dtype=np.int32))
        b.append(np.array(page["b"], dtype=np.int32))
        weight.append(np.array(page["weight"], dtype=np.float64))
    if not a:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0)
    return np.concatenate(a), np.concatenate(b), np.concatenate(weight)


async def leiden(graph: Graph, name: str, gamma: float) -> dict[str, int]:
    """Each lead's community; empty when GDS 2.13 finds no partition at all (at a high `gamma` on a small graph
    it fails with a NullPointerException on its dendrogram instead of returning singletons)."""
    try:
        rows = await graph.read_values(LEIDEN, {"name": name, "gamma": gamma})
        return {row["lead"]: row["community"] for row in rows}
    except ClientError as error:
        if "dendrogramManager" not in str(error):
            raise
        return {}


async def edges(graph: Graph, name: str) -> list[tuple[str, str, float]]:
    return [(row["a"], row["b"], row["weight"]) for row in await graph.read_values(EDGES, {"name": name})]
