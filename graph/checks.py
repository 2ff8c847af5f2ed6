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
import logging
import time
from typing import Any, AsyncIterator, Awaitable

from core.principal import Principal
from graph import visibility
from graph.database import Graph

log = logging.getLogger(__name__)

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
# check that needed one. Keyed this way, the one plan PlanKeeper makes serves every check.
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

# A check never waits for a plan. Neo4j replans a cached query on its next run once the graph's statistics have
# moved far enough (batches landing move them), and that run waits for the plan: 326-529 ms to plan this query
# on a quiet machine and 58-110 ms more for its first run; on a node growing from 1,000 to 101,000 rows, checks
# waited 600 and 785 ms at two such replans (scratch probes beside bench/during_upload.py, 7 Dec 2026). So checks
# run it with `replan=skip` and PlanKeeper replans it beside them, as Neo4j's manual suggests for a query that is
# expensive to plan (`replan=force EXPLAIN`: the new plan replaces the cached one, which served checks meanwhile).
# `replan` is not part of the cache key, so both texts find the same entry.
_RUN = f"CYPHER replan=skip\n{CHECK}"
_REPLAN = f"CYPHER replan=force EXPLAIN\n{CHECK}"
# Neo4j compiles a query's expressions on its eleventh run (dbms.cypher.expression_recompilation_limit), and that
# run waited 40-60 ms: the keeper makes those runs itself. (Compiled from the first run instead, the option
# `expressionEngine=compiled`, a fresh server's checks were slower for the first minute, classes the JVM had yet
# to compile: 109-181 against 158-211 checks/s at one connection in the first 10 s, 282 against 345 in the third;
# scratch, two runs each, 7 Dec 2026.)
HOT_RUNS = 11

# What the check's plan is costed from, read from Neo4j's count store (no scan). The keeper replans when one of
# them moves by REPLAN_DIVERGENCE of the larger figure (Neo4j's own rule, at 0.75 falling to 0.1 over hours, also
# counts index selectivities; those drift with these), and at least every REPLAN_MAX_AGE seconds while any moves.
PLAN_COUNTS = """
CALL () { MATCH (i:Indicator) RETURN count(i) AS indicators }
CALL () { MATCH (l:Lead) RETURN count(l) AS leads }
CALL () { MATCH (m:Member) RETURN count(m) AS members }
CALL () { MATCH (n:Network) RETURN count(n) AS networks }
CALL () { MATCH ()-[r:REPORTED]->() RETURN count(r) AS reported }
CALL () { MATCH ()-[r:NAMES]->() RETURN count(r) AS names }
RETURN {indicators: indicators, leads: leads, members: members, networks: networks, reported: reported,
        names: names} AS counts
"""
REPLAN_DIVERGENCE = 0.25
REPLAN_MIN_CHANGE = 100  # a small graph's plan does not matter: fewer changes never replan it
REPLAN_MAX_AGE = 3600.0
REPLAN_EVERY = 30.0  # how often the keeper reads the counts, unless a batch wakes it


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
    """Run the check query as checks do, HOT_RUNS times: planned now if no plan is cached (a fresh Neo4j), and past
    the run that compiles its expressions. A key that matches nothing; the plan is the same for any caller and any
    number of keys (CHECK's parameters)."""
    params = _plan_params()
    for _ in range(HOT_RUNS):
        await graph.read_values(_RUN, params)


async def replan(graph: Graph) -> None:
    """Plan the check query again, on the graph's statistics now; checks use the plan it replaces until it is done."""
    await graph.read(_REPLAN, _plan_params())
    await warm_up(graph)


def _plan_params() -> dict[str, Any]:
    nobody = Principal(id="system:plan", member_code="", roles=frozenset())
    return {"part": {"keys": ["0" * 64]}, **_params(nobody, 0, 0)}


class PlanKeeper:
    """Keeps the check query's plan fitted to the graph, off the checks' path: plans it at start (the first check of
    a fresh server waited ~1 s for it otherwise), then again when the counts it is costed from have moved."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.counts: dict[str, int] | None = None  # as of the last plan
        self.planned_at = 0.0
        self.replans = 0
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """At start: the plan Neo4j holds (an API restarted over a running Neo4j), else one made now."""
        counts = await self._counts()
        await warm_up(self.graph)
        self.counts, self.planned_at = counts, time.monotonic()

    async def refresh(self, *, force: bool = False) -> bool:
        """Replan if forced, never planned, or the counts moved (see REPLAN_DIVERGENCE); whether it did."""
        counts = await self._counts()
        age = time.monotonic() - self.planned_at
        if not force and self.counts is not None and not moved(self.counts, counts, age):
            return False
        started = time.perf_counter()
        await replan(self.graph)
        self.counts, self.planned_at, self.replans = counts, time.monotonic(), self.replans + 1
        log.info("check query replanned in %.2fs (%s)", time.perf_counter() - started,
                 ", ".join(f"{name} {value}" for name, value in counts.items()))
        return True

    async def _counts(self) -> dict[str, int]:
        return (await self.graph.read(PLAN_COUNTS))[0]["counts"]

    async def after_batch(self, graph: Graph, batch_id: str) -> None:
        """The BatchRunner.after_aggregation hook: a batch just moved the counts; look now, not at the next tick."""
        self._wake.set()

    async def keep_fresh(self, ready: asyncio.Event, every: float = REPLAN_EVERY) -> None:
        """Once migrations ran: plan, then look every `every` seconds (at once when woken)."""
        await ready.wait()
        while True:
            self._wake.clear()
            try:
                await self.refresh()
            except Exception as error:  # checks keep the plan they have; Neo4j plans one itself if none is cached
                log.warning("check query replan failed (%s); retrying in %.0fs", type(error).__name__, every)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=every)
            except TimeoutError:
                pass


def moved(before: dict[str, int], now: dict[str, int], age: float) -> bool:
    """Whether counts moved enough since a plan `age` seconds old to plan again."""
    for name, was in before.items():
        change = abs(now.get(name, 0) - was)
        if change < REPLAN_MIN_CHANGE:
            continue
        if change >= REPLAN_DIVERGENCE * max(was, now.get(name, 0)) or age >= REPLAN_MAX_AGE:
            return True
    return False


async def _part(graph: Graph, keys: list[str], params: dict[str, Any]) -> list[dict[str, Any]]:
    # The rows come back as one collected list: the driver's per-record cost is half a 10,000-row answer's time
    # otherwise (the lean lookup of bench/check.py: 0.14-0.16 s as rows, 0.07-0.08 s as one record, 6 Dec 2026).
    answer = await graph.read_values(_RUN, {"part": {"keys": keys}, **params})
    return answer[0]["rows"]
