"""Escalations and their cases: every Cypher query about them, reads filtered by graph/visibility.py.

A Case is routed to one Jurisdiction; each member's Escalation is PART_OF one case (overlapping indicators in
the same jurisdiction join an open case) and keeps its own sealed identifiers, evidence and snapshot apart.
"""

from __future__ import annotations

from typing import Any

from core.principal import Principal
from graph import visibility
from graph.database import Graph
from graph.members import to_native

VISIBLE_LEADS = f"""
UNWIND $ids AS id
MATCH (l:Lead {{id: id}}) WHERE {visibility.lead("l")}
RETURN l.id AS id, l.category AS category, l.observed_at AS observed_at, l.agent AS agent, l.network_id AS network_id,
       [(l)-[:NAMES]->(i:Indicator) | i {{.key, .type, .masked, .region, .region_code}}] AS indicators
"""

_CASE_FIELDS = """c {.id, .number, .jurisdiction_code, .province_code, .status, .title, .categories, .created_at,
                    .updated_at, .police_case_number, .last_note, .contributions}"""

# Taking the jurisdiction's write lock first serialises escalations to one jurisdiction, so two overlapping
# escalations arriving together still find each other's case.
LOCK_JURISDICTION = """
MERGE (j:Jurisdiction {code: $code})
SET j.name = $name, j.bureau = $bureau, j.province_code = $province_code, j.locked_at = datetime()
"""

OPEN_CASE_SHARING = """
MATCH (c:Case {jurisdiction_code: $code})
WHERE c.status IN $open AND any(k IN c.indicator_keys WHERE k IN $keys)
RETURN c.id AS id ORDER BY c.created_at LIMIT 1
"""

CREATE_CASE = """
MATCH (j:Jurisdiction {code: $code})
MERGE (n:CaseCounter {id: $code + '-' + $year})
ON CREATE SET n.value = 0
SET n.value = n.value + 1
CREATE (c:Case {id: $case_id, number: 'FH-' + $code + '-' + $year + '-' + right('000000' + toString(n.value), 6),
                jurisdiction_code: $code, province_code: $province_code, status: 'submitted', title: $title,
                categories: [], indicator_keys: [], contributions: 0, created_at: datetime(), updated_at: datetime()})
CREATE (c)-[:ROUTED_TO]->(j)
RETURN c.number AS number
"""

ADD_ESCALATION = """
MATCH (c:Case {id: $case_id}), (j:Jurisdiction {code: $code})
CREATE (e:Escalation $props)
SET e.created_at = datetime()
CREATE (e)-[:PART_OF]->(c), (e)-[:ROUTED_TO]->(j)
SET c.indicator_keys = [k IN c.indicator_keys WHERE NOT k IN $keys] + $keys,
    c.categories = [x IN c.categories WHERE NOT x IN $categories] + $categories,
    c.contributions = c.contributions + 1, c.updated_at = datetime()
WITH e
CALL (e) {
  UNWIND $lead_ids AS lead_id
  MATCH (l:Lead {id: lead_id})
  MERGE (e)-[:INCLUDES]->(l)
}
RETURN e.id AS id
"""

ADD_ATTACHMENT = """
MATCH (e:Escalation {id: $escalation_id})
CREATE (a:EscalationAttachment {id: $id, escalation_id: $escalation_id, case_id: e.case_id, filename: $filename,
        content_type: $content_type, size: $size, sha256: $sha256, sealed: $sealed, created_at: datetime()})
CREATE (a)-[:ATTACHED_TO]->(e)
"""

ADD_EVENT = """
MATCH (c:Case {id: $case_id})
CREATE (ev:CaseEvent {id: $id, case_id: $case_id, at: datetime(), kind: $kind, status: $status, note: $note,
        police_case_number: $police_case_number, actor_id: $actor_id, member_code: $member_code})
CREATE (ev)-[:OF_CASE]->(c)
"""

LIST_CASES = f"""
MATCH (c:Case) WHERE {visibility.escalation_case("c")}
  AND ($status IS NULL OR c.status = $status)
  AND ($jurisdiction IS NULL OR c.jurisdiction_code = $jurisdiction OR c.province_code = $jurisdiction)
  AND ($search IS NULL OR c.number CONTAINS $search OR c.title CONTAINS $search
       OR c.police_case_number CONTAINS $search)
RETURN {_CASE_FIELDS} AS case
ORDER BY c.updated_at DESC, c.id LIMIT $first
"""

GET_CASE = f"""
MATCH (c:Case {{id: $case_id}}) WHERE {visibility.escalation_case("c")}
RETURN {_CASE_FIELDS} AS case,
  [(c)<-[:PART_OF]-(e:Escalation) WHERE {visibility.escalation("e", "c")} |
     e {{.id, .member_code, .title, .category, .reason, .routing_rule, .routing_basis, .masked_identifiers,
         .identifier_count, .snapshot_json, .leads_json, .created_at,
         attachments: [(e)<-[:ATTACHED_TO]-(a:EscalationAttachment) | a {{.id, .filename, .content_type, .size, .sha256}}]}}]
  AS contributions,
  [(c)<-[:OF_CASE]-(ev:CaseEvent) WHERE {visibility.case_event("ev")} |
     ev {{.id, .at, .kind, .status, .note, .police_case_number, .member_code}}] AS events
"""

