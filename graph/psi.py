"""Private checks and lead collision (issue 15): the keys a PSI setup or a lead list is built from.

Only keys leave these queries; the PSI protocol (psi/) keeps them from whoever asks.
"""

from __future__ import annotations

from typing import AsyncIterator, NamedTuple

from core.principal import Principal
from graph import visibility
from graph.database import Graph


class Split(NamedTuple):
    """Indicator keys read for a private-check setup, by whether a private check may match them now."""
    matchable: list[str]
    unmatchable: list[str]


# One page of the indicators in key order after `$after` (the unique constraint's index gives the order and the
# start): the privately matchable keys among them, how many it read and the last key, in one record. A full refresh
# reads the whole set a page at a time, so no answer holds every key at once (1.9 M rows at 1M leads, ~1 GB of
# driver records in the API process); and the keys come as one list, not a record and a dict per indicator.
PAGE_KEYS = 50_000  # indicators per page of a full refresh's read
PAGE_LINES = 50_000  # batch lines per read of a batch's indicators


MATCHABLE_KEYS_PAGE = f"""
MATCH (i:Indicator) WHERE i.key > $after
WITH i ORDER BY i.key LIMIT $limit
WITH i.key AS key, {visibility.privately_matchable("i")} AS matchable
RETURN collect(CASE WHEN matchable THEN key END) AS keys, count(*) AS read, max(key) AS last
"""

# A lead list for a collision: leads the principal may read, of one category, never RED (RED never leaves its
# node, not even blinded); `$own` limits it to the principal's member's leads (the asking side's own list).
LEAD_LIST_KEYS = f"""
MATCH (l:Lead {{category: $category}})
WHERE {visibility.lead("l")} AND l.tlp <> 'RED' AND (NOT $own OR l.member_code = $vis.member)
MATCH (l)-[:NAMES]->(i:Indicator) WHERE NOT coalesce(i.benign, false)
RETURN DISTINCT i.key AS key
"""

# `key` and `matchable` as two key lists (a null `matchable` counts as not): the two queries below end with it.
_SPLIT = ("collect(CASE WHEN matchable THEN key END) AS yes, "
          "collect(CASE WHEN matchable THEN null ELSE key END) AS no")

# The indicators one batch's leads name (retracted leads too: their indicators may have lost an aggregate), split
# by whether each is privately matchable now: what a refresh after that batch reads, and nothing more. Read
# `PAGE_LINES` lines of the batch at a time (an indicator named in two windows comes back twice, with one answer),
# each window as one record of two key lists: a row per indicator held ~4x the keys' size in driver records and
# dicts while a window was taken in (+180 MB of the API process for the 2 M keys of a 1M-row batch, bench/RUNS.md).
BATCH_MATCHABILITY = f"""
MATCH (l:Lead) WHERE l.batch_id = $batch_id AND l.seq >= $from AND l.seq < $to
MATCH (l)-[:NAMES]->(i:Indicator)
WITH DISTINCT i
WITH i.key AS key, {visibility.privately_matchable("i")} AS matchable
RETURN {_SPLIT}
"""

# The same for named indicators (a retraction, a dispute ruling, a purge): a key no longer in the graph is not matchable.
KEYS_MATCHABILITY = f"""
UNWIND $keys AS key
OPTIONAL MATCH (i:Indicator {{key: key}})
WITH key, i IS NOT NULL AND coalesce({visibility.privately_matchable("i")}, false) AS matchable
RETURN {_SPLIT}
"""

BATCH_LAST_LINE = """
MATCH (b:Batch {id: $batch_id}) RETURN b.last_line AS last_line
"""

MASKED = """
UNWIND $keys AS key
MATCH (i:Indicator {key: key})
RETURN i.key AS key, i.type AS type, i.masked AS masked ORDER BY key
"""


async def matchable_key_pages(graph: Graph, principal: Principal) -> AsyncIterator[list[str]]:
    """The privately matchable keys, a page of at most `PAGE_KEYS` indicators (in key order) at a time."""
    params, size = visibility.params(principal), PAGE_KEYS
    after = ""
    while True:
        page = (await graph.read_values(MATCHABLE_KEYS_PAGE, {"after": after, "limit": size, **params}))[0]
        if page["read"]:
            yield page["keys"]
        if page["read"] < size:
            return
        after = page["last"]


async def batch_matchability(graph: Graph, principal: Principal, batch_id: str) -> AsyncIterator[Split]:
    """The keys of the indicators the batch's leads name, matchable and not, a window of `PAGE_LINES` lines at a time
    (an indicator named in two windows comes back in both, with one answer)."""
    rows = await graph.read_values(BATCH_LAST_LINE, {"batch_id": batch_id})
    last = rows[0]["last_line"] if rows else None
    params = {"batch_id": batch_id, **visibility.params(principal)}
    for start in range(0, (last or 0) + 1, PAGE_LINES):
        row = (await graph.read_values(BATCH_MATCHABILITY, {**params, "from": start, "to": start + PAGE_LINES}))[0]
        yield Split(row["yes"], row["no"])


async def keys_matchability(graph: Graph, principal: Principal, keys: list[str]) -> AsyncIterator[Split]:
    """The named keys, matchable and not, 5,000 at a time."""
    params = visibility.params(principal)
    for start in range(0, len(keys), 5000):
        row = (await graph.read_values(KEYS_MATCHABILITY, {"keys": keys[start:start + 5000], **params}))[0]
        yield Split(row["yes"], row["no"])


async def lead_list_keys(graph: Graph, principal: Principal, category: str, *, own: bool) -> list[str]:
    rows = await graph.read_values(LEAD_LIST_KEYS, {"category": category, "own": own, **visibility.params(principal)})
    return [row["key"] for row in rows]


async def masked(graph: Graph, keys: list[str]) -> list[dict[str, str]]:
    """Type and masked form of indicators the caller already knows it holds (its own lead list)."""
    return await graph.read_values(MASKED, {"keys": keys})
