"""POST /v1/checks: JSON and NDJSON bulk checks give checkLeads' verdicts, are audited, and refuse bad input clearly."""

from __future__ import annotations

import json
from typing import Any

import httpx

from graph.database import Graph
from tests.support import gql, issue_key

LISTED = ["13812340001", "13812340002", "13812340003"]
RED = "13812349999"

SUBMIT = """mutation($leads: [LeadInput!]!) { submitLeads(leads: $leads) { batch { status } } }"""
CHECK = """query($leads: [LeadCheckInput!]!) { checkLeads(leads: $leads) {
  leads { ref score level identifiers { inputType type masked status score level categories members } } } }"""


async def _alliance(api: httpx.AsyncClient, graph: Graph) -> tuple[str, str]:
    """BETA files three AMBER leads and one RED one; returns (ACME analyst key, BETA analyst key)."""
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    leads = [{"category": "LOAN_INTERMEDIARY", "identifiers": [{"type": "PHONE", "value": p}], "confidence": "0.9"} for p in LISTED]
    leads.append({"category": "MONEY_MULE", "tlp": "RED", "identifiers": [{"type": "PHONE", "value": RED}]})
    body = await gql(api, SUBMIT, beta, leads=leads)
    assert body["data"]["submitLeads"]["batch"]["status"] == "COMMITTED", body
    return await issue_key(graph, "ACME", "analyst"), beta


def _leads(*phones: str) -> list[dict[str, Any]]:
    return [{"ref": f"app-{n}", "identifiers": [{"type": "PHONE", "value": p}]} for n, p in enumerate(phones)]


def _auth(token: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **extra}


async def _audited_checks(graph: Graph) -> int:
    rows = await graph.read("MATCH (a:AuditRecord {action: 'check'}) RETURN count(a) AS n")
    return rows[0]["n"]