SEALED = f"""
MATCH (c:Case {{id: $case_id}}) WHERE {visibility.case_liaison("c")}
MATCH (c)<-[:PART_OF]-(e:Escalation)
RETURN e.id AS id, e.member_code AS member_code, e.identifiers_sealed AS identifiers, e.evidence_sealed AS evidence
ORDER BY e.created_at
"""

ATTACHMENT = f"""
MATCH (c:Case {{id: $case_id}}) WHERE {visibility.case_liaison("c")}
MATCH (c)<-[:PART_OF]-(:Escalation)<-[:ATTACHED_TO]-(a:EscalationAttachment {{id: $attachment_id}})
RETURN a {{.id, .escalation_id, .filename, .content_type, .size, .sealed}} AS attachment
"""

UPDATE_STATUS = f"""
MATCH (c:Case {{id: $case_id}}) WHERE {visibility.case_liaison("c")} AND c.status = $from
SET c.status = $to, c.updated_at = datetime(), c.last_note = $note,
    c.police_case_number = coalesce($police_case_number, c.police_case_number)
CREATE (ev:CaseEvent {{id: $event_id, case_id: c.id, at: datetime(), kind: 'status', status: $to, note: $note,
        police_case_number: $police_case_number, actor_id: $actor_id, member_code: null}})
CREATE (ev)-[:OF_CASE]->(c)
RETURN {_CASE_FIELDS} AS case, [(c)<-[:PART_OF]-(e:Escalation) | e {{.id, .member_code}}] AS contributions
"""

ESCALATIONS = f"""
MATCH (e:Escalation)-[:PART_OF]->(c:Case)
WHERE {visibility.escalation("e", "c")} AND ($status IS NULL OR c.status = $status)
  AND ($escalation_id IS NULL OR e.id = $escalation_id)
RETURN e {{.id, .member_code, .title, .category, .reason, .routing_rule, .routing_basis, .masked_identifiers,
          .identifier_count, .created_at}} AS escalation, {_CASE_FIELDS} AS case,
       [(c)<-[:OF_CASE]-(ev:CaseEvent) WHERE {visibility.case_event("ev")} |
          ev {{.id, .at, .kind, .status, .note, .police_case_number, .member_code}}] AS events
ORDER BY e.created_at DESC, e.id LIMIT $first
"""

SET_WEBHOOK = """
MATCH (m:Member {code: $member_code})
MERGE (w:EscalationWebhook {member_code: $member_code})
SET w.url = $url, w.secret_sealed = $secret_sealed, w.updated_at = datetime()
MERGE (m)-[:NOTIFIED_AT]->(w)
"""

WEBHOOKS = "MATCH (w:EscalationWebhook) WHERE w.member_code IN $member_codes RETURN w {.member_code, .url, .secret_sealed} AS hook"

CHANGED_CASES = """
MATCH (c:Case) WHERE c.updated_at >= $since AND c.updated_at < $until
RETURN c {.id, .number, .jurisdiction_code, .province_code, .status, .title, .created_at, .updated_at} AS case
ORDER BY c.updated_at
"""

SAVE_DIGEST = """
MERGE (d:EscalationDigest {id: $id})
SET d.jurisdiction_code = $code, d.day = $day, d.new_cases = $new_cases, d.changed_cases = $changed_cases,
    d.cases_json = $cases_json, d.created_at = datetime()
"""

DIGESTS = f"""
MATCH (d:EscalationDigest) WHERE {visibility.jurisdiction_digest("d")}
  AND ($jurisdiction IS NULL OR d.jurisdiction_code = $jurisdiction)
RETURN d {{.id, .jurisdiction_code, .day, .new_cases, .changed_cases, .cases_json, .created_at}} AS digest
ORDER BY d.day DESC, d.jurisdiction_code LIMIT $first
"""

QUERIES = [VISIBLE_LEADS, LOCK_JURISDICTION, OPEN_CASE_SHARING, CREATE_CASE, ADD_ESCALATION, ADD_ATTACHMENT,
           ADD_EVENT, LIST_CASES, GET_CASE, SEALED, ATTACHMENT, UPDATE_STATUS, ESCALATIONS, SET_WEBHOOK, WEBHOOKS,
           CHANGED_CASES, SAVE_DIGEST, DIGESTS]


def _vis(principal: Principal) -> dict[str, Any]:
    return {**visibility.params(principal), "actor_id": principal.id}


def _native(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: to_native(v) for k, v in mapping.items()}


async def visible_leads(graph: Graph, principal: Principal, lead_ids: list[str]) -> list[dict[str, Any]]:
    rows = await graph.read(VISIBLE_LEADS, {"ids": lead_ids, **_vis(principal)})
    return [_native(row) for row in rows]


