"""Private checks and lead collision (issue 15): the keys a PSI setup or a lead list is built from.

Only keys leave these queries; the PSI protocol (psi/) keeps them from whoever asks.
"""

from __future__ import annotations

from core.principal import Principal
from graph import visibility
from graph.database import Graph

MATCHABLE_KEYS = f"""
MATCH (i:Indicator) WHERE {visibility.privately_matchable("i")}
RETURN i.key AS key
"""

# A lead list for a collision: leads the principal may read, of one category, never RED (RED never leaves its
# node, not even blinded); `$own` limits it to the principal's member's leads (the asking side's own list).
LEAD_LIST_KEYS = f"""
MATCH (l:Lead {{category: $category}})
WHERE {visibility.lead("l")} AND l.tlp <> 'RED' AND (NOT $own OR l.member_code = $vis_member)
MATCH (l)-[:NAMES]->(i:Indicator) WHERE NOT coalesce(i.benign, false)
RETURN DISTINCT i.key AS key
"""

# Changes anywhere (another process's batch, a dispute opened or ruled) show here: the refresher polls it cheaply.
WATERMARK = """
CALL () { MATCH (b:Batch {status: 'committed'}) RETURN max(b.committed_at) AS batches, count(b) AS committed }
CALL () { MATCH (d:Dispute) RETURN max(coalesce(d.resolved_at, d.created_at)) AS disputes, count(d) AS opened }
RETURN toString(batches) + '|' + toString(committed) + '|' + toString(disputes) + '|' + toString(opened) AS mark
"""

MASKED = """
UNWIND $keys AS key
MATCH (i:Indicator {key: key})
RETURN i.key AS key, i.type AS type, i.masked AS masked ORDER BY key
"""


async def matchable_keys(graph: Graph, principal: Principal) -> list[str]:
    return [row["key"] for row in await graph.read_values(MATCHABLE_KEYS, visibility.params(principal))]


async def watermark(graph: Graph) -> str:
    rows = await graph.read_values(WATERMARK)
    return str(rows[0]["mark"]) if rows else ""


async def lead_list_keys(graph: Graph, principal: Principal, category: str, *, own: bool) -> list[str]:
    rows = await graph.read_values(LEAD_LIST_KEYS, {"category": category, "own": own, **visibility.params(principal)})
    return [row["key"] for row in rows]


async def masked(graph: Graph, keys: list[str]) -> list[dict[str, str]]:
    """Type and masked form of indicators the caller already knows it holds (its own lead list)."""
    return await graph.read_values(MASKED, {"keys": keys})
