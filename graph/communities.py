"""Agent networks as communities, in Neo4j Graph Data Science: the Cypher that projects the weighted lead graph,
runs weakly connected components and Leiden on it, and writes each lead's community back.

The weighted lead graph is never stored: a Cypher aggregation projection (`gds.graph.project` as an aggregating
function) builds it in GDS's memory from (:Lead)-[:NAMES]->(:Indicator)<-[:NAMES]-(:Lead) paths, for the leads of
the given components only (or all of them). A pair of leads weighs the sum, over the linking identifiers they
share, of the identifier type's weight divided by ln(1 + the identifier's lead count) — a shared device or bank card
counts more than a shared phone, and an identifier named by many leads counts less (benign, retracted and over-cap
identifiers still link nothing: `graph.networks.linking`). Two leads that declare the same agent gain
`$agent_weight` when they were filed in the same batch, or when they also share an identifier: an agent label alone
never joins leads across batches. Which weights and why is networks/communities.py; this module only runs queries.
"""

from __future__ import annotations

from typing import Any

from graph.database import Graph
from graph.networks import ELIGIBLE, linking

# A linking identifier's weight for one pair of leads sharing it.
PAIR_WEIGHT = """(CASE i.type WHEN 'device' THEN $w.device WHEN 'imei' THEN $w.device WHEN 'oaid' THEN $w.device
  WHEN 'bank_card' THEN $w.bank_card WHEN 'phone' THEN $w.phone WHEN 'id_number' THEN $w.id_number
  ELSE $w.other END) / log(1.0 + coalesce(i.lead_count, 2))"""


def _pairs(scope: str) -> str:
    """Weighted lead pairs (each pair once, a.id < b.id) within `scope`, a predicate on `l` / `o`."""
    return f"""
CALL () {{
  MATCH (l:Lead) WHERE {scope.format(x="l")} AND {ELIGIBLE.format(x="l")}
  MATCH (l)-[:NAMES]->(i:Indicator)<-[:NAMES]-(o:Lead)
  WHERE l.id < o.id AND {linking()} AND {scope.format(x="o")} AND {ELIGIBLE.format(x="o")}
  RETURN l AS a, o AS b, {PAIR_WEIGHT} AS w, l.batch_id = o.batch_id AS same_batch, false AS agent
  UNION ALL
  MATCH (l:Lead) WHERE {scope.format(x="l")} AND {ELIGIBLE.format(x="l")}
  MATCH (l)-[:OPERATED_BY]->(:Agent)<-[:OPERATED_BY]-(o:Lead)
  WHERE l.id < o.id AND {scope.format(x="o")} AND {ELIGIBLE.format(x="o")}
  RETURN l AS a, o AS b, 0.0 AS w, l.batch_id = o.batch_id AS same_batch, true AS agent
}}
WITH a, b, sum(w) AS shared, max(same_batch) AS same_batch, max(agent) AS agent
WITH a, b, shared + CASE WHEN agent AND (same_batch OR shared > 0) THEN $agent_weight ELSE 0.0 END AS weight
WHERE weight > 0
"""


_IN_COMPONENTS = "{x}.component_id IN $components"
_EVERY = "{x}.component_id IS NOT NULL"

# Nodes without any edge are projected too (as sources with a null target), so WCC and Leiden see every lead.
_PROJECT = """
CALL () {{
  {pairs}
  RETURN a AS source, b AS target, weight
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
    return _PROJECT.format(pairs=_pairs(scope), scope_l=scope.format(x="l"), eligible_l=ELIGIBLE.format(x="l"))


PROJECT_COMPONENTS = _project(_IN_COMPONENTS)
PROJECT_ALL = _project(_EVERY)

GDS_VERSION = "RETURN gds.version() AS version"

DROP_GRAPH = "CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName"

WCC = "CALL gds.wcc.stream($name) YIELD nodeId, componentId RETURN gds.util.asNode(nodeId).id AS lead, componentId AS component"
LEIDEN = """
CALL gds.leiden.stream($name, {relationshipWeightProperty: 'weight', gamma: $gamma, randomSeed: 19,
                               concurrency: 1, maxLevels: 10})
YIELD nodeId, communityId
RETURN gds.util.asNode(nodeId).id AS lead, communityId AS community
"""

# The weighted edges themselves (for cohesion): each undirected pair comes back in both directions.
EDGES = """
CALL gds.graph.relationshipProperty.stream($name, 'weight') YIELD sourceNodeId, targetNodeId, propertyValue
WHERE sourceNodeId < targetNodeId
RETURN gds.util.asNode(sourceNodeId).id AS a, gds.util.asNode(targetNodeId).id AS b, propertyValue AS weight
"""


async def gds_version(graph: Graph) -> str:
    return (await graph.read(GDS_VERSION))[0]["version"]


async def project(graph: Graph, name: str, components: list[str] | None, weights: dict[str, float],
                  agent_weight: float, cap: int) -> dict[str, Any]:
    query, params = (PROJECT_ALL, {}) if components is None else (PROJECT_COMPONENTS, {"components": components})
    rows = await graph.write(query, {"name": name, "w": weights, "agent_weight": agent_weight, "cap": cap, **params})
    return rows[0]


async def drop(graph: Graph, name: str) -> None:
    await graph.write(DROP_GRAPH, {"name": name})


async def wcc(graph: Graph, name: str) -> dict[str, int]:
    return {row["lead"]: row["component"] for row in await graph.read(WCC, {"name": name})}


async def leiden(graph: Graph, name: str, gamma: float) -> dict[str, int]:
    return {row["lead"]: row["community"] for row in await graph.read(LEIDEN, {"name": name, "gamma": gamma})}


async def edges(graph: Graph, name: str) -> list[tuple[str, str, float]]:
    return [(row["a"], row["b"], row["weight"]) for row in await graph.read(EDGES, {"name": name})]