async def file_escalation(graph: Graph, *, jurisdiction: dict[str, Any], keys: list[str], year: str,
                          new_case_id: str, title: str, escalation: dict[str, Any], lead_ids: list[str],
                          categories: list[str], attachments: list[dict[str, Any]],
                          event: dict[str, Any]) -> dict[str, Any]:
    """In one transaction: join the open case of this jurisdiction sharing an indicator, or open a new one;
    then add the escalation, its attachments and its timeline entry. Returns {case_id, joined}."""
    code = jurisdiction["code"]

    async def work(tx) -> dict[str, Any]:
        await (await tx.run(LOCK_JURISDICTION, **jurisdiction)).consume()
        found = await (await tx.run(OPEN_CASE_SHARING, code=code, keys=keys,
                                    open=["submitted", "acknowledged", "filed"])).data()
        case_id = found[0]["id"] if found else new_case_id
        if not found:
            await (await tx.run(CREATE_CASE, code=code, year=year, case_id=case_id, title=title,
                                province_code=jurisdiction["province_code"])).consume()
        props = {**escalation, "case_id": case_id}
        await (await tx.run(ADD_ESCALATION, case_id=case_id, code=code, props=props, keys=keys,
                            categories=categories, lead_ids=lead_ids)).consume()
        for attachment in attachments:
            await (await tx.run(ADD_ATTACHMENT, escalation_id=escalation["id"], **attachment)).consume()
        await (await tx.run(ADD_EVENT, case_id=case_id, **event)).consume()
        return {"case_id": case_id, "joined": bool(found)}

    return await graph.transaction(work)


async def list_cases(graph: Graph, principal: Principal, *, status: str | None = None, search: str | None = None,
                     jurisdiction: str | None = None, first: int = 50) -> list[dict[str, Any]]:
    rows = await graph.read(LIST_CASES, {"status": status, "search": search or None, "jurisdiction": jurisdiction,
                                         "first": max(1, min(first, 500)), **_vis(principal)})
    return [_native(row["case"]) for row in rows]


async def get_case(graph: Graph, principal: Principal, case_id: str) -> dict[str, Any] | None:
    rows = await graph.read(GET_CASE, {"case_id": case_id, **_vis(principal)})
    if not rows:
        return None
    row = rows[0]
    return {**_native(row["case"]),
            "contributions": sorted((_native(c) for c in row["contributions"]), key=lambda c: c["created_at"]),
            "events": sorted((_native(e) for e in row["events"]), key=lambda e: e["at"])}


async def sealed_of_case(graph: Graph, principal: Principal, case_id: str) -> list[dict[str, Any]]:
    return await graph.read(SEALED, {"case_id": case_id, **_vis(principal)})


async def attachment(graph: Graph, principal: Principal, case_id: str, attachment_id: str) -> dict[str, Any] | None:
    rows = await graph.read(ATTACHMENT, {"case_id": case_id, "attachment_id": attachment_id, **_vis(principal)})
    return rows[0]["attachment"] if rows else None


async def update_status(graph: Graph, principal: Principal, *, case_id: str, from_status: str, to_status: str,
                        note: str, police_case_number: str | None, event_id: str) -> dict[str, Any] | None:
    rows = await graph.write(UPDATE_STATUS, {
        "case_id": case_id, "from": from_status, "to": to_status, "note": note,
        "police_case_number": police_case_number, "event_id": event_id, **_vis(principal)})
    return {**_native(rows[0]["case"]), "contributions": rows[0]["contributions"]} if rows else None


async def escalations(graph: Graph, principal: Principal, *, status: str | None = None,
                      escalation_id: str | None = None, first: int = 50) -> list[dict[str, Any]]:
    rows = await graph.read(ESCALATIONS, {"status": status, "escalation_id": escalation_id,
                                          "first": max(1, min(first, 500)), **_vis(principal)})
    return [{"escalation": _native(row["escalation"]), "case": _native(row["case"]),
             "events": sorted((_native(e) for e in row["events"]), key=lambda e: e["at"])} for row in rows]


async def set_webhook(graph: Graph, member_code: str, url: str, secret_sealed: bytes) -> None:
    await graph.write(SET_WEBHOOK, {"member_code": member_code, "url": url, "secret_sealed": secret_sealed})


async def webhooks(graph: Graph, member_codes: list[str]) -> list[dict[str, Any]]:
    return [row["hook"] for row in await graph.read(WEBHOOKS, {"member_codes": member_codes})]


async def changed_cases(graph: Graph, since: Any, until: Any) -> list[dict[str, Any]]:
    return [_native(row["case"]) for row in await graph.read(CHANGED_CASES, {"since": since, "until": until})]


async def save_digest(graph: Graph, **digest: Any) -> None:
    await graph.write(SAVE_DIGEST, digest)


async def digests(graph: Graph, principal: Principal, *, jurisdiction: str | None = None,
                  first: int = 14) -> list[dict[str, Any]]:
    rows = await graph.read(DIGESTS, {"jurisdiction": jurisdiction, "first": first, **_vis(principal)})
    return [_native(row["digest"]) for row in rows]
