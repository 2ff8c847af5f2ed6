"""Agent networks in Neo4j: the Cypher that reads the links between leads and writes network assignments.

Each function runs one query. What a network is and how ids are decided is networks/linking.py; the flows that
read links page by page, hold the writers' lease and write back (incremental and full) are networks/flows.py;
reading networks for a principal is graph/network_reads.py.
"""

from __future__ import annotations

from typing import Any

from graph.database import Graph


def linking(i: str = "i") -> str:
    """An indicator that may link leads: not benign, not retracted, named by at most `$cap` leads."""
    return (f"(NOT coalesce({i}.benign, false) AND coalesce({i}.status, 'active') <> 'retracted'"
            f" AND coalesce({i}.lead_count, 0) <= $cap)")


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

DB_NOW = "RETURN datetime() AS now"


async def acquire_lease(graph: Graph, holder: str, ttl_ms: int) -> bool:
    return bool(await graph.write(ACQUIRE_LEASE, {"holder": holder, "ttl_ms": ttl_ms}))


async def release_lease(graph: Graph, holder: str) -> None:
    await graph.write(RELEASE_LEASE, {"holder": holder})


async def batch_last_line(graph: Graph, batch_id: str) -> int | None:
    """The last line of a committed batch; None when it is not committed."""
    rows = await graph.read(BATCH_SPAN, {"batch_id": batch_id})
    return rows[0]["last_line"] if rows else None


async def batch_leads(graph: Graph, batch_id: str, start: int, end: int, cap: int) -> list[dict[str, Any]]:
    return await graph.read(BATCH_LEADS, {"batch_id": batch_id, "from": start, "to": end, "cap": cap})


async def anchored_leads(graph: Graph, batch_id: str, keys: list[str], agents: list[str], cap: int) -> list[dict[str, Any]]:
    return await graph.read(ANCHORED_LEADS, {"keys": keys, "agents": agents, "batch_id": batch_id, "cap": cap})


async def network_sizes(graph: Graph, ids: list[str]) -> dict[str, int]:
    return {row["id"]: row["leads"] for row in await graph.read(NETWORK_SIZES, {"ids": ids})}


async def network_members(graph: Graph, ids: list[str], cap: int) -> list[dict[str, Any]]:
    return await graph.read(NETWORK_MEMBERS, {"ids": ids, "cap": cap})


async def all_leads_page(graph: Graph, after: str, page: int, cap: int) -> list[dict[str, Any]]:
    return await graph.read(ALL_LEADS, {"after": after, "page": page, "cap": cap})


async def all_network_ids(graph: Graph) -> set[str]:
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


async def refresh_summaries(graph: Graph, ids: list[str], min_leads: int, top: int) -> None:
    await graph.write(REFRESH_SUMMARIES, {"ids": ids, "min_leads": min_leads, "top": top})


async def drop_empty(graph: Graph, ids: list[str], min_leads: int) -> None:
    await graph.write(DROP_EMPTY, {"ids": ids, "min_leads": min_leads})


async def mark_assigned(graph: Graph, batch_id: str) -> None:
    await graph.write(MARK_ASSIGNED, {"batch_id": batch_id})


async def mark_all_assigned(graph: Graph, started: Any) -> None:
    await graph.write(MARK_ALL_ASSIGNED, {"started": started})


async def pending_batches(graph: Graph) -> list[str]:
    return [row["id"] for row in await graph.read(PENDING_BATCHES)]
