"""Checks, one's own leads and indicators, disputes and retraction over GraphQL. Resolvers stay thin."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from api.graphql.batches import IdentifierInput
from api.graphql.context import Info
from api.graphql.permissions import require
from api.graphql.peers import PeerOutcome, federated_check  # federation (issue 12)
from check import disputes as dispute_flows
from check import service as check_service
from check.scoring import Contribution as ScoredContribution
from core.errors import BadInput, NotFound
from graph import lead_reads
from graph.members import to_native
from ingest.identifiers import Invalid, normalize
from ingest.pseudonym import indicator_key


@strawberry.enum(description="LOCAL: this node's graph. FEDERATED: also ask the configured peers.")
class CheckScope(Enum):
    LOCAL = "LOCAL"
    FEDERATED = "FEDERATED"


@strawberry.input(description="One loan applicant (or any subject) to check: your reference and its identifiers.")
class LeadCheckInput:
    ref: str
    identifiers: list[IdentifierInput]


@strawberry.type(description="Why an identifier scores what it does: one member's strongest lead (each member counts once).")
class Contribution:
    member: str | None = strawberry.field(description="The reporting member, when you may know it (your own, or attributed)")
    category: str
    tlp: str
    confidence: float
    severity: float
    reliability: float
    decay: float
    age_days: float
    weight: float
    leads: int
    node: str | None = strawberry.field(default=None, description="The node holding the counted lead (federated checks)")


@strawberry.type(description="The agent network an identifier belongs to.")
class NetworkSummary:
    id: str
    size: int
    members: int
    categories: list[str]


@strawberry.type(description="The verdict on one identifier.")
class IdentifierVerdict:
    input_type: str
    type: str | None
    masked: str | None
    status: str = strawberry.field(description="no_record, active, disputed, retracted, expired, benign or invalid")
    reason: str | None
    score: int
    level: str
    categories: list[str]
    members: int = strawberry.field(description="Distinct reporting members you may see")
    first_seen: datetime | None
    last_seen: datetime | None
    base: float = strawberry.field(description="Noisy-OR of member contributions, before the neighbour boost (0–1)")
    boost: float = strawberry.field(description="Bounded boost from high-score network neighbours (0–1)")
    contributions: list[Contribution]
    network: NetworkSummary | None


@strawberry.type(description="The verdict on one checked lead: its most damning identifier's score.")
class LeadCheck:
    ref: str
    score: int
    level: str
    identifiers: list[IdentifierVerdict]


@strawberry.type
class CheckResult:
    checked_at: datetime
    scope: CheckScope
    leads: list[LeadCheck]
    peers: list[PeerOutcome] = strawberry.field(default_factory=list, description="Federated checks: every peer answered, failed or skipped")


@strawberry.type(description="An indicator as you may see it (masked; derived attributes only).")
class IndicatorInfo:
    type: str
    masked: str
    status: str
    benign: bool
    benign_reason: str | None
    attributes: list[str] = strawberry.field(description="name=value pairs: region, carrier, phone type…")
    leads: int
    members: int
    categories: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    network: NetworkSummary | None


@strawberry.type
class LeadIndicator:
    type: str
    masked: str


@strawberry.type(description="A lead you may read.")
class Lead:
    id: str
    category: str
    observed_at: datetime
    confidence: float
    tlp: str
    agent: str | None
    note: str | None
    reference: str | None
    status: str
    batch_id: str
    filer: str | None = strawberry.field(description="The filing member, when you may know it")
    network_id: str | None
    indicators: list[LeadIndicator]


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo


@strawberry.type(description="A member's dispute of an identifier (a consumer complained).")
class Dispute:
    id: str
    member_code: str
    type: str
    masked: str
    reason: str
    status: str = strawberry.field(description="open, upheld or rejected")
    created_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str | None


def _network(row: dict[str, Any] | None) -> NetworkSummary | None:
    if not row:
        return None
    return NetworkSummary(id=row["id"], size=row.get("leads") or 0, members=row.get("members") or 0,
                          categories=row.get("categories") or [])


def _contribution(c: ScoredContribution) -> Contribution:
    return Contribution(member=c.member_code, category=c.category, tlp=c.tlp, confidence=c.confidence,
                        severity=c.severity, reliability=c.reliability, decay=round(c.decay, 4),
                        age_days=round(c.age_days, 1), weight=round(c.weight, 4), leads=c.leads, node=c.node)


def _verdict(v: check_service.Verdict) -> IdentifierVerdict:
    s = v.score
    return IdentifierVerdict(
        input_type=v.input_type, type=v.type, masked=v.masked, status=v.status, reason=v.reason,
        score=v.points, level=check_service.scoring.level_of(v.points),
        categories=list(s.categories) if s else [], members=s.members if s else 0,
        first_seen=s.first_seen if s else None, last_seen=s.last_seen if s else None,
        base=round(s.base, 4) if s else 0.0, boost=round(s.boost, 4) if s else 0.0,
        contributions=[_contribution(c) for c in s.contributions] if s else [], network=_network(v.network),
    )


def _lead(row: dict[str, Any]) -> Lead:
    return Lead(
        id=row["id"], category=row["category"], observed_at=to_native(row["observed_at"]), confidence=row["confidence"],
        tlp=row["tlp"], agent=row.get("agent"), note=row.get("note"), reference=row.get("reference"), status=row["status"],
        batch_id=row["batch_id"], filer=row.get("filer"), network_id=row.get("network_id"),
        indicators=[LeadIndicator(type=i["type"], masked=i["masked"]) for i in row["indicators"]],
    )


def _dispute(row: dict[str, Any]) -> Dispute:
    return Dispute(id=row["id"], member_code=row["member_code"], type=row["type"], masked=row["masked"], reason=row["reason"],
                   status=row["status"], created_at=to_native(row.get("created_at")),
                   resolved_at=to_native(row.get("resolved_at")), resolution_note=row.get("resolution_note"))


def encode_cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{to_native(row['created_at']).isoformat()}|{row['id']}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, lead_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), lead_id
    except (ValueError, UnicodeDecodeError):
        raise BadInput("after is not a cursor returned by leads(); pass pageInfo.endCursor", field="after") from None


def indicator_key_of(info: Info, type: str, value: str) -> str:
    normalized = normalize(type, value)
    if isinstance(normalized, Invalid):
        raise BadInput(normalized.reason, field="value")
    return indicator_key(info.context.runtime.alliance_key, normalized)


@strawberry.type
class CheckQuery:
    @strawberry.field(description="Check leads' identifiers against the alliance (at most 10,000 identifiers per call).")
    async def check_leads(self, info: Info, leads: list[LeadCheckInput], scope: CheckScope = CheckScope.LOCAL) -> CheckResult:
        principal = require(info, "checkLeads")
        runtime = info.context.runtime
        queries = [check_service.LeadQuery(ref=lead.ref, identifiers=[check_service.IdentifierQuery(i.type, i.value)
                                                                     for i in lead.identifiers]) for lead in leads]
        if scope is CheckScope.FEDERATED:  # federation (issue 12)
            verdicts, peers = await federated_check(info, principal, queries)
        else:
            verdicts, peers = await check_service.check_leads(runtime.graph, runtime.audit, principal, runtime.alliance_key, queries,
                                                              request_id=info.context.request_id), []
        return CheckResult(
            checked_at=datetime.now().astimezone(), scope=scope, peers=peers,
            leads=[LeadCheck(ref=v.ref, score=v.score, level=v.level, identifiers=[_verdict(x) for x in v.verdicts]) for v in verdicts],
        )

    @strawberry.field(description="What the alliance knows about one identifier, as you may see it.")
    async def indicator(self, info: Info, type: str, value: str) -> IndicatorInfo | None:
        principal = require(info, "indicator")
        key = indicator_key_of(info, type, value)
        info.context.audit("indicator.read", subject=key)
        row = await lead_reads.indicator(info.context.runtime.graph, principal, key)
        if row is None:
            return None
        i = row["indicator"]
        attributes = [f"{k}={i[k]}" for k in ("region", "carrier", "phone_type", "province", "card_network", "platform", "vendor", "domain") if i.get(k)]
        return IndicatorInfo(
            type=i["type"], masked=i["masked"], status=i.get("status") or "active", benign=bool(i.get("benign")),
            benign_reason=i.get("benign_reason"), attributes=attributes, leads=row["leads"], members=row["members"],
            categories=sorted(set(row["categories"])), first_seen=to_native(row["first_seen"]),
            last_seen=to_native(row["last_seen"]), network=_network(row["network"]),
        )

    @strawberry.field(description="One lead you may read.")
    async def lead(self, info: Info, id: str) -> Lead:
        principal = require(info, "lead")
        row = await lead_reads.lead(info.context.runtime.graph, principal, id)
        if row is None:
            raise NotFound(f"no lead {id} visible to you")
        info.context.audit("lead.read", subject=id)
        return _lead(row)

    @strawberry.field(description="Your member's leads, newest first (Relay connection).")
    async def leads(
        self, info: Info, first: int = 50, after: str | None = None, category: str | None = None,
        batch_id: str | None = None, agent: str | None = None,
        observed_from: datetime | None = None, observed_to: datetime | None = None,
    ) -> LeadConnection:
        principal = require(info, "leads")
        first = max(1, min(first, 500))
        rows = await lead_reads.own_leads(
            info.context.runtime.graph, principal, first=first + 1, after=decode_cursor(after) if after else None,
            category=category, batch_id=batch_id, agent=agent, observed_from=observed_from, observed_to=observed_to)
        page = rows[:first]
        edges = [LeadEdge(cursor=encode_cursor(row), node=_lead(row)) for row in page]
        return LeadConnection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > first,
                                                              end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="Disputes: your member's, or all for operators.")
    async def disputes(self, info: Info, status: str | None = None, first: int = 50) -> list[Dispute]:
        principal = require(info, "disputes")
        rows = await dispute_flows.list_disputes(info.context.runtime.graph, principal, status=status, first=first)
        return [_dispute(row) for row in rows]


@strawberry.type
class CheckMutation:
    @strawberry.mutation(description="Dispute an identifier (a consumer complained); checks show it as disputed until an operator rules.")
    async def dispute_indicator(self, info: Info, type: str, value: str, reason: str) -> Dispute:
        principal = require(info, "disputeIndicator")
        runtime = info.context.runtime
        return _dispute(await dispute_flows.dispute(runtime.graph, runtime.audit, principal, runtime.alliance_key,
                                                    type=type, value=value, reason=reason, request_id=info.context.request_id))

    @strawberry.mutation(description="Rule on a dispute: uphold (the identifier stops matching; kept for audit) or reject.")
    async def resolve_dispute(self, info: Info, id: str, uphold: bool, note: str | None = None) -> Dispute:
        principal = require(info, "resolveDispute")
        runtime = info.context.runtime
        return _dispute(await dispute_flows.resolve(runtime.graph, runtime.audit, principal, dispute_id=id, uphold=uphold,
                                                    note=note, request_id=info.context.request_id))

    @strawberry.mutation(description="Retract your member's own leads; they stop contributing at once (kept for audit).")
    async def retract_leads(self, info: Info, ids: list[str], reason: str) -> list[str]:
        principal = require(info, "retractLeads")
        runtime = info.context.runtime
        return await dispute_flows.retract(runtime.graph, runtime.audit, principal, lead_ids=ids, reason=reason,
                                           request_id=info.context.request_id)
