"""What the alliance knows about a set of indicator keys, as one set-based query (no query per item).

For each key: the indicator's status, the REPORTED aggregates the caller may see (visibility.reported),
its strongest co-occurring neighbours with their visible aggregates (for the bounded neighbour boost),
and the summary of its agent network.

A neighbour is an indicator named together with the checked one by a lead the caller's aggregates count
(visibility.counted_lead), ranked by how many such leads name both: links are drawn at check time, through the
leads, so a TLP:RED lead of another member or a retracted lead links nothing, as it counts nothing. Neighbours
are sought only for an indicator the caller sees named by 1 to `hub_cap` leads (a boost needs a base, and a hub's
leads are not walked per check), and only neighbours the caller sees named by 1 to `hub_cap` leads lend a boost;
both counts are the caller's (the sums of its visible aggregates), so what it may not see changes neither.
Candidates are ranked before their aggregates are read, and read in rank order until `neighbours` pass the cap
(rows keep their order through the subquery and the filter): a phone of a planted gang, named with ~100 others,
reads ~5 neighbours' aggregates, not 100. On the 100k bench graph (6 Dec 2026, scratch, 10,000 keys in parts as a
check sends them): 0.47 s against 0.56 s reading every candidate's, and 0.60 s for the CO_OCCURS query it replaced.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable

from core.principal import Principal
from graph import visibility
from graph.database import Graph

_REPORT_FIELDS = f"""{{member_code: m.code, named: {visibility.reported_named("r", "m")}, reliability: coalesce(m.reliability, 1.0), tlp: r.tlp, category: r.category,
  leads: r.leads, max_confidence: r.max_confidence, max_confidence_at: r.max_confidence_at.epochMillis,
  last_confidence: r.last_confidence, last_seen: r.last_seen.epochMillis, first_seen: r.first_seen.epochMillis,
  attributed: coalesce(r.attributed, false)}}"""

# Times leave Neo4j as epoch milliseconds: the driver's hydration of a DateTime costs ~50 µs, a third of a
# 10,000-identifier check's CPU, where an int and datetime.fromtimestamp cost ~1 µs.

# A neighbour lends a check only its base (check/service._neighbour_base), so its aggregates come back as lists of
# what the base is computed from, in this order. They are two in three of the aggregates a check reads (the
# benchmark's 10,000 phones: ~8,600 of the phones' own, ~18,000 of their neighbours'); as 12-key maps they were
# the larger part of what Neo4j wrote and the API decoded.
NEIGHBOUR_REPORT = {"member_code": "m.code", "category": "r.category", "reliability": "coalesce(m.reliability, 1.0)",
                    "max_confidence": "r.max_confidence", "max_confidence_at": "r.max_confidence_at.epochMillis",
                    "last_confidence": "r.last_confidence", "last_seen": "r.last_seen.epochMillis"}
_NEIGHBOUR_FIELDS = "[" + ", ".join(NEIGHBOUR_REPORT.values()) + "]"

# The keys come inside a map, $part, as the visibility parameters do (visibility.params): a list parameter's size,
# rounded up to a power of ten, is part of the plan's cache key, and coalesced checks (1 to ~50 keys) and the
# parts of a large check (up to PART_KEYS) made up to four plans per kind of caller, 310-530 ms each for the first
# check that needed one. Keyed this way, the one plan warm_up makes at start serves every check.
CHECK = f"""
UNWIND $part.keys AS key
OPTIONAL MATCH (i:Indicator {{key: key}})
CALL (i) {{
  OPTIONAL MATCH (m:Member)-[r:REPORTED]->(i)
  WHERE {visibility.reported("r", "m")}
  RETURN [x IN collect(CASE WHEN r IS NOT NULL THEN {_REPORT_FIELDS} END) WHERE x IS NOT NULL] AS reports,
         sum(r.leads) AS seen
}}
CALL (i, seen) {{
  WITH i WHERE 0 < seen <= $hub_cap
  MATCH (i)<-[:NAMES]-(l:Lead)-[:NAMES]->(n:Indicator)
  WHERE n <> i AND {visibility.counted_lead("l")} AND NOT coalesce(n.benign, false) AND n.status = 'active'
  WITH n, count(l) AS links ORDER BY links DESC, n.key
  CALL (n) {{
    OPTIONAL MATCH (m:Member)-[r:REPORTED]->(n)
    WHERE {visibility.reported("r", "m")}
    RETURN [x IN collect(CASE WHEN r IS NOT NULL THEN {_NEIGHBOUR_FIELDS} END) WHERE x IS NOT NULL] AS n_reports,
           sum(r.leads) AS n_seen
  }}
  WITH n, n_reports WHERE 0 < n_seen <= $hub_cap
  LIMIT $neighbours
  RETURN collect({{key: n.key, reports: n_reports}}) AS neighbours
}}
OPTIONAL MATCH (net:Network {{id: i.network_id}}) WHERE {visibility.network("net")}
RETURN collect({{key: key, known: i IS NOT NULL, status: i.status, benign: coalesce(i.benign, false),
       benign_reason: i.benign_reason, masked: i.masked, reports: reports, neighbours: neighbours,
       network: CASE WHEN net IS NULL THEN null ELSE net {{.id, .leads, .members, .categories, .cohesion, .oversized}} END}}) AS rows
