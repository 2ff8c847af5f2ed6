"""Agent networks in Neo4j: kept current as batches arrive, rebuilt from scratch on demand, read for drawing.

What a network is, and why RED leads and hub indicators take no part, is check/networks.py's docstring. Here:
- every member Lead, linking Indicator and declared Agent carries `network_id`; a `(:Network)` node per network
  keeps the summary lists read (size, members, categories, agent labels, top indicators, time span, TLPs);
- `assign_networks` is the after-aggregation hook of ingest/pipeline.py: it reads only the batch's leads and
  what they touch, folds them into existing networks, and re-splits networks that were held together only by an
  indicator that has since become a hub; `rebuild_networks` recomputes everything (operators, repair);
- writers hold one lease (a `NetworkLease` node) so concurrent batches, in any process, never race;
- reads apply graph/visibility.py. A network summary is shown whole or not at all: to operators, and to
  principals allowed every TLP among its leads (its leads are never RED), so its counts never leak a lead the
  reader may not see; lead nodes go through `visibility.lead` and `visibility.filer` as every lead read does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable, Sequence

from access.principal import Principal
from check.networks import (
    MAX_NEIGHBOURHOOD_DEPTH, MIN_NETWORK_LEADS, NETWORK_DEGREE_CAP, BatchFold, Drawing, LeadLinks, Linker,
    draw_network, lead_node, network_cursor, parse_network_cursor, plan_merge, plan_recompute,
)
from graph import visibility
from graph.database import Graph
from graph.members import to_native

PAGE_SPAN = 5000  # batch lines, or leads of a rebuild, read per page
WRITE_CHUNK = 2000  # rows per UNWIND write
TOP_INDICATORS = 5
LEASE_TTL_MS = 10 * 60 * 1000  # a holder that died frees the lease after this; live holders renew per page
LEASE_WAIT_S = 15 * 60


class NetworksBusy(RuntimeError):
    """Another writer held the network lease too long; the batch stays pending (see `assign_pending_networks`)."""


def linking(i: str = "i") -> str:
    """An indicator that may link leads: not benign, not retracted, named by at most `$cap` leads."""
    return (f"(NOT coalesce({i}.benign, false) AND coalesce({i}.status, 'active') <> 'retracted'"
            f" AND coalesce({i}.lead_count, 0) <= $cap)")


def network_visible(n: str = "n") -> str:
    """A Network summary the principal may read whole (the TLP rule of visibility.lead over its TLP set)."""
    return f"($vis_operator OR all(t IN {n}.tlps WHERE t IN $vis_tlps))"


_ELIGIBLE = ("(l.status = 'active' AND l.tlp <> 'RED'"
             " AND EXISTS { MATCH (b:Batch {id: l.batch_id}) USING INDEX b:Batch(id) WHERE b.status = 'committed' })")
_LINKS = f"""l.id AS id, l.network_id AS network_id, {_ELIGIBLE} AS eligible,
       [(l)-[:NAMES]->(i:Indicator) WHERE {linking()} | i.key] AS indicators,
       [(l)-[:OPERATED_BY]->(a:Agent) | a.id] AS agents"""

# -- writing -------------------------------------------------------------------------------------------------

ACQUIRE_LEASE = """
MERGE (k:NetworkLease {id: 'networks'})
SET k.touched_at = timestamp()
WITH k WHERE k.holder IS NULL OR k.holder = $holder OR k.expires_at < timestamp()
SET k.holder = $holder, k.expires_at = timestamp() + $ttl_ms
RETURN k.holder AS holder
"""
RELEASE_LEASE = "MATCH (k:NetworkLease {id: 'networks'}) WHERE k.holder = $holder SET k.holder = null"

BATCH_SPAN = "MATCH (b:Batch {id: $batch_id}) WHERE b.status = 'committed' RETURN b.last_line AS last_line"

BATCH_LEADS = f"""
MATCH (l:Lead) USING INDEX l:Lead(batch_id, seq)
WHERE l.batch_id = $batch_id AND l.seq >= $from AND l.seq < $to AND l.status = 'active'
RETURN l.id AS id, l.network_id AS network_id, l.tlp = 'RED' AS red,
       [(l)-[:NAMES]->(i:Indicator) | i {{.key, .network_id, .lead_count, linking: {linking()}}}] AS indicators,
       [(l)-[:OPERATED_BY]->(a:Agent) | a {{.id, .network_id,
          leads: CASE WHEN a.network_id IS NULL THEN COUNT {{ (a)<-[:OPERATED_BY]-(:Lead) }} END}}] AS agents
