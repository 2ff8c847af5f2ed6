"""Checks over GraphQL: a verdict per identifier with the reasons behind its score. The resolver stays thin:
check/service.py normalizes, looks up (visibility in graph/), scores and audits."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from api.graphql.batches import IdentifierInput
from api.graphql.context import Info
from api.graphql.enums import Category, IdentifierKind, IndicatorType, Level, Tlp, VerdictStatus, all_by_value, category_label
from api.graphql.networks import NetworkSummary, network_summary
from api.graphql.peers import PeerOutcome, federated_check
from api.graphql.permissions import require
from check import service as check_service
from check.scoring import Contribution as ScoredContribution


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
    filer: str | None = strawberry.field(description="The reporting member, when you may know it (your own, or attributed)")
    category: Category
    category_label: str
    tlp: Tlp
    confidence: float
    severity: float
    reliability: float
    decay: float
    age_days: float
    weight: float
    leads: int
    node: str | None = strawberry.field(default=None, description="The node holding the counted lead (federated checks)")


@strawberry.type(description="The verdict on one identifier.")
class IdentifierVerdict:
    input_type: IdentifierKind
    type: IndicatorType | None
    masked: str | None
    status: VerdictStatus
    reason: str | None
    score: int
    level: Level
    categories: list[Category]
    category_labels: list[str]
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
    level: Level
    identifiers: list[IdentifierVerdict]


@strawberry.type
class CheckResult:
    checked_at: datetime
    scope: CheckScope
    leads: list[LeadCheck]
    peers: list[PeerOutcome] = strawberry.field(default_factory=list, description="Federated checks: every peer answered, failed or skipped")


def _contribution(c: ScoredContribution) -> Contribution:
    return Contribution(filer=c.member_code, category=Category(c.category), category_label=category_label(c.category),
                        tlp=Tlp(c.tlp), confidence=c.confidence, severity=c.severity, reliability=c.reliability,
                        decay=round(c.decay, 4), age_days=round(c.age_days, 1), weight=round(c.weight, 4), leads=c.leads,
                        node=c.node)


def _verdict(v: check_service.Verdict) -> IdentifierVerdict:
    s = v.score
    categories = list(s.categories) if s else []
    return IdentifierVerdict(
        input_type=IdentifierKind(v.input_type.strip().lower()), type=IndicatorType(v.type) if v.type else None,
        masked=v.masked, status=VerdictStatus(v.status), reason=v.reason,
        score=v.points, level=Level(check_service.scoring.level_of(v.points)),
        categories=all_by_value(Category, categories), category_labels=[category_label(c) for c in categories],
        members=s.members if s else 0, first_seen=s.first_seen if s else None, last_seen=s.last_seen if s else None,
        base=round(s.base, 4) if s else 0.0, boost=round(s.boost, 4) if s else 0.0,
        contributions=[_contribution(c) for c in s.contributions] if s else [], network=network_summary(v.network),
    )


@strawberry.type
class CheckQuery:
    @strawberry.field(description="Check leads' identifiers against the alliance (at most 10,000 identifiers per call).")
    async def check_leads(self, info: Info, leads: list[LeadCheckInput], scope: CheckScope = CheckScope.LOCAL) -> CheckResult:
        reader = info.context.reader(require(info, "checkLeads"))
        queries = [check_service.LeadQuery(ref=lead.ref, identifiers=[check_service.IdentifierQuery(i.type.value, i.value)
                                                                     for i in lead.identifiers]) for lead in leads]
        if scope is CheckScope.FEDERATED:
            verdicts, peers = await federated_check(info, reader, queries)
        else:
            runtime = info.context.runtime
            verdicts = await check_service.check_leads(reader, runtime.alliance_key, queries, lookup=runtime.checks.lookup)
            peers = []
        return CheckResult(
            checked_at=datetime.now().astimezone(), scope=scope, peers=peers,
            leads=[LeadCheck(ref=v.ref, score=v.score, level=Level(v.level), identifiers=[_verdict(x) for x in v.verdicts])
                   for v in verdicts],
        )
