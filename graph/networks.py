"""Agent networks in Neo4j, first step: the Cypher that reads the links between leads and writes each lead's
weakly connected component (`component_id`, with a `(:Component {id, leads})` node). Networks proper are the
communities found within components (graph/communities.py).

Each function runs one query. What a network is and how ids are decided is networks/linking.py; the flows that
read links page by page, hold the writers' lease and write back (incremental and full) are networks/flows.py;
reading networks for a principal is graph/network_reads.py.
"""

from __future__ import annotations

from typing import Any

from graph.database import Graph


def takes_part(x: str = "l") -> str:
    """The TLP rule of networks: a RED lead is its filer's and operators' only, so it links nothing and does not
    count in an indicator's `lead_count` (the hub cap), which networks computed once for everyone read."""
    return f"{x}.tlp <> 'RED'"


def linking(i: str = "i") -> str:
    """An indicator that may link leads: not benign, not retracted, named by at most `$cap` leads that take part
    in networks (`lead_count`)."""
    return (f"(NOT coalesce({i}.benign, false) AND coalesce({i}.status, 'active') <> 'retracted'"
            f" AND coalesce({i}.lead_count, 0) <= $cap)")


def eligible(x: str = "l") -> str:
    """A lead that takes part in networks: active, not RED, of a committed batch."""
    return (f"({x}.status = 'active' AND {takes_part(x)}"
            f" AND EXISTS {{ MATCH (b:Batch {{id: {x}.batch_id}}) USING INDEX b:Batch(id) WHERE b.status = 'committed' }})")


_ELIGIBLE = eligible("l")
_LINKS = f"""l.id AS id, l.component_id AS component_id, {_ELIGIBLE} AS eligible,
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
LEASE_HELD = """
OPTIONAL MATCH (k:NetworkLease {id: 'networks'}) WHERE k.holder IS NOT NULL AND k.expires_at >= timestamp()
RETURN k IS NOT NULL AS held
"""

BATCH_SPAN = """
MATCH (b:Batch {id: $batch_id}) WHERE b.status = 'committed'
RETURN b.last_line AS last_line, b.networks_assigned_at IS NOT NULL AS assigned
"""

BATCH_LEADS = f"""
MATCH (l:Lead) USING INDEX l:Lead(batch_id, seq)
WHERE l.batch_id = $batch_id AND l.seq >= $from AND l.seq < $to AND l.status = 'active'
RETURN l.id AS id, l.component_id AS component_id, l.tlp = 'RED' AS red,
       [(l)-[:NAMES]->(i:Indicator) | i {{.key, .component_id, .lead_count, linking: {linking()}}}] AS indicators,
       [(l)-[:OPERATED_BY]->(a:Agent) | a {{.id, .component_id,
          leads: CASE WHEN a.component_id IS NULL THEN COUNT {{ (a)<-[:OPERATED_BY]-(:Lead) }} END}}] AS agents
"""

# Other leads (earlier batches, or this batch's earlier windows) reached through indicators or agents of the window
# that belong to no component yet. Not the batch's later windows: those are folded in their turn, and join what this
# window forms through its indicators' component ids. Reading them here made a large batch's first window read most
# of the batch (one hop from each of its gangs' phones: 304,370 leads where its own lines held 46,801, and +340 MB
# of a 1M-row batch's hook).
ANCHORED_LEADS = f"""
CALL () {{
  UNWIND $keys AS key MATCH (:Indicator {{key: key}})<-[:NAMES]-(l:Lead) RETURN l
  UNION
  UNWIND $agents AS agent MATCH (:Agent {{id: agent}})<-[:OPERATED_BY]-(l:Lead) RETURN l
}}
WITH l WHERE NOT (l.batch_id = $batch_id AND l.seq >= $from) AND {_ELIGIBLE}
RETURN {_LINKS},
       [(l)-[:NAMES]->(i:Indicator) WHERE i.component_id IS NOT NULL AND {linking()} | i.component_id]
       + [(l)-[:OPERATED_BY]->(a:Agent) WHERE a.component_id IS NOT NULL | a.component_id] AS networks
