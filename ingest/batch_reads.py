"""Reading lead batches and their row reports as a principal may (own member's, or all for operators), audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reader import Reader
from graph import batches as repo


async def read_batch(reader: Reader, batch_id: str) -> dict[str, Any] | None:
    row = await repo.readable_batch(reader.graph, reader.principal, batch_id)
    reader.record("batch.read", subject=batch_id, found=row is not None)
    return row


async def list_batches(reader: Reader, *, first: int = 20, before: datetime | None = None) -> list[dict[str, Any]]:
    rows = await repo.readable_batches(reader.graph, reader.principal, max(1, min(first, 200)), before)
    reader.record("batches.read", subject=[row["id"] for row in rows], found=bool(rows))
    return rows


async def read_report(reader: Reader, batch_id: str, *, detail: str | None = None) -> list[dict[str, Any]] | None:
    """The rows of a batch that were not accepted cleanly; None when the principal may not read the batch."""
    rows = await repo.readable_report(reader.graph, reader.principal, batch_id)
    reader.record("batch.report.read", subject=batch_id, found=rows is not None, detail=detail)
    return rows
