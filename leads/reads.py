"""Reading leads as a principal may (graph/lead_reads.py applies visibility), each read audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reader import Reader
from graph import lead_reads as repo


async def read_lead(reader: Reader, lead_id: str) -> dict[str, Any] | None:
    row = await repo.lead(reader.graph, reader.principal, lead_id)
    reader.record("lead.read", subject=lead_id, found=row is not None)
    return row


async def own_leads(reader: Reader, *, first: int, after: tuple[datetime, str] | None, category: str | None = None,
                    batch_id: str | None = None, agent: str | None = None, observed_from: datetime | None = None,
                    observed_to: datetime | None = None) -> list[dict[str, Any]]:
    """The caller's member's leads, newest first; `first` rows at most (ask one more to know if a page follows)."""
    rows = await repo.own_leads(reader.graph, reader.principal, first=first, after=after, category=category,
                                batch_id=batch_id, agent=agent, observed_from=observed_from, observed_to=observed_to)
    reader.record("leads.read", subject=[row["id"] for row in rows], found=bool(rows),
                  detail=f"category={category} batch={batch_id}")
    return rows
