"""A member escalates leads, identifiers or an agent network: validate, snapshot, route, seal, file into a case."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from core.principal import Principal
from audit.reader import Reader
from core.errors import BadInput, NotFound
from escalation.desk import Desk
from escalation.routing import Routing, route
from graph import escalations as repo
from graph import members as member_repo
from networks.drawing import Drawing
from networks.reads import network_graph
from ingest.categories import BY_CODE, CATEGORIES, resolve_category
from ingest.identifiers import Invalid, normalize
from ingest.identifiers.result import Normalized
from ingest.pseudonym import indicator_key, mask

ATTACHMENT_TYPES = {  # content type → (file name endings, leading bytes)
    "application/pdf": ((".pdf",), b"%PDF-"),
    "image/png": ((".png",), b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": ((".jpg", ".jpeg"), b"\xff\xd8\xff"),
    "text/plain": ((".txt",), b""),
}
MAX_LEADS = 500
MAX_IDENTIFIERS = 200
MAX_SNAPSHOT_NODES = 200


@dataclass(frozen=True)
class RawIdentifier:
    type: str
    value: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class EscalationRequest:
    title: str
    category: str
    reason: str
    evidence: str = ""
    lead_ids: Sequence[str] = ()
    network_id: str | None = None
    identifiers: Sequence[RawIdentifier] = ()
    attachments: Sequence[Attachment] = ()
    jurisdiction: str | None = None


@dataclass
class _Prepared:
    category: str
    identifiers: list[Normalized]
    leads: list[dict[str, Any]] = field(default_factory=list)
    drawing: dict[str, Any] = field(default_factory=dict)


async def escalate(desk: Desk, principal: Principal, request: EscalationRequest, request_id: str = "") -> dict[str, Any]:
    """File the escalation; returns {escalation_id, case_id, joined, routing}. Nothing is written on bad input."""
    prepared = _validate(desk, request)
    prepared.leads, prepared.drawing = await _snapshot(desk, principal, request, prepared.identifiers)
    keys = sorted({i["key"] for lead in prepared.leads for i in lead["indicators"]}
                  | {indicator_key(desk.alliance_key, n) for n in prepared.identifiers})
    routing = await _route(desk, principal, request, prepared)
    escalation_id = "esc_" + uuid.uuid4().hex[:20]
    sealed = desk.sealer.seal(json.dumps([{"type": n.type.value, "value": n.value, "masked": mask(n)}
                                          for n in prepared.identifiers], ensure_ascii=False).encode(), escalation_id)
    evidence = desk.sealer.seal(request.evidence.encode(), escalation_id + ":evidence")
    j = routing.jurisdiction
    filed = await repo.file_escalation(
        desk.graph,
        jurisdiction={"code": j.code, "name": j.name, "bureau": j.bureau, "province_code": j.province_code},
        keys=keys, year=str(datetime.now(timezone.utc).year), new_case_id="case_" + uuid.uuid4().hex[:20],
        title=request.title.strip(),
        escalation={
            "id": escalation_id, "member_code": principal.member_code, "principal_id": principal.id,
            "title": request.title.strip(), "category": prepared.category, "reason": request.reason.strip(),
            "routing_rule": routing.rule.value, "routing_basis": routing.basis,
            "masked_identifiers": [f"{n.type.value}:{mask(n)}" for n in prepared.identifiers],
            "identifier_count": len(prepared.identifiers), "identifiers_sealed": sealed, "evidence_sealed": evidence,
            "indicator_keys": keys, "snapshot_json": json.dumps(prepared.drawing, ensure_ascii=False, default=str),
            "leads_json": json.dumps(prepared.leads, ensure_ascii=False, default=str),
        },
        lead_ids=[lead["id"] for lead in prepared.leads],
        categories=list(dict.fromkeys([prepared.category, *(lead["category"] for lead in prepared.leads)])),
        attachments=[_attachment_row(desk, escalation_id, a) for a in request.attachments],
        event={"id": uuid.uuid4().hex, "kind": "escalated", "status": None, "note": request.reason.strip()[:500],
               "police_case_number": None, "actor_id": principal.id, "member_code": principal.member_code},
    )
    desk.audit.record(principal, "escalation.create", subject=[escalation_id, filed["case_id"]], request_id=request_id,
                      detail=f"rule={routing.rule.value} jurisdiction={j.code} joined={filed['joined']}")
    return {"escalation_id": escalation_id, **filed, "routing": routing}


def _validate(desk: Desk, request: EscalationRequest) -> _Prepared:
    if not request.title.strip() or len(request.title) > 200:
        raise BadInput("title is required (at most 200 characters), e.g. 深圳某贷款中介团伙", field="title")
    if not request.reason.strip() or len(request.reason) > 5000:
        raise BadInput("reason is required (at most 5000 characters): why the police should act", field="reason")
    if len(request.evidence) > 50_000:
        raise BadInput("evidence text is limited to 50,000 characters; attach longer material as a file", field="evidence")
    category = resolve_category(request.category)
    if category is None:
        accepted = ", ".join(f"{c.code} ({c.label})" for c in CATEGORIES)
        raise BadInput(f"unknown category {request.category!r}; accepted: {accepted}", field="category")
    if not (request.lead_ids or request.network_id or request.identifiers):
        raise BadInput("name what is escalated: leadIds, networkId or identifiers", field="leadIds")
    if len(request.lead_ids) > MAX_LEADS or len(request.identifiers) > MAX_IDENTIFIERS:
        raise BadInput(f"at most {MAX_LEADS} leads and {MAX_IDENTIFIERS} identifiers per escalation", field="leadIds")
    identifiers = []
    for index, raw in enumerate(request.identifiers):
        result = normalize(raw.type, raw.value)
        if isinstance(result, Invalid):
            raise BadInput(f"identifier {index + 1} ({raw.type}) is refused: {result.reason}", field=f"identifiers[{index}]")
        identifiers.append(result)
    _check_attachments(desk, request.attachments)
    return _Prepared(category=category.code, identifiers=identifiers)


def _check_attachments(desk: Desk, attachments: Sequence[Attachment]) -> None:
    limit, most = desk.settings.escalation_max_attachment_bytes, desk.settings.escalation_max_attachments
    if len(attachments) > most:
        raise BadInput(f"at most {most} attachments per escalation", field="attachments")
    accepted = ", ".join(ATTACHMENT_TYPES)
    for index, a in enumerate(attachments):
        where = f"attachments[{index}]"
        kind = ATTACHMENT_TYPES.get(a.content_type.split(";")[0].strip().lower())
        if kind is None:
            raise BadInput(f"attachment {a.filename!r} has type {a.content_type!r}; accepted types: {accepted}", field=where)
        endings, magic = kind
        if not a.filename.lower().endswith(endings) or "/" in a.filename or "\\" in a.filename:
            raise BadInput(f"attachment {a.filename!r}: a plain file name ending in {' or '.join(endings)} is required", field=where)
        if len(a.content) > limit or not a.content:
            raise BadInput(f"attachment {a.filename!r} is {len(a.content)} bytes; 1 to {limit} bytes are accepted", field=where)
        if not a.content.startswith(magic):
            raise BadInput(f"attachment {a.filename!r} is not a {a.content_type} file (its content says otherwise)", field=where)
        if a.content_type == "text/plain":
            try:
                a.content.decode("utf-8")
            except UnicodeDecodeError:
                raise BadInput(f"attachment {a.filename!r}: text attachments must be UTF-8", field=where) from None


def _attachment_row(desk: Desk, escalation_id: str, a: Attachment) -> dict[str, Any]:
    attachment_id = "att_" + uuid.uuid4().hex[:20]
    return {"id": attachment_id, "filename": a.filename, "content_type": a.content_type.split(";")[0].strip().lower(),
            "size": len(a.content), "sha256": hashlib.sha256(a.content).hexdigest(),
            "sealed": desk.sealer.seal(a.content, attachment_id)}


async def _snapshot(desk: Desk, principal: Principal, request: EscalationRequest,
                    identifiers: list[Normalized]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The leads (as the member sees them now, masked) and the picture the liaison will see."""
    lead_ids = list(dict.fromkeys(request.lead_ids))
    network = None
    if request.network_id:
        network = await network_graph(Reader(desk.graph, desk.audit, principal), request.network_id, limit=MAX_SNAPSHOT_NODES)
        if network is None:
            raise NotFound(f"no network {request.network_id} visible to you", field="networkId")
        lead_ids += [n["id"] for n in network["nodes"] if n["kind"] == "lead" and n["id"] not in lead_ids]
    leads = await repo.visible_leads(desk.graph, principal, lead_ids[:MAX_LEADS]) if lead_ids else []
    found = {lead["id"] for lead in leads}
    missing = [lead_id for lead_id in request.lead_ids if lead_id not in found]
    if missing:
        raise NotFound(f"no lead {missing[0]} visible to you", field="leadIds")
    for lead in leads:
        label = BY_CODE.get(lead["category"])
        lead["category_label"] = label.label if label else lead["category"]
    drawing = _drawing(leads, identifiers, desk, network)
    return leads, drawing


