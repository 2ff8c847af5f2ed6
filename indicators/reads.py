"""Reading one indicator as a principal may: known only through what the caller may see (graph/visibility.py)."""

from __future__ import annotations

from typing import Any

from audit.reader import Reader
from graph import lead_reads as repo
from ingest.pseudonym import AllianceKey, require_identified


async def read_indicator(reader: Reader, alliance_key: AllianceKey, type: str, value: str) -> dict[str, Any] | None:
    """What the alliance knows about one raw identifier, or None — the same None for an unknown identifier and
    for one known only through leads the caller may not see."""
    key = require_identified(alliance_key, type, value).key
    row = await repo.indicator(reader.graph, reader.principal, key)
    reader.record("indicator.read", subject=key, found=row is not None)
    return row
