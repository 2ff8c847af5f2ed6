"""Disputes and retraction: how a wrongly listed consumer's complaint, or a member's own correction,
stops an identifier or a lead from matching — recorded, audited and never silently deleted."""

from __future__ import annotations

import uuid
from typing import Any

from access.principal import Principal
from audit.log import AuditLog
from core.errors import BadInput, NotFound
from graph import disputes as repo
from graph.database import Graph
from graph.networks import refresh_networks
from ingest.identifiers import Invalid, normalize
from ingest.pseudonym import AllianceKey, indicator_key

MAX_REASON = 2000
MAX_RETRACT = 10_000


def _reason(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BadInput("a reason is required (e.g. the consumer's complaint reference)", field="reason")
    if len(text) > MAX_REASON:
        raise BadInput(f"reason is longer than {MAX_REASON} characters", field="reason")
    return text


async def dispute(graph: Graph, audit: AuditLog, principal: Principal, alliance_key: AllianceKey, *,
                  type: str, value: str, reason: str, request_id: str | None = None) -> dict[str, Any]:
    normalized = normalize(type, value)
    if isinstance(normalized, Invalid):
        raise BadInput(f"the identifier cannot be disputed: {normalized.reason}", field="value")
    key = indicator_key(alliance_key, normalized)
    row = await repo.open_dispute(graph, id=uuid.uuid4().hex, key=key, member_code=principal.member_code,
                                  principal_id=principal.id, reason=_reason(reason))
    if row is None:
        raise NotFound("the alliance holds no record of this identifier, so there is nothing to dispute")
    audit.record(principal, "dispute.open", subject=[row["id"], key], request_id=request_id)
    return row


async def resolve(graph: Graph, audit: AuditLog, principal: Principal, *, dispute_id: str, uphold: bool,
                  note: str | None, request_id: str | None = None) -> dict[str, Any]:
    row = await repo.resolve_dispute(graph, dispute_id, uphold=uphold, principal_id=principal.id, note=note)
    if row is None:
        raise NotFound(f"no open dispute {dispute_id}")
    if uphold and row.get("network_id"):
        await refresh_networks(graph, [row["network_id"]])  # a retracted indicator links nothing any more
    audit.record(principal, "dispute.uphold" if uphold else "dispute.reject", subject=[dispute_id, row["indicator_key"]],
                 request_id=request_id)
    return row


async def retract(graph: Graph, audit: AuditLog, principal: Principal, *, lead_ids: list[str], reason: str,
                  request_id: str | None = None) -> list[str]:
    """Withdraw the member's own leads; they stop contributing at once (aggregates are rebuilt)."""
    if not lead_ids:
        raise BadInput("name at least one lead to retract", field="ids")
    if len(lead_ids) > MAX_RETRACT:
        raise BadInput(f"at most {MAX_RETRACT} leads per call", field="ids")
    retracted, keys, networks = await repo.retract_leads(graph, principal.member_code, list(dict.fromkeys(lead_ids)), _reason(reason))
    await repo.rebuild_aggregates(graph, principal.member_code, keys)
    if networks:
        await refresh_networks(graph, networks)
    audit.record(principal, "lead.retract", subject=retracted, request_id=request_id, detail=f"requested={len(lead_ids)}")
    return retracted


async def list_disputes(graph: Graph, principal: Principal, *, status: str | None, first: int) -> list[dict[str, Any]]:
    if status is not None and status not in ("open", "upheld", "rejected"):
        raise BadInput("status must be open, upheld or rejected", field="status")
    return await repo.disputes(graph, operator=principal.is_operator, member_code=principal.member_code,
                               status=status, first=max(1, min(first, 500)))