def _drawing(leads: list[dict[str, Any]], identifiers: list[Normalized], desk: Desk,
             network: dict[str, Any] | None) -> dict[str, Any]:
    if network is not None:  # the network as drawn for the member, without filer codes
        nodes = [{k: v for k, v in n.items() if k in ("id", "kind", "type", "masked", "category", "label")}
                 for n in network["nodes"]]
        return {"nodes": nodes, "edges": network["edges"], "truncated": network["truncated"]}
    drawing = Drawing(MAX_SNAPSHOT_NODES)
    for lead in leads:
        if drawing.add_node(lead["id"], kind="lead", category=lead["category"]):
            for ind in lead["indicators"]:
                if drawing.add_node(ind["key"], kind="indicator", type=ind["type"], masked=ind["masked"]):
                    drawing.add_edge(lead["id"], ind["key"], "NAMES")
    for n in identifiers:
        drawing.add_node(indicator_key(desk.alliance_key, n), kind="indicator", type=n.type.value, masked=mask(n))
    return drawing.result()


async def _route(desk: Desk, principal: Principal, request: EscalationRequest, prepared: _Prepared) -> Routing:
    phones = [n.attributes.get("region") for n in prepared.identifiers if n.type.value == "phone"]
    phones += [i.get("region") for lead in prepared.leads for i in lead["indicators"] if i["type"] == "phone"]
    ids = [n.attributes.get("region_code") for n in prepared.identifiers if n.type.value == "id_number"]
    ids += [i.get("region_code") for lead in prepared.leads for i in lead["indicators"] if i["type"] == "id_number"]
    member = await member_repo.get_member(desk.graph, principal.member_code)
    return route(explicit=request.jurisdiction, main_phone_region=next(iter(phones), None),
                 id_region_code=next(iter(ids), None),
                 home_jurisdiction=(member or {}).get("home_jurisdiction"))
