"""Agent networks in Neo4j: kept current as batches arrive, and rebuilt from scratch on demand.

What a network is, and why RED leads and hub indicators take no part, is check/networks.py's docstring. Here:
- every member Lead, linking Indicator and declared Agent carries `network_id`; a `(:Network)` node per network
  keeps the summary lists read (size, members, categories, agent labels, top indicators, time span, TLPs);
- `assign_networks` is the after-aggregation hook of ingest/pipeline.py: it reads only the batch's leads and
  what they touch, folds them into existing networks, and re-splits networks that were held together only by an
  indicator that has since become a hub; `rebuild_networks` recomputes everything (operators, repair);
- writers hold one lease (a `NetworkLease` node) so concurrent batches, in any process, never race;
- reading is graph/network_reads.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable, Sequence

from check.networks import MIN_NETWORK_LEADS, NETWORK_DEGREE_CAP, BatchFold, LeadLinks, Linker, plan_merge, plan_recompute
from graph.database import Graph

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
            return dict.fromkeys(("leads", "networks", "merged", "split"), 0)
        fold = await _fold_batch(graph, batch_id, span[0]["last_line"], cap, lease)
        comps = fold.linker.components()
        touched = sorted({n for c in comps for n in c.networks})
        sizes = {r["id"]: r["leads"] for r in await graph.read(NETWORK_SIZES, {"ids": touched})} if touched else {}
        plan = plan_merge(comps, fold.current, sizes)
        for moves in _chunks([{"from": a, "to": b} for a, b in sorted(plan.moves.items())]):
            await graph.write(RELABEL, {"moves": list(moves)})
        await _assign(graph, [{"lead": lead, "network": net} for lead, net in sorted(plan.assign.items())], cap, lease)
        split = {plan.final(n) for n in fold.unlinked}
        await _refresh(graph, plan.touched - split, set(plan.moves))
        if split:
            await _recompute(graph, split, cap, lease)
        await graph.write(MARK_ASSIGNED, {"batch_id": batch_id})
    return {"leads": len(plan.assign), "networks": len(plan.touched), "merged": len(plan.moves), "split": len(split)}


async def _fold_batch(graph: Graph, batch_id: str, last_line: int, cap: int, lease: _Lease) -> BatchFold:
    """The batch's leads page by page, then the earlier leads reached through its not-yet-networked anchors."""
    fold = BatchFold()
    for start in range(0, last_line + 1, PAGE_SPAN):
        page = {"batch_id": batch_id, "from": start, "to": start + PAGE_SPAN, "cap": cap}
        for row in await graph.read(BATCH_LEADS, page):
            fold.add_batch_lead(row["id"], row["network_id"], row["red"], row["indicators"], row["agents"])
        await lease.renew()
    keys, agents = fold.anchors()
    for n in range(0, max(len(keys), len(agents)), WRITE_CHUNK):
        chunk = {"keys": keys[n:n + WRITE_CHUNK], "agents": agents[n:n + WRITE_CHUNK], "batch_id": batch_id, "cap": cap}
        for row in await graph.read(ANCHORED_LEADS, chunk):
            own = (row["network_id"],) if row["network_id"] else ()
            links = LeadLinks(row["id"], tuple(row["indicators"]), tuple(row["agents"]), own + tuple(row["networks"]))
            fold.add_earlier_lead(links, row["network_id"])
    return fold


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


def _fold_lead(rows: list[dict[str, Any]], linker: Linker, current: dict[str, str | None],
               ineligible: list[str]) -> None:
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
