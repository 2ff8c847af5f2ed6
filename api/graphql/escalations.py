"""Escalation to police over GraphQL: members escalate and follow their cases; liaisons and operators list cases;
liaisons change a case's status (the inbox at /police/ does the same in a browser)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.enums import IdentifierKind
from api.graphql.permissions import require
from core.errors import BadInput, NotFound
from escalation import cases, flows, jurisdictions, reads, scheduled, webhook
from escalation.desk import Desk
from escalation.models import CaseStatus as DomainCaseStatus, RoutingRule as DomainRoutingRule
from graph import escalations as repo
from ingest.categories import BY_CODE

CaseStatus = strawberry.enum(DomainCaseStatus, name="CaseStatus",
                             description="待受理 submitted, 已受理 acknowledged, 已立案 filed, 不予立案 declined, 已结案 closed")
RoutingRule = strawberry.enum(DomainRoutingRule, name="RoutingRule", description="How a case found its jurisdiction")


@strawberry.type(description="A province- or prefecture-level division (GB/T 2260) and its public-security bureau.")
class Jurisdiction:
    code: str
    name: str
    level: str
    province_code: str
    bureau: str | None


@strawberry.type(description="One entry of a case's timeline.")
class CaseEvent:
    at: datetime
    kind: str = strawberry.field(description="escalated (a contribution) or status (a liaison's change)")
    status: CaseStatus | None
    status_label: str | None
    note: str | None
    police_case_number: str | None


@strawberry.type(description="A member's escalation and the state of the case it joined.")
class Escalation:
    id: str
    title: str
    category: str
    category_label: str
    reason: str
    routing_rule: RoutingRule
    routing_rule_label: str
    routing_basis: str
    masked_identifiers: list[str]
    created_at: datetime
    case_id: str
    case_number: str
    jurisdiction: Jurisdiction | None
    status: CaseStatus
    status_label: str
    police_case_number: str | None
    latest_note: str | None
    timeline: list[CaseEvent]


@strawberry.type(description="A case as liaisons and operators list it (metadata; never raw identifiers).")
class EscalationCase:
    id: str
    number: str
    title: str
    jurisdiction: Jurisdiction | None
    status: CaseStatus
    status_label: str
    categories: list[str]
    contributions: int
    police_case_number: str | None
    latest_note: str | None
    created_at: datetime
    updated_at: datetime


@strawberry.type
class DigestCase:
    number: str
    title: str
    status: CaseStatus
    new: bool


@strawberry.type(description="New and changed cases of one jurisdiction on one day (China time).")
class EscalationDigest:
    jurisdiction_code: str
    day: date
    new_cases: int
    changed_cases: int
    cases: list[DigestCase]


@strawberry.type
class EscalationResult:
    escalation: Escalation
    joined_existing_case: bool = strawberry.field(description="true when overlapping indicators joined an open case")


@strawberry.input
class RawIdentifierInput:
    type: IdentifierKind
    value: str


@strawberry.input
class AttachmentInput:
    filename: str
    content_type: str = strawberry.field(description="application/pdf, image/png, image/jpeg or text/plain")
    content_base64: str


@strawberry.input
class EscalateInput:
    title: str
    category: str = strawberry.field(description="category code, 中文 label or alias, e.g. LOAN_INTERMEDIARY / 贷款中介")
    reason: str
    evidence: str = ""
    lead_ids: list[str] = strawberry.field(default_factory=list)
    network_id: str | None = None
    identifiers: list[RawIdentifierInput] = strawberry.field(
        default_factory=list, description="raw identifiers for the police: sealed at rest, readable only by the liaisons")
    attachments: list[AttachmentInput] = strawberry.field(default_factory=list)
    jurisdiction: str | None = strawberry.field(default=None, description="GB/T 2260 code, e.g. 440300; else routed")


def _desk(info: Info) -> Desk:
    return info.context.request.app.state.desk


def _jurisdiction(code: str | None) -> Jurisdiction | None:
    j = jurisdictions.get(code or "")
    return Jurisdiction(code=j.code, name=j.name, level=j.level, province_code=j.province_code, bureau=j.bureau) if j else None


def _event(e: dict[str, Any]) -> CaseEvent:
    status = DomainCaseStatus(e["status"]) if e.get("status") else None
    return CaseEvent(at=e["at"], kind=e["kind"], status=status, status_label=status.label if status else None,
                     note=e.get("note"), police_case_number=e.get("police_case_number"))


def _escalation(row: dict[str, Any]) -> Escalation:
    e, c = row["escalation"], row["case"]
    status, rule = DomainCaseStatus(c["status"]), DomainRoutingRule(e["routing_rule"])
    category = BY_CODE.get(e["category"])
    return Escalation(
        id=e["id"], title=e["title"], category=e["category"], category_label=category.label if category else e["category"],
        reason=e["reason"], routing_rule=rule, routing_rule_label=rule.label, routing_basis=e["routing_basis"],
        masked_identifiers=e.get("masked_identifiers") or [], created_at=e["created_at"], case_id=c["id"],
        case_number=c["number"], jurisdiction=_jurisdiction(c["jurisdiction_code"]), status=status,
        status_label=status.label, police_case_number=c.get("police_case_number"), latest_note=c.get("last_note"),
        timeline=[_event(ev) for ev in row["events"]])


def _case(c: dict[str, Any]) -> EscalationCase:
    status = DomainCaseStatus(c["status"])
    return EscalationCase(
        id=c["id"], number=c["number"], title=c["title"], jurisdiction=_jurisdiction(c["jurisdiction_code"]),
        status=status, status_label=status.label, categories=c.get("categories") or [],
        contributions=c.get("contributions") or 0, police_case_number=c.get("police_case_number"),
        latest_note=c.get("last_note"), created_at=c["created_at"], updated_at=c["updated_at"])


def _digest(d: dict[str, Any]) -> EscalationDigest:
    listed = json.loads(d.get("cases_json") or "[]")
    return EscalationDigest(jurisdiction_code=d.get("jurisdiction_code") or d.get("code"), day=d["day"],
                            new_cases=d["new_cases"], changed_cases=d["changed_cases"],
                            cases=[DigestCase(number=c["number"], title=c["title"], status=DomainCaseStatus(c["status"]),
                                              new=c["new"]) for c in listed])


def _request(data: EscalateInput) -> flows.EscalationRequest:
    attachments = []
    for index, a in enumerate(data.attachments):
        try:
            content = base64.b64decode(a.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"attachment {a.filename!r} is not valid base64", field=f"attachments[{index}]") from None
        attachments.append(flows.Attachment(a.filename, a.content_type, content))
    return flows.EscalationRequest(
        title=data.title, category=data.category, reason=data.reason, evidence=data.evidence,
        lead_ids=data.lead_ids, network_id=data.network_id,
        identifiers=[flows.RawIdentifier(i.type.value, i.value) for i in data.identifiers], attachments=attachments,
        jurisdiction=data.jurisdiction)


@strawberry.type
class EscalationQuery:
    @strawberry.field(description="Your member's escalations and their cases' status (liaisons: their cases' ones).")
    async def escalations(self, info: Info, status: CaseStatus | None = None, first: int = 50) -> list[Escalation]:
        reader = info.context.reader(require(info, "escalations"))
        rows = await reads.list_escalations(reader, status=status.value if status else None, first=first)
        return [_escalation(r) for r in rows]

    @strawberry.field(description="One escalation with its case's status, liaison notes and timeline.")
    async def escalation(self, info: Info, id: str) -> Escalation:
        row = await reads.read_escalation(info.context.reader(require(info, "escalation")), id)
        if row is None:
            raise NotFound(f"no escalation {id}")
        return _escalation(row)

    @strawberry.field(description="Cases you may see: a liaison's jurisdictions (and their prefectures), all for operators.")
    async def escalation_cases(self, info: Info, status: CaseStatus | None = None, search: str | None = None,
                               first: int = 50) -> list[EscalationCase]:
        reader = info.context.reader(require(info, "escalationCases"))
        rows = await reads.list_cases(reader, status=status.value if status else None, search=search, first=first)
        return [_case(c) for c in rows]

    @strawberry.field(description="Jurisdictions by code, name or bureau (e.g. 深圳, 4403, 公安处).")
    def jurisdictions(self, info: Info, search: str, first: int = 20) -> list[Jurisdiction]:
        require(info, "jurisdictions")
        return [_jurisdiction(j.code) for j in jurisdictions.find(search, limit=max(1, min(first, 400)))]

    @strawberry.field(description="Daily digests of new and changed cases of your jurisdictions.")
    async def escalation_digests(self, info: Info, jurisdiction: str | None = None, first: int = 14) -> list[EscalationDigest]:
        reader = info.context.reader(require(info, "escalationDigests"))
        return [_digest(d) for d in await reads.list_digests(reader, jurisdiction=jurisdiction, first=first)]


@strawberry.type
class EscalationMutation:
    @strawberry.mutation(description="Escalate leads, identifiers or an agent network to the police of a jurisdiction.")
    async def escalate(self, info: Info, input: EscalateInput) -> EscalationResult:
        principal = require(info, "escalate")
        desk = _desk(info)
        filed = await flows.escalate(desk, principal, _request(input), info.context.request_id)
        rows = await repo.escalations(desk.graph, principal, escalation_id=filed["escalation_id"], first=1)
        return EscalationResult(escalation=_escalation(rows[0]), joined_existing_case=filed["joined"])

    @strawberry.mutation(description="A liaison acknowledges, files (立案, with 案件编号), declines or closes a case, with a note.")
    async def update_case_status(self, info: Info, case_id: str, status: CaseStatus, note: str,
                                 police_case_number: str | None = None) -> EscalationCase:
        principal = require(info, "updateCaseStatus")
        updated = await cases.change_status(_desk(info), principal, case_id, DomainCaseStatus(status.value), note,
                                            police_case_number, info.context.request_id)
        return _case(updated)

    @strawberry.mutation(description="Where your member is told of status changes; returns the signing secret once.")
    async def set_escalation_webhook(self, info: Info, url: str) -> str:
        principal = require(info, "setEscalationWebhook")
        return await webhook.register(_desk(info), principal, url)

    @strawberry.mutation(description="Build the daily digests of `day` (China time; default yesterday) now.")
    async def run_escalation_digest(self, info: Info, day: date | None = None) -> list[EscalationDigest]:
        require(info, "runEscalationDigest")
        stored = await scheduled.daily_digest(_desk(info).graph, day)
        info.context.audit("digests.run", detail=str(day))
        return [_digest(d) for d in stored]
