"""Isolation: a liaison of 440300 reaches no case of 310000 — not through GraphQL, not through an inbox URL, not by a
guessed case id or download link (the answer is the one for a case that does not exist); a province liaison sees
its prefectures' cases; operators see case metadata but never raw identifiers."""

from __future__ import annotations

import httpx

from core.principal import Principal, Role
from core.errors import NotFound
from escalation import cases
from graph.database import Graph
from tests.escalation.helpers import escalate, escalated, sign_in
from tests.support import error_codes, gql, issue_key

SHANGHAI_RAW = "13386001234"  # 上海市
SHENZHEN_RAW = "13510001234"


async def _two_cases(api: httpx.AsyncClient, graph: Graph) -> tuple[dict, dict]:
    analyst = await issue_key(graph, "ACME", "analyst")
    pdf = {"filename": "证据.pdf", "contentType": "application/pdf", "contentBase64": "JVBERi0xLjQKJSVFT0YK"}
    shanghai = escalated(await escalate(api, analyst, jurisdiction="310000", title="上海案件",
                                        identifiers=[{"type": "PHONE", "value": SHANGHAI_RAW}], attachments=[pdf]))
    shenzhen = escalated(await escalate(api, analyst, title="深圳案件", identifiers=[{"type": "PHONE", "value": SHENZHEN_RAW}]))
    return shanghai["escalation"], shenzhen["escalation"]


async def test_a_shenzhen_liaison_reaches_no_shanghai_case_by_any_path(api: httpx.AsyncClient, graph: Graph) -> None:
    shanghai, shenzhen = await _two_cases(api, graph)
    key = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    listed = (await gql(api, "{ escalationCases { number } escalations { caseNumber } }", key))["data"]
    assert [c["number"] for c in listed["escalationCases"]] == [shenzhen["caseNumber"]]
    assert [e["caseNumber"] for e in listed["escalations"]] == [shenzhen["caseNumber"]]
    assert error_codes(await gql(api, "query($id: String!) { escalation(id: $id) { id } }", key, id=shanghai["id"])) == ["NOT_FOUND"]
    update = 'mutation($id: String!) { updateCaseStatus(caseId: $id, status: ACKNOWLEDGED, note: "越权") { status } }'
    refused = await gql(api, update, key, id=shanghai["caseId"])
    missing = await gql(api, update, key, id="case_doesnotexist0000000")
    assert error_codes(refused) == error_codes(missing) == ["NOT_FOUND"]
    assert refused["errors"][0]["message"].replace(shanghai["caseId"], "X") == missing["errors"][0]["message"].replace("case_doesnotexist0000000", "X")

    attachment = (await graph.read("MATCH (a:EscalationAttachment) RETURN a.id AS id"))[0]["id"]
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        assert (await sign_in(browser, key)).status_code == 303
        inbox = await browser.get("/police/")
        assert shenzhen["caseNumber"] in inbox.text and shanghai["caseNumber"] not in inbox.text
        assert shanghai["caseNumber"] not in (await browser.get("/police/", params={"q": "FH-310000"})).text
        for suffix in ("", "/identifiers", "/package.zip", f"/attachments/{attachment}"):
            theirs = await browser.get(f"/police/cases/{shanghai['caseId']}{suffix}")
            nothing = await browser.get(f"/police/cases/case_doesnotexist0000000{suffix}")
            assert theirs.status_code == nothing.status_code == 404
            assert theirs.text == nothing.text
        posted = await browser.post(f"/police/cases/{shanghai['caseId']}/status", data={"status": "acknowledged", "note": "x"})
        assert posted.status_code in (400, 404)
        mine = await browser.get(f"/police/cases/{shenzhen['caseId']}")
        assert mine.status_code == 200 and "深圳案件" in mine.text
    status = await graph.read("MATCH (c:Case {id: $id}) RETURN c.status AS s", {"id": shanghai["caseId"]})
    assert status[0]["s"] == "submitted"


async def test_a_province_liaison_sees_its_prefectures_cases_but_not_other_provinces(api: httpx.AsyncClient, graph: Graph) -> None:
    shanghai, shenzhen = await _two_cases(api, graph)
    guangdong = await issue_key(graph, "GDPSD", "police_liaison", jurisdictions=["440000"])
    listed = (await gql(api, "{ escalationCases { number } }", guangdong))["data"]["escalationCases"]
    assert [c["number"] for c in listed] == [shenzhen["caseNumber"]]


async def test_an_operator_sees_case_metadata_but_never_raw_identifiers(api: httpx.AsyncClient, graph: Graph, desk) -> None:
    shanghai, _ = await _two_cases(api, graph)
    operator_key = await issue_key(graph, "HUB", "operator")
    listed = await gql(api, "{ escalationCases { number } escalations { maskedIdentifiers } }", operator_key)
    assert len(listed["data"]["escalationCases"]) == 2
    assert SHANGHAI_RAW not in str(listed) and "133****1234" in str(listed)
    operator = Principal(id="key:op", member_code="HUB", roles=frozenset({Role.OPERATOR}))
    for attempt in (cases.reveal_identifiers(desk, operator, shanghai["caseId"]),
                    cases.download_package(desk, operator, shanghai["caseId"])):
        try:
            await attempt
            raise AssertionError("an operator opened raw identifiers")
        except NotFound:
            pass
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        refused = await sign_in(browser, operator_key)
        assert refused.status_code == 403 and "不是公安联络员密钥" in refused.text
        assert (await browser.get(f"/police/cases/{shanghai['caseId']}")).status_code == 303
