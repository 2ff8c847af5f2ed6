"""What the alliance knows about a set of indicator keys, as one set-based query (no query per item).

For each key: the indicator's status, the REPORTED aggregates the caller may see (visibility.reported),
its strongest co-occurring neighbours with their visible aggregates (for the bounded neighbour boost),
and the summary of its agent network.
"""

from __future__ import annotations

from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph

_REPORT_FIELDS = f"""{{member_code: m.code, named: {visibility.reported_named("r", "m")}, reliability: coalesce(m.reliability, 1.0), tlp: r.tlp, category: r.category,
  leads: r.leads, max_confidence: r.max_confidence, max_confidence_at: r.max_confidence_at.epochMillis,
  last_confidence: r.last_confidence, last_seen: r.last_seen.epochMillis, first_seen: r.first_seen.epochMillis,
  attributed: coalesce(r.attributed, false)}}"""

# Times leave Neo4j as epoch milliseconds: the driver's hydration of a DateTime costs ~50 µs, a third of a
# 10,000-identifier check's CPU, where an int and datetime.fromtimestamp cost ~1 µs.

CHECK = f"""
UNWIND $keys AS key
OPTIONAL MATCH (i:Indicator {{key: key}})
CALL (i) {{
  OPTIONAL MATCH (m:Member)-[r:REPORTED]->(i)
  WHERE {visibility.reported("r", "m")}
  RETURN [x IN collect(CASE WHEN r IS NOT NULL THEN {_REPORT_FIELDS} END) WHERE x IS NOT NULL] AS reports
}}
CALL (i) {{
  OPTIONAL MATCH (i)-[c:CO_OCCURS]-(n:Indicator)
  WHERE NOT coalesce(n.benign, false) AND coalesce(n.lead_count, 0) <= $hub_cap AND n.status = 'active'
  WITH n, c ORDER BY c.count DESC LIMIT $neighbours
  CALL (n) {{
    OPTIONAL MATCH (m:Member)-[r:REPORTED]->(n)
    WHERE {visibility.reported("r", "m")}
    RETURN [x IN collect(CASE WHEN r IS NOT NULL THEN {_REPORT_FIELDS} END) WHERE x IS NOT NULL] AS reports
  }}
  RETURN [x IN collect(CASE WHEN n IS NOT NULL THEN {{key: n.key, reports: reports}} END) WHERE x IS NOT NULL] AS neighbours
}}
OPTIONAL MATCH (net:Network {{id: i.network_id}}) WHERE {visibility.network("net")}
RETURN key, i IS NOT NULL AS known, i.status AS status, coalesce(i.benign, false) AS benign,
       i.benign_reason AS benign_reason, i.masked AS masked, reports, neighbours,
       CASE WHEN net IS NULL THEN null ELSE net {{.id, .leads, .members, .categories, .cohesion, .oversized}} END AS network
"""


async def lookup(graph: Graph, principal: Principal, keys: list[str], *, hub_cap: int, neighbours: int) -> list[dict[str, Any]]:
    return await graph.read_values(CHECK, {"keys": keys, "hub_cap": hub_cap, "neighbours": neighbours, **visibility.params(principal)})
