"""Reading leads and indicators for a principal: the Cypher, each query built from graph/visibility.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph

_LEAD_FIELDS = f"""l {{.id, .category, .observed_at, .confidence, .tlp, .agent, .note, .reference, .status,
  .batch_id, .created_at, .network_id, filer: {visibility.filer("l")},
  indicators: [(l)-[:NAMES]->(i) | i {{.key, .type, .masked}}]}}"""

LEAD = f"""
MATCH (l:Lead {{id: $id}})
WHERE {visibility.lead("l")}
RETURN {_LEAD_FIELDS} AS lead
"""

# The caller's own member's leads, newest first; the cursor is (created_at, id).
OWN_LEADS = f"""
MATCH (l:Lead)
WHERE l.member_code = $vis.member AND {visibility.lead("l")}
  AND ($category IS NULL OR l.category = $category)
  AND ($batch_id IS NULL OR l.batch_id = $batch_id)
  AND ($agent IS NULL OR l.agent = $agent)
  AND ($observed_from IS NULL OR l.observed_at >= $observed_from)
  AND ($observed_to IS NULL OR l.observed_at < $observed_to)
  AND ($after_created IS NULL OR l.created_at < $after_created OR (l.created_at = $after_created AND l.id < $after_id))
RETURN {_LEAD_FIELDS} AS lead
ORDER BY l.created_at DESC, l.id DESC
LIMIT $first
"""

INDICATOR = f"""
MATCH (i:Indicator {{key: $key}}) WHERE {visibility.indicator("i")}
OPTIONAL MATCH (m:Member)-[r:REPORTED]->(i)
WHERE {visibility.reported("r", "m")}
WITH i, collect(r) AS rs, collect(DISTINCT m.code) AS members
OPTIONAL MATCH (net:Network {{id: i.network_id}}) WHERE {visibility.network("net")}
RETURN i {{.key, .type, .masked, .status, .benign, .benign_reason, .region, .carrier, .phone_type, .province,
          .card_network, .platform, .vendor, .domain}} AS indicator,
       reduce(n = 0, r IN rs | n + r.leads) AS leads, size([c IN members WHERE c IS NOT NULL]) AS members,
       [x IN rs | x.category] AS categories,
       reduce(f = null, r IN rs | CASE WHEN f IS NULL OR r.first_seen < f THEN r.first_seen ELSE f END) AS first_seen,
       reduce(l = null, r IN rs | CASE WHEN l IS NULL OR r.last_seen > l THEN r.last_seen ELSE l END) AS last_seen,
       CASE WHEN net IS NULL THEN null ELSE net {{.id, .leads, .members, .categories}} END AS network
"""


async def lead(graph: Graph, principal: Principal, lead_id: str) -> dict[str, Any] | None:
    rows = await graph.read(LEAD, {"id": lead_id, **visibility.params(principal)})
    return rows[0]["lead"] if rows else None


async def own_leads(graph: Graph, principal: Principal, *, first: int, after: tuple[datetime, str] | None,
                    category: str | None = None, batch_id: str | None = None, agent: str | None = None,
                    observed_from: datetime | None = None, observed_to: datetime | None = None) -> list[dict[str, Any]]:
    rows = await graph.read(OWN_LEADS, {
        "first": first, "after_created": after[0] if after else None, "after_id": after[1] if after else None,
        "category": category, "batch_id": batch_id, "agent": agent,
        "observed_from": observed_from, "observed_to": observed_to, **visibility.params(principal),
    })
    return [row["lead"] for row in rows]


async def indicator(graph: Graph, principal: Principal, key: str) -> dict[str, Any] | None:
    rows = await graph.read(INDICATOR, {"key": key, **visibility.params(principal)})
    return rows[0] if rows else None
