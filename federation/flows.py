"""The federated check: the local graph and every enabled peer asked at once, merged, scored like a local check.

Only indicator keys leave this node. The verdicts come from check.service's own judge, so the formula and
statuses are the local check's; each contribution names the node its counted lead lives on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from audit.reader import Reader
from check import service as check_service
from check.service import LeadQuery, LeadVerdict
from federation.client import OutcomeStatus, PeerOutcome
from federation.merge import merge_rows
from federation.node import Federation
from graph import checks as check_repo
from ingest.pseudonym import AllianceKey


@dataclass
class FederatedCheck:
    verdicts: list[LeadVerdict]
    peers: list[PeerOutcome]


async def check_leads_federated(
    reader: Reader, federation: Federation, alliance_key: AllianceKey, leads: Sequence[LeadQuery], *,
    now: datetime | None = None,
) -> FederatedCheck:
    results, pending = await check_service.classify_leads(leads, alliance_key)
    outcomes: list[PeerOutcome] = []
    if pending:
        keys = list(pending)
        peers = await federation.targets(reader.graph)
        rows, outcomes = await asyncio.gather(
            check_repo.lookup(reader.graph, reader.principal, keys, hub_cap=check_service.HUB_CAP,
                              neighbours=check_service.NEIGHBOURS_FOR_BOOST),
            federation.client.ask_all(peers, keys, alliance_key.version, reader.request_id),
        )
        answers = [outcome.answer for outcome in outcomes if outcome.answer is not None]
        check_service.judge_rows(pending, merge_rows(federation.node_id, rows, answers), now or datetime.now(timezone.utc))
    total = sum(len(lead.identifiers) for lead in leads)
    reader.record("check", subject=list(pending), detail=f"federated leads={len(leads)} identifiers={total} " + _summary(outcomes))
    return FederatedCheck(results, outcomes)


def _summary(outcomes: list[PeerOutcome]) -> str:
    by_status = {status: [o.node_id for o in outcomes if o.status is status] for status in OutcomeStatus}
    return " ".join(f"{status.value.lower()}={','.join(nodes) or '-'}" for status, nodes in by_status.items())
