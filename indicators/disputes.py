"""Disputes: how a wrongly listed consumer's complaint, through a member, stops an identifier from matching —
recorded, audited and never silently deleted. A member may dispute only an identifier it may know of."""

from __future__ import annotations

import uuid
from typing import Any

from audit.log import AuditLog
from audit.reader import Reader
from core.errors import BadInput, NotFound
from core.principal import Principal
from graph import disputes as repo
from graph import matchability
from graph.database import Graph
from ingest.pseudonym import AllianceKey, require_identified
from networks.flows import refresh_networks

MAX_REASON = 2000
STATUSES = ("open", "upheld", "rejected")
NOTHING_TO_DISPUTE = "the alliance holds no record of this identifier visible to you, so there is nothing to dispute"


def reason_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BadInput("a reason is required (e.g. the consumer's complaint reference)", field="reason")
    if len(text) > MAX_REASON:
        raise BadInput(f"reason is longer than {MAX_REASON} characters", field="reason")
    return text


async def dispute(graph: Graph, audit: AuditLog, principal: Principal, alliance_key: AllianceKey, *,
                  type: str, value: str, reason: str, request_id: str | None = None) -> dict[str, Any]:
    key = require_identified(alliance_key, type, value, what="the identifier cannot be disputed").key
    row = await repo.open_dispute(graph, principal, id=uuid.uuid4().hex, key=key, reason=reason_text(reason))
    if row is None:
        audit.record(principal, "dispute.open", subject=key, outcome="none", request_id=request_id)
        raise NotFound(NOTHING_TO_DISPUTE)
    audit.record(principal, "dispute.open", subject=[row["id"], key], request_id=request_id)
    return row


async def resolve(graph: Graph, audit: AuditLog, principal: Principal, *, dispute_id: str, uphold: bool,
                  note: str | None, request_id: str | None = None) -> dict[str, Any]:
    row = await repo.resolve_dispute(graph, dispute_id, uphold=uphold, principal_id=principal.id, note=note)
    if row is None:
        raise NotFound(f"no open dispute {dispute_id}")
    # Private checks (issue 15): an upheld indicator stops matching within seconds.
    await matchability.keys_changed(graph, [row["indicator_key"]], "dispute.resolve")

    if uphold and row.get("network_id"):
        await refresh_networks(graph, [row["network_id"]])  # a retracted indicator links nothing any more
    audit.record(principal, "dispute.uphold" if uphold else "dispute.reject", subject=[dispute_id, row["indicator_key"]],
                 request_id=request_id)
    return row


async def list_disputes(reader: Reader, *, status: str | None, first: int) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise BadInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    rows = await repo.disputes(reader.graph, reader.principal, status=status, first=max(1, min(first, 500)))
    reader.record("disputes.read", subject=[row["id"] for row in rows], found=bool(rows), detail=f"status={status}")
    return rows
