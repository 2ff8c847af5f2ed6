"""The federated check: the local graph and every enabled peer asked at once, merged, scored like a local check.

Only indicator keys leave this node. The verdicts come from check.service's own judge, so the formula and
statuses are the local check's; each contribution names the node its counted lead lives on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from access.principal import Principal
from audit.log import AuditLog
from check import service as check_service
from check.networks import NETWORK_DEGREE_CAP
from check.service import MAX_IDENTIFIERS, LeadQuery, LeadVerdict, Verdict
from core.errors import BadInput
from federation.client import OutcomeStatus, PeerOutcome
from federation.merge import merge_rows
from federation.node import Federation
from graph import checks as check_repo
from graph.database import Graph
from ingest.pseudonym import AllianceKey


@dataclass
class FederatedCheck:
    verdicts: list[LeadVerdict]
    peers: list[PeerOutcome]


async def check_leads_federated(
    graph: Graph, audit: AuditLog, federation: Federation, principal: Principal, alliance_key: AllianceKey,
    leads: Sequence[LeadQuery], *, request_id: str | None = None, now: datetime | None = None,
) -> FederatedCheck:
    total = sum(len(lead.identifiers) for lead in leads)
    if total > MAX_IDENTIFIERS:
        raise BadInput(f"a check accepts at most {MAX_IDENTIFIERS} identifiers per call (got {total}); split the call")
    now = now or datetime.now(timezone.utc)
    results = [LeadVerdict(lead.ref) for lead in leads]
    pending: dict[str, list[Verdict]] = {}
    for result, lead in zip(results, leads):
        for identifier in lead.identifiers:
            verdict, key = check_service.classify(identifier, alliance_key)
            result.verdicts.append(verdict)
            if key is not None:
                pending.setdefault(key, []).append(verdict)
    outcomes: list[PeerOutcome] = []
    if pending:
        keys = list(pending)
        peers = await federation.targets(graph)
        rows, outcomes = await asyncio.gather(
            check_repo.lookup(graph, principal, keys, hub_cap=NETWORK_DEGREE_CAP, neighbours=check_service.NEIGHBOURS_FOR_BOOST),
            federation.client.ask_all(peers, keys, alliance_key.version, request_id),
        )
        answers = [outcome.answer for outcome in outcomes if outcome.answer is not None]
        for row in merge_rows(federation.node_id, rows, answers):
            for verdict in pending[row["key"]]:
                check_service.judge(verdict, row, principal, now)
    audit.record(principal, "check", subject=list(pending), request_id=request_id,
                 detail=f"federated leads={len(leads)} identifiers={total} " + _summary(outcomes))
    return FederatedCheck(results, outcomes)


def _summary(outcomes: list[PeerOutcome]) -> str:
    by_status = {status: [o.node_id for o in outcomes if o.status is status] for status in OutcomeStatus}
    return " ".join(f"{status.value.lower()}={','.join(nodes) or '-'}" for status, nodes in by_status.items())
