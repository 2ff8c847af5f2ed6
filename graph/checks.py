"""What the alliance knows about a set of indicator keys, as one set-based query (no query per item).

For each key: the indicator's status, the REPORTED aggregates the caller may see (visibility.reported),
its strongest co-occurring neighbours with their visible aggregates (for the bounded neighbour boost),
and the summary of its agent network.
"""

from __future__ import annotations

import asyncio
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
RETURN collect({{key: key, known: i IS NOT NULL, status: i.status, benign: coalesce(i.benign, false),
       benign_reason: i.benign_reason, masked: i.masked, reports: reports, neighbours: neighbours,
       network: CASE WHEN net IS NULL THEN null ELSE net {{.id, .leads, .members, .categories, .cohesion, .oversized}} END}}) AS rows
"""

# A large lookup runs as parts of PART_KEYS keys, PARTS_AT_ONCE at a time: Neo4j runs each part on its own
# thread, and the API reads one part's answer while Neo4j computes the next.
PART_KEYS = 2500
PARTS_AT_ONCE = 4


async def lookup(graph: Graph, principal: Principal, keys: list[str], *, hub_cap: int, neighbours: int) -> list[dict[str, Any]]:
    """One row per key, in the order of `keys`."""
    params = {"hub_cap": hub_cap, "neighbours": neighbours, **visibility.params(principal)}
    if len(keys) <= PART_KEYS:
        return await _part(graph, keys, params)
    gate = asyncio.Semaphore(PARTS_AT_ONCE)

    async def part(chunk: list[str]) -> list[dict[str, Any]]:
        async with gate:
            return await _part(graph, chunk, params)

    parts = await asyncio.gather(*(part(keys[i:i + PART_KEYS]) for i in range(0, len(keys), PART_KEYS)))
    return [row for rows in parts for row in rows]


async def warm_up(graph: Graph) -> None:
    """Plan the check query before the first check arrives (a serving process calls this at start): planning it
    cost the first caller of a fresh server ~1 s. A key that matches nothing; the plan is the same for any caller."""
    nobody = Principal(id="system:warm-up", member_code="", roles=frozenset())
    await lookup(graph, nobody, ["0" * 64], hub_cap=0, neighbours=0)


async def _part(graph: Graph, keys: list[str], params: dict[str, Any]) -> list[dict[str, Any]]:
    # The rows come back as one collected list: the driver's per-record cost (~0.1 ms) is most of a
    # 10,000-row answer's time otherwise.
    answer = await graph.read_values(CHECK, {"keys": keys, **params})
    return answer[0]["rows"]
