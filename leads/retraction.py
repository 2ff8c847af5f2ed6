"""A member withdrawing its own leads: they stop contributing at once; kept for audit, never silently deleted."""

from __future__ import annotations

from audit.log import AuditLog
from core.errors import BadInput
from core.principal import Principal
from graph import disputes as repo
from graph import matchability
from graph.database import Graph
from indicators.disputes import reason_text
from networks.flows import refresh_networks

MAX_RETRACT = 10_000


async def retract(graph: Graph, audit: AuditLog, principal: Principal, *, lead_ids: list[str], reason: str,
                  request_id: str | None = None) -> list[str]:
    """Withdraw the member's own leads; they stop contributing at once (aggregates are rebuilt)."""
    if not lead_ids:
        raise BadInput("name at least one lead to retract", field="ids")
    if len(lead_ids) > MAX_RETRACT:
        raise BadInput(f"at most {MAX_RETRACT} leads per call", field="ids")
    retracted, keys, networks = await repo.retract_leads(graph, principal.member_code, list(dict.fromkeys(lead_ids)),
                                                         reason_text(reason))
    await repo.rebuild_aggregates(graph, principal.member_code, keys)
    # Private checks (issue 15): the setups re-read these indicators within seconds.
    await matchability.keys_changed(graph, keys, "lead.retract")

    if networks:
        await refresh_networks(graph, networks)
    audit.record(principal, "lead.retract", subject=retracted, request_id=request_id, detail=f"requested={len(lead_ids)}")
    return retracted