"""

NETWORK_SIZES = "UNWIND $ids AS id MATCH (n:Component {id: id}) RETURN n.id AS id, n.leads AS leads"

NETWORK_MEMBERS = f"UNWIND $ids AS nid MATCH (l:Lead {{component_id: nid}}) RETURN {_LINKS}"

ALL_LEADS = f"""
MATCH (l:Lead) WHERE l.id > $after
WITH l ORDER BY l.id LIMIT $page
RETURN {_LINKS}
"""

ALL_NETWORK_IDS = """
CALL () {
  MATCH (l:Lead) WHERE l.component_id IS NOT NULL RETURN DISTINCT l.component_id AS id
  UNION MATCH (i:Indicator) WHERE i.component_id IS NOT NULL RETURN DISTINCT i.component_id AS id
  UNION MATCH (a:Agent) WHERE a.component_id IS NOT NULL RETURN DISTINCT a.component_id AS id
  UNION MATCH (n:Component) RETURN n.id AS id
}
RETURN id
"""

RELABEL = """
UNWIND $moves AS move
CALL (move) { MATCH (:Lead {component_id: move.from})-[:OPERATED_BY]->(a:Agent) SET a.component_id = move.to }
CALL (move) { MATCH (i:Indicator {component_id: move.from}) SET i.component_id = move.to }
CALL (move) { MATCH (l:Lead {component_id: move.from}) SET l.component_id = move.to }
CALL (move) { MATCH (n:Component {id: move.from}) DETACH DELETE n }
"""

# An eligible lead's network is also its linking indicators' and its agents' (null: it left every network).
ASSIGN = f"""
UNWIND $rows AS row
MATCH (l:Lead {{id: row.lead}})
SET l.component_id = row.network
WITH l, row
CALL (l, row) {{ MATCH (l)-[:NAMES]->(i:Indicator) WHERE {linking()} SET i.component_id = row.network }}
CALL (l, row) {{ MATCH (l)-[:OPERATED_BY]->(a:Agent) SET a.component_id = row.network }}
"""

CLEAR_LEADS = "UNWIND $ids AS id MATCH (l:Lead {id: id}) SET l.component_id = null, l.network_id = null"

# The communities (networks) the leads of these components are in now, before the components change.
NETWORKS_OF_COMPONENTS = """
UNWIND $ids AS cid MATCH (l:Lead {component_id: cid}) WHERE l.network_id IS NOT NULL RETURN DISTINCT l.network_id AS id
"""
COMPONENTS_OF_NETWORKS = """
UNWIND $ids AS nid MATCH (l:Lead {network_id: nid}) WHERE l.component_id IS NOT NULL
RETURN DISTINCT l.component_id AS id
"""

# Indicators that became hubs, and indicators or agents no lead of their network names any more. Each is tested
# from its own relationships (a pattern comprehension): with EXISTS and 500 ids the planner scanned every lead's
# component_id in the index once per indicator, minutes on a 30k-lead component.
CLEAR_STALE_LINKS = f"""
CALL () {{
  MATCH (i:Indicator) WHERE i.component_id IN $ids
  WITH i WHERE CASE WHEN {linking()} THEN NOT any(x IN [(i)<-[:NAMES]-(l:Lead) | l.component_id] WHERE x = i.component_id)
                    ELSE true END
  SET i.component_id = null
}}
CALL () {{
  MATCH (a:Agent) WHERE a.component_id IN $ids
    AND NOT any(x IN [(a)<-[:OPERATED_BY]-(l:Lead) | l.component_id] WHERE x = a.component_id)
  SET a.component_id = null
}}
"""

# A component keeps only its size (for merges); what analysts read is the Network (community) summary.
REFRESH_SUMMARIES = """
UNWIND $ids AS cid
CALL (cid) { MATCH (l:Lead {component_id: cid}) RETURN count(l) AS leads }
WITH * WHERE leads >= $min_leads
MERGE (c:Component {id: cid})
SET c.leads = leads, c.updated_at = datetime()
"""

DROP_EMPTY = """
UNWIND $ids AS nid MATCH (n:Component {id: nid}) WHERE COUNT { (:Lead {component_id: nid}) } < $min_leads
DETACH DELETE n
"""

MARK_ASSIGNED = "MATCH (b:Batch {id: $batch_id}) SET b.networks_assigned_at = datetime()"
MARK_ALL_ASSIGNED = """
MATCH (b:Batch {status: 'committed'}) WHERE b.networks_assigned_at IS NULL AND b.committed_at <= $started
SET b.networks_assigned_at = datetime()
"""
# Aggregated batches only (ingest/pipeline.checks_ready): a batch still being aggregated has its hook to come, and
# its indicators' lead counts (which decide what links) are not final. At 1M rows aggregation takes ~7 minutes; the
# upkeep job used to start on such a batch, hold the lease, deadlock with the aggregation's writes and make the
# batch's own hook wait, then redo the work.
PENDING_BATCHES = """
MATCH (b:Batch {status: 'committed'}) WHERE b.networks_assigned_at IS NULL AND b.aggregated_seq > b.last_line
RETURN b.id AS id ORDER BY b.committed_at
"""

DB_NOW = "RETURN datetime() AS now"


async def acquire_lease(graph: Graph, holder: str, ttl_ms: int) -> bool:
    return bool(await graph.write(ACQUIRE_LEASE, {"holder": holder, "ttl_ms": ttl_ms}))


async def release_lease(graph: Graph, holder: str) -> None:
    await graph.write(RELEASE_LEASE, {"holder": holder})


async def lease_held(graph: Graph) -> bool:
    """Whether a live holder has the network lease now (one that died holds it until it expires)."""
    return bool((await graph.read(LEASE_HELD))[0]["held"])


async def batch_span(graph: Graph, batch_id: str) -> tuple[int | None, bool]:
    """The last line of a committed batch (None when it is not committed) and whether its networks are assigned."""
    rows = await graph.read(BATCH_SPAN, {"batch_id": batch_id})
    return (rows[0]["last_line"], rows[0]["assigned"]) if rows else (None, False)


async def batch_leads(graph: Graph, batch_id: str, start: int, end: int, cap: int) -> list[dict[str, Any]]:
    return await graph.read_values(BATCH_LEADS, {"batch_id": batch_id, "from": start, "to": end, "cap": cap})


async def anchored_leads(graph: Graph, batch_id: str, start: int, keys: list[str], agents: list[str],
                         cap: int) -> list[dict[str, Any]]:
    """The leads naming these indicators or agents, other than the batch's own from line `start` on."""
    return await graph.read_values(ANCHORED_LEADS, {"keys": keys, "agents": agents, "batch_id": batch_id, "from": start,
                                                    "cap": cap})