"""

# Earlier leads reached through indicators or agents of the batch that belong to no network yet.
ANCHORED_LEADS = f"""
CALL () {{
  UNWIND $keys AS key MATCH (:Indicator {{key: key}})<-[:NAMES]-(l:Lead) RETURN l
  UNION
  UNWIND $agents AS agent MATCH (:Agent {{id: agent}})<-[:OPERATED_BY]-(l:Lead) RETURN l
}}
WITH l WHERE l.batch_id <> $batch_id AND {_ELIGIBLE}
RETURN {_LINKS},
       [(l)-[:NAMES]->(i:Indicator) WHERE i.network_id IS NOT NULL AND {linking()} | i.network_id]
       + [(l)-[:OPERATED_BY]->(a:Agent) WHERE a.network_id IS NOT NULL | a.network_id] AS networks
"""

NETWORK_SIZES = "UNWIND $ids AS id MATCH (n:Network {id: id}) RETURN n.id AS id, n.leads AS leads"

NETWORK_MEMBERS = f"UNWIND $ids AS nid MATCH (l:Lead {{network_id: nid}}) RETURN {_LINKS}"

ALL_LEADS = f"""
MATCH (l:Lead) WHERE l.id > $after
WITH l ORDER BY l.id LIMIT $page
RETURN {_LINKS}
"""

ALL_NETWORK_IDS = """
CALL () {
  MATCH (l:Lead) WHERE l.network_id IS NOT NULL RETURN DISTINCT l.network_id AS id
  UNION MATCH (i:Indicator) WHERE i.network_id IS NOT NULL RETURN DISTINCT i.network_id AS id
  UNION MATCH (a:Agent) WHERE a.network_id IS NOT NULL RETURN DISTINCT a.network_id AS id
  UNION MATCH (n:Network) RETURN n.id AS id
}
RETURN id
"""

RELABEL = """
UNWIND $moves AS move
CALL (move) { MATCH (:Lead {network_id: move.from})-[:OPERATED_BY]->(a:Agent) SET a.network_id = move.to }
CALL (move) { MATCH (i:Indicator {network_id: move.from}) SET i.network_id = move.to }
CALL (move) { MATCH (l:Lead {network_id: move.from}) SET l.network_id = move.to }
CALL (move) { MATCH (n:Network {id: move.from}) DETACH DELETE n }
"""

# An eligible lead's network is also its linking indicators' and its agents' (null: it left every network).
ASSIGN = f"""
UNWIND $rows AS row
MATCH (l:Lead {{id: row.lead}})
SET l.network_id = row.network
WITH l, row
CALL (l, row) {{ MATCH (l)-[:NAMES]->(i:Indicator) WHERE {linking()} SET i.network_id = row.network }}
CALL (l, row) {{ MATCH (l)-[:OPERATED_BY]->(a:Agent) SET a.network_id = row.network }}
"""

CLEAR_LEADS = "UNWIND $ids AS id MATCH (l:Lead {id: id}) SET l.network_id = null"

# Indicators that became hubs, and indicators or agents no lead of their network names any more.
CLEAR_STALE_LINKS = f"""
CALL () {{
  MATCH (i:Indicator) WHERE i.network_id IN $ids
    AND (NOT {linking()} OR NOT EXISTS {{ MATCH (i)<-[:NAMES]-(l:Lead) WHERE l.network_id = i.network_id }})
  SET i.network_id = null
}}
CALL () {{
  MATCH (a:Agent) WHERE a.network_id IN $ids
    AND NOT EXISTS {{ MATCH (a)<-[:OPERATED_BY]-(l:Lead) WHERE l.network_id = a.network_id }}
  SET a.network_id = null
}}
"""

REFRESH_SUMMARIES = """
UNWIND $ids AS nid
CALL (nid) {
  MATCH (l:Lead {network_id: nid})
  RETURN count(l) AS leads, collect(DISTINCT l.member_code) AS member_codes, collect(DISTINCT l.tlp) AS tlps,
         collect(DISTINCT CASE WHEN l.attributed THEN l.member_code END) AS attributed_codes,
         collect(DISTINCT l.category) AS categories, min(l.observed_at) AS first_seen, max(l.observed_at) AS last_seen
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
    n.updated_at = datetime()
"""

DROP_EMPTY = """
UNWIND $ids AS nid MATCH (n:Network {id: nid}) WHERE COUNT { (:Lead {network_id: nid}) } < $min_leads
DETACH DELETE n
"""

MARK_ASSIGNED = "MATCH (b:Batch {id: $batch_id}) SET b.networks_assigned_at = datetime()"
MARK_ALL_ASSIGNED = """
MATCH (b:Batch {status: 'committed'}) WHERE b.networks_assigned_at IS NULL AND b.committed_at <= $started
SET b.networks_assigned_at = datetime()
"""
PENDING_BATCHES = """
MATCH (b:Batch {status: 'committed'}) WHERE b.networks_assigned_at IS NULL
RETURN b.id AS id ORDER BY b.committed_at
"""


class _Lease:
    def __init__(self, graph: Graph) -> None:
        self.graph, self.holder = graph, uuid.uuid4().hex

    async def renew(self) -> bool:
        return bool(await self.graph.write(ACQUIRE_LEASE, {"holder": self.holder, "ttl_ms": LEASE_TTL_MS}))


@asynccontextmanager
async def _lease(graph: Graph) -> AsyncIterator[_Lease]:
    lease, deadline, pause = _Lease(graph), time.monotonic() + LEASE_WAIT_S, 0.02
    while not await lease.renew():
        if time.monotonic() > deadline:
            raise NetworksBusy(f"the agent-network lease stayed taken for {LEASE_WAIT_S} s")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
    try:
        yield lease
    finally:
        await graph.write(RELEASE_LEASE, {"holder": lease.holder})


def _chunks(items: Sequence[Any], size: int = WRITE_CHUNK) -> Iterable[Sequence[Any]]:
    return (items[n:n + size] for n in range(0, len(items), size))


async def assign_networks(graph: Graph, batch_id: str, *, cap: int = NETWORK_DEGREE_CAP) -> dict[str, int]:
    """Fold a committed, aggregated batch into the networks (the `BatchRunner.after_aggregation` hook).

    Reads the batch's leads page by page (by `seq`) with their indicators and agents, the earlier leads those
    reach that are in no network yet (few: a linking indicator has at most `cap` leads), and unions them with the
    networks already touched. A component touching several networks keeps the largest's id and relabels the
    others; a new component of two or more leads gets a new id. Networks that carry a now non-linking indicator
    (it crossed the cap with this batch, or was flagged benign/retracted) are recomputed from their own leads,
    so a network joined only through that indicator splits. Idempotent: running it again changes nothing.
    """
    async with _lease(graph) as lease:
        span = await graph.read(BATCH_SPAN, {"batch_id": batch_id})
        if not span:
            return {"leads": 0, "networks": 0}
        fold = BatchFold()
        for start in range(0, span[0]["last_line"] + 1, PAGE_SPAN):
            rows = await graph.read(BATCH_LEADS, {"batch_id": batch_id, "from": start, "to": start + PAGE_SPAN, "cap": cap})
            for row in rows:
                fold.add_batch_lead(row["id"], row["network_id"], row["red"], row["indicators"], row["agents"])
            await lease.renew()
        keys, agents = fold.anchors()
        for n in range(0, max(len(keys), len(agents)), WRITE_CHUNK):
            params = {"keys": keys[n:n + WRITE_CHUNK], "agents": agents[n:n + WRITE_CHUNK], "batch_id": batch_id, "cap": cap}
            for row in await graph.read(ANCHORED_LEADS, params):
                own = (row["network_id"],) if row["network_id"] else ()
                links = LeadLinks(row["id"], tuple(row["indicators"]), tuple(row["agents"]), own + tuple(row["networks"]))
                fold.add_earlier_lead(links, row["network_id"])
        comps, current = fold.linker.components(), fold.current
        touched_ids = sorted({n for c in comps for n in c.networks})
        sizes = {r["id"]: r["leads"] for r in await graph.read(NETWORK_SIZES, {"ids": touched_ids})} if touched_ids else {}
        plan = plan_merge(comps, current, sizes)
        for moves in _chunks([{"from": a, "to": b} for a, b in sorted(plan.moves.items())]):
            await graph.write(RELABEL, {"moves": list(moves)})
        await _assign(graph, [{"lead": lead, "network": net} for lead, net in sorted(plan.assign.items())], cap, lease)
        split = {plan.final(n) for n in fold.unlinked}
        await _refresh(graph, plan.touched - split, set(plan.moves))
        if split:
            await _recompute(graph, split, cap, lease)
        await graph.write(MARK_ASSIGNED, {"batch_id": batch_id})
    return {"leads": len(plan.assign), "networks": len(plan.touched), "merged": len(plan.moves), "split": len(split)}


async def rebuild_networks(graph: Graph, *, cap: int = NETWORK_DEGREE_CAP) -> dict[str, int]:
    """Recompute every network from scratch (operators, tests, repair): streams every lead with its links."""
    async with _lease(graph) as lease:
        started = (await graph.read("RETURN datetime() AS now"))[0]["now"]
        old_ids = {row["id"] for row in await graph.read(ALL_NETWORK_IDS)}
        linker, current, ineligible, after = Linker(), {}, [], ""
        while rows := await graph.read(ALL_LEADS, {"after": after, "page": PAGE_SPAN, "cap": cap}):
            _fold_lead(rows, linker, current, ineligible)
            after = rows[-1]["id"]
            await lease.renew()
        desired = await _apply(graph, linker, current, ineligible, old_ids, cap, lease)
        await graph.write(MARK_ALL_ASSIGNED, {"started": started})
    return {"leads": sum(1 for n in desired.values() if n), "networks": len(set(desired.values()) - {None})}


async def refresh_networks(graph: Graph, network_ids: Iterable[str], *, cap: int = NETWORK_DEGREE_CAP) -> set[str]:
    """Recompute the given networks from their own leads (after retracting leads or flagging indicators benign)."""
    async with _lease(graph) as lease:
        return await _recompute(graph, set(network_ids), cap, lease)


async def assign_pending_networks(graph: Graph, *, cap: int = NETWORK_DEGREE_CAP) -> int:
    """Assign committed batches whose hook never finished (a crash, or a busy lease); returns how many."""
    pending = [row["id"] for row in await graph.read(PENDING_BATCHES)]
    for batch_id in pending:
        await assign_networks(graph, batch_id, cap=cap)
    return len(pending)


def _fold_lead(rows: list[dict[str, Any]], linker: Linker, current: dict[str, str | None], ineligible: list[str]) -> None:
    for row in rows:
        if row["eligible"]:
            current[row["id"]] = row["network_id"]
            linker.add(LeadLinks(row["id"], tuple(row["indicators"]), tuple(row["agents"])))
        elif row["network_id"]:
            ineligible.append(row["id"])


async def _recompute(graph: Graph, network_ids: set[str], cap: int, lease: _Lease) -> set[str]:
    linker, current, ineligible = Linker(), {}, []
    for ids in _chunks(sorted(network_ids), 500):
        _fold_lead(await graph.read(NETWORK_MEMBERS, {"ids": list(ids), "cap": cap}), linker, current, ineligible)
    desired = await _apply(graph, linker, current, ineligible, network_ids, cap, lease)
    return {net for net in desired.values() if net}


async def _apply(graph: Graph, linker: Linker, current: dict[str, str | None], ineligible: list[str],
                 old_ids: set[str], cap: int, lease: _Lease) -> dict[str, str | None]:
    """Write components computed from scratch over `current`'s leads; returns each lead's network id now."""
    desired = plan_recompute(linker.components(), current)
    rows = [{"lead": lead, "network": net} for lead, net in sorted(desired.items())
            if net is not None or current.get(lead) is not None]
    await _assign(graph, rows, cap, lease)
    for ids in _chunks(ineligible):
        await graph.write(CLEAR_LEADS, {"ids": list(ids)})
    networks = {net for net in desired.values() if net}
    for ids in _chunks(sorted(old_ids | networks), 500):
        await graph.write(CLEAR_STALE_LINKS, {"ids": list(ids), "cap": cap})
    await _refresh(graph, networks, old_ids - networks)
    return desired


async def _assign(graph: Graph, rows: list[dict[str, Any]], cap: int, lease: _Lease) -> None:
    for chunk in _chunks(rows):
        await graph.write(ASSIGN, {"rows": list(chunk), "cap": cap})
        await lease.renew()


async def _refresh(graph: Graph, networks: set[str], gone: set[str]) -> None:
    for ids in _chunks(sorted(networks), 200):
        await graph.write(REFRESH_SUMMARIES, {"ids": list(ids), "min_leads": MIN_NETWORK_LEADS, "top": TOP_INDICATORS})
    for ids in _chunks(sorted(gone | networks), 500):
        await graph.write(DROP_EMPTY, {"ids": list(ids), "min_leads": MIN_NETWORK_LEADS})


# -- reading -------------------------------------------------------------------------------------------------

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
            "agents": sorted(n["agents"]), "first_seen": to_native(n["first_seen"]), "last_seen": to_native(n["last_seen"]),
            "updated_at": to_native(n["updated_at"]), "cursor": network_cursor(n["leads"], n["id"]),
            "top_indicators": sorted(row["top"], key=lambda i: (-i["degree"], i["key"])),
        })
    return networks


async def network_graph(graph: Graph, principal: Principal, network_id: str, *, limit: int = 500) -> dict[str, Any] | None:
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
    return {row["key"]: {"id": row["network"]["id"], "size": row["network"]["leads"], "members": row["network"]["members"],
                         "categories": sorted(row["network"]["categories"])} for row in rows}


def _native(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "observed_at": to_native(row["observed_at"])}
