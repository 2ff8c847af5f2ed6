"""Disputes and retraction in Neo4j: a consumer's complaint through a member, an operator's ruling, a
member withdrawing its own leads. Retracted leads and upheld indicators are retained for audit, never matched."""

from __future__ import annotations

from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph
from graph.networks import takes_part

# Only an indicator the disputing member may know of: one known only through leads it may not see is
# answered exactly as an unknown one (visibility.indicator).
OPEN_DISPUTE = f"""
MATCH (i:Indicator {{key: $key}}) WHERE {visibility.indicator("i")}
CREATE (d:Dispute {{id: $id, indicator_key: $key, member_code: $vis.member, principal_id: $principal_id,
                   reason: $reason, status: 'open', created_at: datetime()}})
CREATE (d)-[:DISPUTES]->(i)
SET i.status = CASE WHEN i.status = 'retracted' THEN 'retracted' ELSE 'disputed' END
RETURN d {{.*, masked: i.masked, type: i.type}} AS dispute
"""

RESOLVE_DISPUTE = """
MATCH (d:Dispute {id: $id})-[:DISPUTES]->(i:Indicator)
WHERE d.status = 'open'
SET d.status = CASE WHEN $uphold THEN 'upheld' ELSE 'rejected' END, d.resolved_at = datetime(),
    d.resolved_by = $principal_id, d.resolution_note = $note
WITH d, i
OPTIONAL MATCH (other:Dispute {status: 'open'})-[:DISPUTES]->(i)
WITH d, i, count(other) AS still_open
SET i.status = CASE WHEN $uphold OR i.status = 'retracted' THEN 'retracted'
                    WHEN still_open > 0 THEN 'disputed' ELSE 'active' END
RETURN d {.*, masked: i.masked, type: i.type, network_id: i.network_id} AS dispute
"""

DISPUTES = f"""
MATCH (d:Dispute)-[:DISPUTES]->(i:Indicator)
WHERE ($status IS NULL OR d.status = $status) AND {visibility.own("d")}
RETURN d {{.*, masked: i.masked, type: i.type}} AS dispute
ORDER BY d.created_at DESC
LIMIT $first
"""

# Only the filer's own active leads; returns the (member, indicator) pairs whose aggregates must be rebuilt.
RETRACT_LEADS = """
UNWIND $ids AS id
MATCH (l:Lead {id: id}) WHERE l.member_code = $member_code AND l.status = 'active'
SET l.status = 'retracted', l.retracted_at = datetime(), l.retraction_reason = $reason
WITH l
MATCH (l)-[:NAMES]->(i:Indicator)
RETURN collect(DISTINCT l.id) AS retracted, collect(DISTINCT i.key) AS keys, collect(DISTINCT l.network_id) AS networks
"""

# Rebuild one member's aggregates on the given indicators from its active, committed, aggregated leads.
REBUILD_AGGREGATES = f"""
UNWIND $keys AS key
MATCH (i:Indicator {{key: key}})
OPTIONAL MATCH (:Member {{code: $member_code}})-[old:REPORTED]->(i)
DELETE old
WITH DISTINCT i
MATCH (m:Member {{code: $member_code}})
CALL (i, m) {{
  MATCH (i)<-[:NAMES]-(l:Lead)
  WHERE l.member_code = m.code AND {visibility.aggregated_lead("l")}
  WITH l ORDER BY l.confidence DESC, l.observed_at DESC
  WITH l.tlp AS tlp, l.category AS category, collect(l) AS leads
  WITH tlp, category, leads, leads[0] AS strongest,
       reduce(last = leads[0], x IN leads | CASE WHEN x.observed_at > last.observed_at THEN x ELSE last END) AS latest,
       reduce(first = leads[0].observed_at, x IN leads | CASE WHEN x.observed_at < first THEN x.observed_at ELSE first END) AS first_seen
  CREATE (m)-[:REPORTED {{tlp: tlp, category: category, leads: size(leads), max_confidence: strongest.confidence,
                         max_confidence_at: strongest.observed_at, last_confidence: latest.confidence,
                         last_seen: latest.observed_at, first_seen: first_seen,
                         attributed: any(x IN leads WHERE coalesce(x.attributed, false))}}]->(i)
}}
WITH i
SET i.lead_count = COUNT {{ MATCH (i)<-[:NAMES]-(o:Lead) WHERE {takes_part("o")} AND {visibility.aggregated_lead("o")} }}
RETURN count(i) AS rebuilt
"""


async def open_dispute(graph: Graph, principal: Principal, *, id: str, key: str, reason: str) -> dict[str, Any] | None:
    rows = await graph.write(OPEN_DISPUTE, {"id": id, "key": key, "reason": reason, "principal_id": principal.id,
                                            **visibility.params(principal)})
    return rows[0]["dispute"] if rows else None


async def resolve_dispute(graph: Graph, dispute_id: str, *, uphold: bool, principal_id: str, note: str | None) -> dict[str, Any] | None:
    rows = await graph.write(RESOLVE_DISPUTE, {"id": dispute_id, "uphold": uphold, "principal_id": principal_id, "note": note})
    return rows[0]["dispute"] if rows else None


async def disputes(graph: Graph, principal: Principal, *, status: str | None, first: int) -> list[dict[str, Any]]:
    rows = await graph.read(DISPUTES, {"status": status, "first": first, **visibility.params(principal)})
    return [row["dispute"] for row in rows]


async def retract_leads(graph: Graph, member_code: str, ids: list[str], reason: str) -> tuple[list[str], list[str], list[str]]:
    """(retracted lead ids, the indicator keys they named, the networks they were in)."""
    rows = await graph.write(RETRACT_LEADS, {"ids": ids, "member_code": member_code, "reason": reason})
    return (rows[0]["retracted"], rows[0]["keys"], rows[0]["networks"]) if rows else ([], [], [])


async def rebuild_aggregates(graph: Graph, member_code: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 500):
        await graph.write(REBUILD_AGGREGATES, {"member_code": member_code, "keys": keys[start:start + 500]})
