"""Checks: what does the alliance know about a loan applicant's identifiers, and how sure is it?

Raw values are normalized and hashed in memory; only keyed hashes reach Neo4j, the audit trail and logs.
One query answers every identifier of the call (graph/checks.py); scoring is check/scoring.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from access.principal import Principal
from audit.log import AuditLog
from check import scoring
from check.networks import NETWORK_DEGREE_CAP
from core.errors import BadInput
from graph import checks as repo
from graph.database import Graph
from ingest.identifiers import Invalid, normalize
from ingest.pseudonym import AllianceKey, indicator_key, mask

MAX_IDENTIFIERS = 10_000
NEIGHBOURS_FOR_BOOST = 5

NO_RECORD, ACTIVE, DISPUTED, RETRACTED, EXPIRED, BENIGN, INVALID = (
    "no_record", "active", "disputed", "retracted", "expired", "benign", "invalid")


@dataclass(frozen=True)
class IdentifierQuery:
    type: str
    value: str


@dataclass(frozen=True)
class LeadQuery:
    ref: str
    identifiers: Sequence[IdentifierQuery]


@dataclass
class Verdict:
    input_type: str
    status: str
    reason: str | None = None
    type: str | None = None
    masked: str | None = None
    score: scoring.Score | None = None
    network: dict[str, Any] | None = None

    @property
    def points(self) -> int:
        return self.score.score if self.score and self.status in (ACTIVE, DISPUTED) else 0


@dataclass
class LeadVerdict:
    ref: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def score(self) -> int:
        """The lead's score is its most damning identifier's: explainable, and one bad phone is enough."""
        return max((v.points for v in self.verdicts), default=0)

    @property
    def level(self) -> str:
        return scoring.level_of(self.score)


async def check_leads(
    graph: Graph, audit: AuditLog, principal: Principal, alliance_key: AllianceKey, leads: Sequence[LeadQuery], *,
    now: datetime | None = None, request_id: str | None = None,
) -> list[LeadVerdict]:
    total = sum(len(lead.identifiers) for lead in leads)
    if total > MAX_IDENTIFIERS:
        raise BadInput(f"a check accepts at most {MAX_IDENTIFIERS} identifiers per call (got {total}); split the call")
    now = now or datetime.now(timezone.utc)
    results = [LeadVerdict(lead.ref) for lead in leads]
    pending: dict[str, list[Verdict]] = {}
    for result, lead in zip(results, leads):
        for identifier in lead.identifiers:
            verdict, key = _classify(identifier, alliance_key)
            result.verdicts.append(verdict)
            if key is not None:
                pending.setdefault(key, []).append(verdict)
    if pending:
        rows = await repo.lookup(graph, principal, list(pending), hub_cap=NETWORK_DEGREE_CAP, neighbours=NEIGHBOURS_FOR_BOOST)
        for row in rows:
            for verdict in pending[row["key"]]:
                _judge(verdict, row, principal, now)
    audit.record(principal, "check", subject=list(pending), request_id=request_id,
                 detail=f"leads={len(leads)} identifiers={total}")
    return results


def _classify(identifier: IdentifierQuery, alliance_key: AllianceKey) -> tuple[Verdict, str | None]:
    result = normalize(identifier.type, identifier.value)
    if isinstance(result, Invalid):
        status = BENIGN if result.benign else INVALID
        return Verdict(input_type=identifier.type, status=status, reason=result.reason), None
    verdict = Verdict(input_type=identifier.type, status=NO_RECORD, type=result.type.value, masked=mask(result))
    return verdict, indicator_key(alliance_key, result)


def _judge(verdict: Verdict, row: dict[str, Any], principal: Principal, now: datetime) -> None:
    if row["benign"]:
        verdict.status, verdict.reason = BENIGN, row["benign_reason"] or "a known benign number"
        return
    if not row["known"] or not row["reports"]:
        return  # no record, or nothing the caller may see
    if row["status"] == "retracted":
        verdict.status, verdict.reason = RETRACTED, "an operator upheld a dispute: this identifier no longer matches"
        return
    reports = [_report(r, row["key"], principal) for r in row["reports"]]
    neighbour_scores = [scoring.score([_report(r, n["key"], principal) for r in n["reports"]], now=now).base
                        for n in row["neighbours"] if n["reports"]]
    verdict.score = scoring.score(reports, now=now, neighbour_scores=neighbour_scores)
    verdict.network = row["network"]
    if row["status"] == "disputed":
        verdict.status, verdict.reason = DISPUTED, "a member disputes this listing; an operator is reviewing it"
    elif verdict.score.expired:
        verdict.status = EXPIRED
    else:
        verdict.status = ACTIVE


def _report(row: dict[str, Any], key: str, principal: Principal) -> scoring.Report:
    own = row["member_code"] == principal.member_code
    named = own or principal.is_operator or row["attributed"]
    return scoring.Report(
        member_code=row["member_code"] if named else None,
        member_ref=row.get("member_ref") or _member_ref(row["member_code"], key), node=row.get("node"),
        category=row["category"], tlp=row["tlp"], leads=row["leads"],
        max_confidence=row["max_confidence"], max_confidence_at=_from_millis(row["max_confidence_at"]),
        last_confidence=row["last_confidence"], last_seen=_from_millis(row["last_seen"]),
        first_seen=_from_millis(row["first_seen"]), reliability=row["reliability"],
    )


def _member_ref(member_code: str, key: str) -> str:
    """Stable within one identifier, different across identifiers: a hidden filer counts once but cannot be tracked."""
    return hashlib.sha256(f"{member_code}|{key}".encode()).hexdigest()[:10]


def _from_millis(millis: int) -> datetime:
    """graph/checks.py returns times as epoch milliseconds (cheap to decode, unlike driver DateTimes)."""
    return datetime.fromtimestamp(millis / 1000, timezone.utc)


# --- federation hook (issue 12): federation/flows.py merges peers' rows into the local ones and judges them with
# these, so a federated verdict is scored exactly like a local one. Peer rows carry member_ref and node. ---
classify = _classify
judge = _judge
member_ref = _member_ref