async def test_json_checks_answer_what_check_leads_answers(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    phones = [*LISTED, RED, "13900000000", "95588", "1.38001E+10"]
    response = await api.post("/v1/checks", json={"leads": _leads(*phones)}, headers=_auth(acme))
    assert response.status_code == 200, response.text
    rest = response.json()["leads"]
    graphql = (await gql(api, CHECK, acme, leads=_leads(*phones)))["data"]["checkLeads"]["leads"]
    assert [lead["ref"] for lead in rest] == [lead["ref"] for lead in graphql]
    for ours, theirs in zip(rest, graphql):
        assert (ours["score"], ours["level"]) == (theirs["score"], theirs["level"])
        for a, b in zip(ours["identifiers"], theirs["identifiers"]):
            assert {k: a[k] for k in b} == b
    statuses = [lead["identifiers"][0]["status"] for lead in rest]
    assert statuses == ["ACTIVE", "ACTIVE", "ACTIVE", "NO_RECORD", "NO_RECORD", "BENIGN", "INVALID"]  # RED: unseen


async def test_a_bulk_check_is_audited_like_check_leads(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    before = await _audited_checks(graph)
    response = await api.post("/v1/checks", json={"leads": _leads(*LISTED)},
                              headers=_auth(acme, **{"x-fenghuo-purpose": "loan application review"}))
    assert response.status_code == 200
    rows = await _wait_for_audit(graph, before + 1)
    assert rows["n"] == before + 1 and rows["purpose"] == "loan application review"
    assert all(p not in json.dumps(rows) for p in LISTED)


async def _wait_for_audit(graph: Graph, expected: int) -> dict[str, Any]:
    import asyncio
    for _ in range(100):
        rows = await graph.read("MATCH (a:AuditRecord {action: 'check'}) WITH a ORDER BY a.seq DESC "
                                "RETURN count(a) AS n, collect(a.purpose)[0] AS purpose, collect(a.detail)[0] AS detail")
        if rows[0]["n"] >= expected:
            return rows[0]
        await asyncio.sleep(0.1)
    return rows[0]


async def test_ndjson_is_answered_line_by_line_and_a_bad_line_in_its_place(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    lines = [json.dumps(lead) for lead in _leads(LISTED[0], "13900000000")]
    lines.insert(1, '{"ref": "broken", "identifiers": [{"type": "FAX", "value": "1"}]}')
    lines.insert(2, "not json")
    body = ("\n".join(lines) + "\n\n" + json.dumps(_leads(LISTED[1])[0])).encode()
    response = await api.post("/v1/checks", content=body,
                              headers=_auth(acme, **{"content-type": "application/x-ndjson"}))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    answers = [json.loads(line) for line in response.text.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 6]
    assert answers[0]["identifiers"][0]["status"] == "ACTIVE" and answers[3]["identifiers"][0]["status"] == "NO_RECORD"
    assert answers[4]["identifiers"][0]["status"] == "ACTIVE"
    assert answers[1]["error"]["extensions"]["field"] == "line 2.identifiers[0].type"
    assert "accepted: PHONE" in answers[1]["error"]["message"]
    assert answers[2]["error"]["extensions"]["code"] == "BAD_USER_INPUT" and "not a JSON object" in answers[2]["error"]["message"]


async def test_a_large_stream_is_checked_in_chunks(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    phones = [f"1390000{n:04d}" for n in range(4500)] + [LISTED[2]]
    body = "\n".join(json.dumps({"ref": f"r{n}", "identifiers": [{"type": "PHONE", "value": p}]})
                     for n, p in enumerate(phones)).encode()
    before = await _audited_checks(graph)
    response = await api.post("/v1/checks", content=body, headers=_auth(acme, **{"content-type": "application/x-ndjson"}))
    answers = [json.loads(line) for line in response.text.splitlines()]
    assert len(answers) == len(phones) and answers[-1]["ref"] == "r4500"
    assert answers[-1]["identifiers"][0]["status"] == "ACTIVE"
    assert {a["identifiers"][0]["status"] for a in answers[:-1]} == {"NO_RECORD"}
    rows = await _wait_for_audit(graph, before + 3)
    assert rows["n"] == before + 3  # 4,501 identifiers: chunks of at most 2,000, each audited


async def test_bad_json_refuses_the_call_and_names_the_field(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    before = await _audited_checks(graph)
    cases = [
        (b"{", "not JSON"),
        (json.dumps({"lead": []}).encode(), '"leads"'),
        (json.dumps({"leads": [_leads(LISTED[0])[0], {"identifiers": []}]}).encode(), "leads[1].ref"),
        (json.dumps({"leads": [{"ref": "a", "identifiers": [{"type": "PHONE", "value": 13800138000}]}]}).encode(),
         "leads[0].identifiers[0].value"),
    ]
    for body, named in cases:
        response = await api.post("/v1/checks", content=body, headers=_auth(acme, **{"content-type": "application/json"}))
        assert response.status_code == 400, body
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and named in error["message"]
    assert await _audited_checks(graph) == before


async def test_more_than_ten_thousand_identifiers_in_one_json_call_is_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    acme, _ = await _alliance(api, graph)
    leads = [{"ref": "big", "identifiers": [{"type": "PHONE", "value": f"1390000{n:04d}"} for n in range(10_001)]}]
    response = await api.post("/v1/checks", json={"leads": leads}, headers=_auth(acme))
    assert response.status_code == 400 and "at most 10000" in response.json()["errors"][0]["message"]


async def test_checks_need_a_key_with_the_check_role(api: httpx.AsyncClient, graph: Graph) -> None:
    await _alliance(api, graph)
    uploader_only = await issue_key(graph, "GAMMA", "uploader")
    assert (await api.post("/v1/checks", json={"leads": []})).status_code == 401
    response = await api.post("/v1/checks", json={"leads": _leads(LISTED[0])}, headers=_auth(uploader_only))
    assert response.status_code == 403 and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_stream_checks_two_chunks_at_once_and_answers_in_input_order(api: httpx.AsyncClient, graph: Graph,
                                                                              monkeypatch) -> None:
    import asyncio
    from api import checks_http

    acme, _ = await _alliance(api, graph)
    monkeypatch.setattr(checks_http, "STREAM_CHUNK_IDENTIFIERS", 2)
    running, most = 0, 0
    real = checks_http._check

    async def watched(*args: Any):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.05)  # long enough for the next chunk to start, were it allowed to
            return await real(*args)
        finally:
            running -= 1

    monkeypatch.setattr(checks_http, "_check", watched)
    phones = [LISTED[n % 3] if n % 4 == 0 else f"1390000{n:04d}" for n in range(11)]
    lines = [json.dumps(lead) for lead in _leads(*phones)]
    lines.insert(5, "not json")
    response = await api.post("/v1/checks", content="\n".join(lines).encode(),
                              headers=_auth(acme, **{"content-type": "application/x-ndjson"}))

    answers = [json.loads(line) for line in response.text.splitlines()]
    assert [a["line"] for a in answers] == list(range(1, 13))
    assert "error" in answers[5] and [a["ref"] for a in answers if "ref" in a] == [f"app-{n}" for n in range(11)]
    statuses = [a["identifiers"][0]["status"] for a in answers if "ref" in a]
    assert statuses == ["ACTIVE" if n % 4 == 0 else "NO_RECORD" for n in range(11)]
    assert most == checks_http.STREAM_CHUNKS_AT_ONCE == 2


async def test_a_large_check_decided_part_by_part_answers_as_one_part_does(api: httpx.AsyncClient, graph: Graph, monkeypatch) -> None:
    """Above the coalescer's direct_above (200 keys), a check is judged a part at a time as Neo4j answers each part
    (graph/checks.lookup_parts): the verdicts, in the caller's order, are those of one part, through REST and GraphQL."""
    from graph import checks as repo

    acme, _ = await _alliance(api, graph)
    phones = [*LISTED, RED, *(f"1390000{n:04d}" for n in range(240))]
    leads = [{"ref": f"app-{n}", "identifiers": [{"type": "PHONE", "value": phones[i]} for i in range(n * 3, n * 3 + 3)]
              + [{"type": "ID_NUMBER", "value": "11010519491231002X"}, {"type": "PHONE", "value": "1.38001E+10"}]}
             for n in range(len(phones) // 3)]
    whole = await api.post("/v1/checks", json={"leads": leads}, headers=_auth(acme))
    monkeypatch.setattr(repo, "PART_KEYS", 7)
    monkeypatch.setattr(repo, "PARTS_AT_ONCE", 2)
    parted = await api.post("/v1/checks", json={"leads": leads}, headers=_auth(acme))
    assert whole.status_code == parted.status_code == 200
    assert parted.json()["leads"] == whole.json()["leads"]
    statuses = [i["status"] for lead in parted.json()["leads"] for i in lead["identifiers"]]
    assert statuses[:5] == ["ACTIVE", "ACTIVE", "ACTIVE", "NO_RECORD", "INVALID"] and statuses.count("ACTIVE") == 3
    graphql = (await gql(api, CHECK, acme, leads=leads))["data"]["checkLeads"]["leads"]
    assert [lead["ref"] for lead in graphql] == [lead["ref"] for lead in leads]
    for ours, theirs in zip(parted.json()["leads"], graphql):
        assert [{k: a[k] for k in b} for a, b in zip(ours["identifiers"], theirs["identifiers"])] == theirs["identifiers"]
    kinds = [i["inputType"] for i in graphql[0]["identifiers"]]
    assert kinds == ["PHONE", "PHONE", "PHONE", "ID_NUMBER", "PHONE"]