async def network_sizes(graph: Graph, ids: list[str]) -> dict[str, int]:
    return {row["id"]: row["leads"] for row in await graph.read(NETWORK_SIZES, {"ids": ids})}


async def network_members(graph: Graph, ids: list[str], cap: int) -> list[dict[str, Any]]:
    return await graph.read_values(NETWORK_MEMBERS, {"ids": ids, "cap": cap})


async def all_leads_page(graph: Graph, after: str, page: int, cap: int) -> list[dict[str, Any]]:
    return await graph.read_values(ALL_LEADS, {"after": after, "page": page, "cap": cap})


async def all_component_ids(graph: Graph) -> set[str]:
    return {row["id"] for row in await graph.read(ALL_NETWORK_IDS)}


async def db_now(graph: Graph) -> Any:
    return (await graph.read(DB_NOW))[0]["now"]


async def relabel(graph: Graph, moves: list[dict[str, str]]) -> None:
    await graph.write(RELABEL, {"moves": moves})


async def assign(graph: Graph, rows: list[dict[str, Any]], cap: int) -> None:
    await graph.write(ASSIGN, {"rows": rows, "cap": cap})


async def clear_leads(graph: Graph, ids: list[str]) -> None:
    await graph.write(CLEAR_LEADS, {"ids": ids})


async def clear_stale_links(graph: Graph, ids: list[str], cap: int) -> None:
    await graph.write(CLEAR_STALE_LINKS, {"ids": ids, "cap": cap})


async def refresh_summaries(graph: Graph, ids: list[str], min_leads: int) -> None:
    await graph.write(REFRESH_SUMMARIES, {"ids": ids, "min_leads": min_leads})


async def networks_of_components(graph: Graph, ids: list[str]) -> set[str]:
    return {row["id"] for row in await graph.read(NETWORKS_OF_COMPONENTS, {"ids": ids})}


async def components_of_networks(graph: Graph, ids: list[str]) -> set[str]:
    return {row["id"] for row in await graph.read(COMPONENTS_OF_NETWORKS, {"ids": ids})}


async def drop_empty(graph: Graph, ids: list[str], min_leads: int) -> None:
    await graph.write(DROP_EMPTY, {"ids": ids, "min_leads": min_leads})


async def mark_assigned(graph: Graph, batch_id: str) -> None:
    await graph.write(MARK_ASSIGNED, {"batch_id": batch_id})


async def mark_all_assigned(graph: Graph, started: Any) -> None:
    await graph.write(MARK_ALL_ASSIGNED, {"started": started})


async def pending_batches(graph: Graph) -> list[str]:
    return [row["id"] for row in await graph.read(PENDING_BATCHES)]
