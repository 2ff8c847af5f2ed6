"""Reading the audit trail (operators), itself an audited read.

Records are queued and appended to the chain every half second (audit/log.py); a search first appends what is
queued, so an operator sees every record made before the search, up to the moment of asking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reader import Reader
from graph import audit as repo


async def search(reader: Reader, *, member_code: str | None = None, principal_id: str | None = None,
                 action: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 before_seq: int | None = None, first: int = 100) -> list[dict[str, Any]]:
    await reader.audit.flush()
    rows = await repo.search(
        reader.graph, reader.principal, member_code=member_code, principal_id=principal_id, action=action,
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        before_seq=before_seq, limit=max(1, min(first, 1000)))
    reader.record("audit.read", found=bool(rows), detail=f"member={member_code} principal={principal_id} action={action}")
    return rows