"""

# A large lookup runs as parts of PART_KEYS keys, PARTS_AT_ONCE at a time: Neo4j runs each part on its own
# thread, and the API reads (and, through lookup_parts, decides) one part's answer while Neo4j computes the next.
# The API's Python is the slower side of a 10,000-identifier check (~2.4 s of API CPU against ~1.3 s of Neo4j's),
# so small parts two at a time keep it busy from early on: 2.59 s in process against 2.97 s as four parts of 2,500
# at once (six interleaved rounds each, 4 Dec 2026, 100k-row graph).
PART_KEYS = 1000
PARTS_AT_ONCE = 2


async def lookup(graph: Graph, principal: Principal, keys: list[str], *, hub_cap: int, neighbours: int) -> list[dict[str, Any]]:
    """One row per key, in the order of `keys`."""
    params = _params(principal, hub_cap, neighbours)
    if len(keys) <= PART_KEYS:
        return await _part(graph, keys, params)
    return [row for rows in await asyncio.gather(*_parts(graph, keys, params)) for row in rows]


async def lookup_parts(graph: Graph, principal: Principal, keys: list[str], *, hub_cap: int,
                       neighbours: int) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows of `lookup`, a part at a time as Neo4j answers each (parts in any order, rows in key order within
    a part): a 10,000-identifier check scores the first parts while Neo4j still computes the last."""
    params = _params(principal, hub_cap, neighbours)
    if len(keys) <= PART_KEYS:
        yield await _part(graph, keys, params)
        return
    running = [asyncio.ensure_future(part) for part in _parts(graph, keys, params)]
    try:
        for answered in asyncio.as_completed(running):
            yield await answered
    finally:  # the caller stopped early or a part failed: nothing goes on computing for nobody
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)  # gone when this returns; failures retrieved


def _params(principal: Principal, hub_cap: int, neighbours: int) -> dict[str, Any]:
    return {"hub_cap": hub_cap, "neighbours": neighbours, **visibility.params(principal)}


def _parts(graph: Graph, keys: list[str], params: dict[str, Any]) -> list[Awaitable[list[dict[str, Any]]]]:
    gate = asyncio.Semaphore(PARTS_AT_ONCE)  # waiters acquire in order: the first parts are answered first

    async def part(chunk: list[str]) -> list[dict[str, Any]]:
        async with gate:
            return await _part(graph, chunk, params)

    return [part(keys[i:i + PART_KEYS]) for i in range(0, len(keys), PART_KEYS)]


async def warm_up(graph: Graph) -> None:
    """Plan the check query before the first check arrives (a serving process calls this at start): planning it
    cost the first caller of a fresh server ~1 s. A key that matches nothing; the plan is the same for any caller
    and any number of keys (CHECK's parameters)."""
    nobody = Principal(id="system:warm-up", member_code="", roles=frozenset())
    await lookup(graph, nobody, ["0" * 64], hub_cap=0, neighbours=0)


async def _part(graph: Graph, keys: list[str], params: dict[str, Any]) -> list[dict[str, Any]]:
    # The rows come back as one collected list: the driver's per-record cost is half a 10,000-row answer's time
    # otherwise (the lean lookup of bench/check.py: 0.14-0.16 s as rows, 0.07-0.08 s as one record, 6 Dec 2026).
    answer = await graph.read_values(CHECK, {"part": {"keys": keys}, **params})
    return answer[0]["rows"]
