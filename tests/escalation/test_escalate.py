"""Escalating over GraphQL: routing recorded on the case, overlapping escalations joining one case with each
member's contribution kept apart, status changes flowing back, and bad input changing nothing."""

from __future__ import annotations

import re

import httpx

from graph.database import Graph
from tests.escalation.helpers import escalate, escalated
from tests.support import add_member, error_codes, gql, issue_key

SHENZHEN_PHONE = "13510001234"


async def test_an_escalation_is_routed_by_the_main_phone_and_gets_a_readable_case_number(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    result = escalated(await escalate(api, analyst, identifiers=[{"type": "PHONE", "value": SHENZHEN_PHONE}]))
    e = result["escalation"]
    assert re.fullmatch(r"FH-440300-\d{4}-000001", e["caseNumber"])
    assert (e["routingRule"], e["jurisdiction"], e["status"], e["statusLabel"]) == (
        "PHONE_GEOCODE", {"code": "440300", "bureau": "深圳市公安局"}, "SUBMITTED", "待受理")
    assert e["maskedIdentifiers"] == ["phone:135****1234"] and not result["joinedExistingCase"]
    stored = await graph.read("MATCH (e:Escalation) RETURN e.identifiers_sealed AS sealed, keys(e) AS keys")
    assert SHENZHEN_PHONE.encode() not in stored[0]["sealed"]  # sealed at rest, not stored in the clear
    assert not any("raw" in k or k == "identifiers" for k in stored[0]["keys"])


async def test_overlapping_escalations_to_one_jurisdiction_join_one_case_with_contributions_kept_apart(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, beta = await issue_key(graph, "ACME", "analyst"), await issue_key(graph, "BETA", "analyst")
    first = escalated(await escalate(api, acme, identifiers=[{"type": "PHONE", "value": SHENZHEN_PHONE}],
                                     reason="ACME 的理由"))["escalation"]
    second = escalated(await escalate(api, beta, category="跑分", reason="BETA 的理由",
                                      identifiers=[{"type": "PHONE", "value": "135-1000-1234"},
                                                   {"type": "BANK_CARD", "value": "6222021234567890123"}]))
    assert second["joinedExistingCase"] and second["escalation"]["caseNumber"] == first["caseNumber"]
    other = escalated(await escalate(api, beta, identifiers=[{"type": "PHONE", "value": "13510009999"}]))
    assert not other["joinedExistingCase"] and other["escalation"]["caseNumber"].endswith("-000002")

    case = await graph.read("MATCH (c:Case {id: $id}) RETURN c.contributions AS n, c.categories AS categories",
                            {"id": first["caseId"]})
    assert case[0]["n"] == 2 and sorted(case[0]["categories"]) == ["LOAN_INTERMEDIARY", "MONEY_MULE"]
    acme_sees = (await gql(api, "{ escalations { id reason timeline { kind note } } }", acme))["data"]["escalations"]
    assert [e["reason"] for e in acme_sees] == ["ACME 的理由"]
    assert all("BETA" not in (t["note"] or "") for t in acme_sees[0]["timeline"])  # no trace of BETA's contribution


async def test_a_liaisons_status_change_reaches_the_member_over_graphql(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    liaison = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    e = escalated(await escalate(api, analyst, identifiers=[{"type": "PHONE", "value": SHENZHEN_PHONE}]))["escalation"]
    update = """mutation($id: String!, $s: CaseStatus!, $note: String!, $n: String) {
      updateCaseStatus(caseId: $id, status: $s, note: $note, policeCaseNumber: $n) { status statusLabel policeCaseNumber } }"""
    refused = await gql(api, update, liaison, id=e["caseId"], s="FILED", note="立案")
    assert error_codes(refused) == ["BAD_USER_INPUT"] and "案件编号" in refused["errors"][0]["message"]
    acked = await gql(api, update, liaison, id=e["caseId"], s="ACKNOWLEDGED", note="已接收，正在核查")
    assert acked["data"]["updateCaseStatus"]["statusLabel"] == "已受理"
    filed = await gql(api, update, liaison, id=e["caseId"], s="FILED", note="已立案侦查", n="深公(经)立字[2026]123号")
    assert filed["data"]["updateCaseStatus"]["policeCaseNumber"] == "深公(经)立字[2026]123号"
    back = await gql(api, update, liaison, id=e["caseId"], s="ACKNOWLEDGED", note="回退")
    assert error_codes(back) == ["BAD_USER_INPUT"]

    seen = (await gql(api, "query($id: String!) { escalation(id: $id) { statusLabel latestNote policeCaseNumber "
                           "timeline { statusLabel note } } }", analyst, id=e["id"]))["data"]["escalation"]
    assert (seen["statusLabel"], seen["latestNote"], seen["policeCaseNumber"]) == ("已立案", "已立案侦查", "深公(经)立字[2026]123号")
    assert [t["statusLabel"] for t in seen["timeline"]] == [None, "已受理", "已立案"]


async def test_explicit_id_and_home_rules_are_recorded_on_the_case(api: httpx.AsyncClient, graph: Graph) -> None:
    await add_member(graph, "HOME", jurisdiction="330100")
    analyst = await issue_key(graph, "HOME", "analyst")
    explicit = escalated(await escalate(api, analyst, jurisdiction="310000",
                                        identifiers=[{"type": "PHONE", "value": SHENZHEN_PHONE}]))["escalation"]
    by_id = escalated(await escalate(api, analyst, identifiers=[{"type": "ID_NUMBER", "value": "420602198001010033"}]))["escalation"]
    home = escalated(await escalate(api, analyst, identifiers=[{"type": "BANK_CARD", "value": "6222021234567890123"}]))["escalation"]
    assert [(x["routingRule"], x["jurisdiction"]["code"]) for x in (explicit, by_id, home)] == [
        ("EXPLICIT", "310000"), ("ID_REGION", "420600"), ("MEMBER_HOME", "330100")]
    assert "420602" in by_id["routingBasis"] and "420602198001010033" not in by_id["routingBasis"]


async def test_bad_input_is_refused_with_what_is_accepted_and_changes_nothing(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    phone = [{"type": "PHONE", "value": SHENZHEN_PHONE}]
    cases = [
        ({"category": "黑产", "identifiers": phone}, "LOAN_INTERMEDIARY (贷款中介)"),
        ({"identifiers": [{"type": "PHONE", "value": "1.38001E+10"}]}, "identifier 1 (phone)"),
        ({"identifiers": []}, "leadIds, networkId or identifiers"),
        ({"identifiers": phone, "leadIds": ["no-such-lead"]}, "no lead no-such-lead"),
        ({"identifiers": phone, "attachments": [{"filename": "a.exe", "contentType": "application/x-msdownload",
                                                  "contentBase64": "TVo="}]}, "accepted types"),
        ({"identifiers": phone, "attachments": [{"filename": "a.pdf", "contentType": "application/pdf",
                                                  "contentBase64": "aGVsbG8="}]}, "not a application/pdf file"),
        ({"identifiers": phone, "jurisdiction": "999999"}, "fenghuo jurisdictions find"),
    ]
    for fields, message in cases:
        body = await escalate(api, analyst, **fields)
        assert error_codes(body) in (["BAD_USER_INPUT"], ["NOT_FOUND"]), body
        assert message in body["errors"][0]["message"], body["errors"][0]["message"]
    assert await graph.read("MATCH (n) WHERE n:Case OR n:Escalation OR n:CaseEvent RETURN n LIMIT 1") == []


async def test_only_member_analysts_escalate_and_only_liaisons_change_status(api: httpx.AsyncClient, graph: Graph) -> None:
    uploader = await issue_key(graph, "ACME", "uploader")
    operator = await issue_key(graph, "HUB", "operator")
    assert error_codes(await escalate(api, uploader, identifiers=[{"type": "PHONE", "value": SHENZHEN_PHONE}])) == ["FORBIDDEN"]
    body = await gql(api, 'mutation { updateCaseStatus(caseId: "x", status: ACKNOWLEDGED, note: "n") { status } }', operator)
    assert error_codes(body) == ["FORBIDDEN"]
