"""A case as its readers see it: liaisons (whole, raw identifiers on request), members (their contribution and the
status), operators (metadata). Status changes by the case's liaisons flow back to the escalating members."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from core.principal import Principal
from core.errors import BadInput, NotFound
from escalation import jurisdictions, package, webhook
from escalation.desk import Desk
from escalation.models import TRANSITIONS, CaseStatus
from graph import escalations as repo

POLICE_CASE_NUMBER_MAX = 64


def not_found(case_id: str) -> NotFound:
    """The one answer for a case that does not exist and a case the caller may not see."""
    return NotFound(f"no case {case_id}")


async def read_case(desk: Desk, principal: Principal, case_id: str, request_id: str = "") -> dict[str, Any]:
    case = await repo.get_case(desk.graph, principal, case_id)
    if case is None:
        raise not_found(case_id)
    for contribution in case["contributions"]:
        contribution["snapshot"] = json.loads(contribution.pop("snapshot_json") or "{}")
        contribution["leads"] = json.loads(contribution.pop("leads_json") or "[]")
    case["jurisdiction"] = jurisdictions.get(case["jurisdiction_code"])
    desk.audit.record(principal, "case.read", subject=case_id, request_id=request_id)
    return case


async def reveal_identifiers(desk: Desk, principal: Principal, case_id: str, request_id: str = "") -> list[dict[str, Any]]:
    """The raw identifiers and evidence each member supplied; only for the case's liaisons, and audited."""
    rows = await repo.sealed_of_case(desk.graph, principal, case_id)
    if not rows:
        desk.audit.record(principal, "case.identifiers.read", subject=case_id, outcome="denied", request_id=request_id)
        raise not_found(case_id)
    revealed = []
    for row in rows:
        identifiers = json.loads(desk.sealer.open(row["identifiers"], row["id"]))
        evidence = desk.sealer.open(row["evidence"], row["id"] + ":evidence").decode() if row["evidence"] else ""
        revealed.append({"escalation_id": row["id"], "member_code": row["member_code"],
                         "identifiers": identifiers, "evidence": evidence})
    desk.audit.record(principal, "case.identifiers.read", subject=[case_id, *(r["escalation_id"] for r in revealed)],
                      request_id=request_id)
    return revealed


async def open_attachment(desk: Desk, principal: Principal, case_id: str, attachment_id: str,
                          request_id: str = "") -> dict[str, Any]:
    found = await repo.attachment(desk.graph, principal, case_id, attachment_id)
    if found is None:
        raise NotFound(f"no attachment {attachment_id} in case {case_id}")
    desk.audit.record(principal, "case.attachment.read", subject=[case_id, attachment_id], request_id=request_id)
    return {**found, "content": desk.sealer.open(found.pop("sealed"), attachment_id)}


async def change_status(desk: Desk, principal: Principal, case_id: str, status: CaseStatus, note: str,
                        police_case_number: str | None = None, request_id: str = "") -> dict[str, Any]:
    """Acknowledge, file (立案, with the bureau's 案件编号), decline or close; each with a note."""
    note = (note or "").strip()
    if not note or len(note) > 2000:
        raise BadInput("a note is required with every status change (at most 2000 characters)", field="note")
    police_case_number = (police_case_number or "").strip() or None
    if status is CaseStatus.FILED and not police_case_number:
        raise BadInput("立案 needs the bureau's 案件编号 (policeCaseNumber)", field="policeCaseNumber")
    if police_case_number and len(police_case_number) > POLICE_CASE_NUMBER_MAX:
        raise BadInput(f"案件编号 is at most {POLICE_CASE_NUMBER_MAX} characters", field="policeCaseNumber")
    current = await repo.get_case(desk.graph, principal, case_id)
    if current is None or not principal.jurisdictions:
        raise not_found(case_id)
    now = CaseStatus(current["status"])
    if status not in TRANSITIONS[now]:
        allowed = "、".join(s.label for s in TRANSITIONS[now]) or "无（案件已终结）"
        raise BadInput(f"a case {now.label} cannot become {status.label}; next steps: {allowed}", field="status")
    updated = await repo.update_status(desk.graph, principal, case_id=case_id, from_status=now.value,
                                       to_status=status.value, note=note, police_case_number=police_case_number,
                                       event_id=uuid.uuid4().hex)
    if updated is None:  # another liaison changed it meanwhile, or the caller is not its liaison
        raise not_found(case_id) if not principal.jurisdictions else BadInput(
            "the case changed meanwhile; reload it and try again", field="status")
    desk.audit.record(principal, "case.status", subject=case_id, request_id=request_id, detail=f"{now.value}->{status.value}")
    await webhook.notify(desk, updated, note)
    return updated


async def download_package(desk: Desk, principal: Principal, case_id: str, request_id: str = "") -> tuple[str, bytes]:
    """The signed ZIP of a case for its liaisons; returns (file name, bytes). Audited."""
    case = await repo.get_case(desk.graph, principal, case_id)
    revealed = await repo.sealed_of_case(desk.graph, principal, case_id) if case else []
    if case is None or not revealed:
        desk.audit.record(principal, "case.package.download", subject=case_id, outcome="denied", request_id=request_id)
        raise not_found(case_id)
    case = await read_case(desk, principal, case_id, request_id)
    opened = await reveal_identifiers(desk, principal, case_id, request_id)
    files = []
    for contribution in case["contributions"]:
        for a in contribution.get("attachments") or []:
            files.append(await open_attachment(desk, principal, case_id, a["id"], request_id))
    data = package.build(case, opened, files, desk.node_key)
    desk.audit.record(principal, "case.package.download", subject=case_id, request_id=request_id,
                      detail=f"sha256={hashlib.sha256(data).hexdigest()}")
    return f"{case['number']}.zip", data
