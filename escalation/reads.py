"""Reading escalations, cases and digests as a principal may (graph/escalations.py applies visibility), each read
audited through the caller's Reader (audit/reader.py)."""

from __future__ import annotations

from typing import Any

from audit.reader import Reader
from graph import escalations as repo


async def list_escalations(reader: Reader, *, status: str | None = None, first: int = 50) -> list[dict[str, Any]]:
    rows = await repo.escalations(reader.graph, reader.principal, status=status, first=first)
    reader.record("escalations.read", subject=[r["escalation"]["id"] for r in rows], found=bool(rows))
    return rows


async def read_escalation(reader: Reader, escalation_id: str) -> dict[str, Any] | None:
    rows = await repo.escalations(reader.graph, reader.principal, escalation_id=escalation_id, first=1)
    reader.record("escalation.read", subject=escalation_id, found=bool(rows))
    return rows[0] if rows else None


async def list_cases(reader: Reader, *, status: str | None = None, search: str | None = None,
                     first: int = 50) -> list[dict[str, Any]]:
    rows = await repo.list_cases(reader.graph, reader.principal, status=status, search=search, first=first)
    reader.record("cases.read", subject=[c["id"] for c in rows], found=bool(rows))
    return rows


async def list_digests(reader: Reader, *, jurisdiction: str | None = None, first: int = 14) -> list[dict[str, Any]]:
    rows = await repo.digests(reader.graph, reader.principal, jurisdiction=jurisdiction, first=max(1, min(first, 100)))
    reader.record("digests.read", subject=[d["id"] for d in rows], found=bool(rows))
    return rows
