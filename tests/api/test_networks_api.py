"""Agent networks through GraphQL: a network formed by a shared device can be listed, drawn and explored."""

from __future__ import annotations

import httpx

from graph.database import Graph
from tests.support import gql, issue_key

SHARED_DEVICE = "867530021234560"


async def test_leads_sharing_a_device_form_a_network_that_can_be_listed_drawn_and_explored(api: httpx.AsyncClient, graph: Graph) -> None:
    uploader = await issue_key(graph, "ACME", "uploader")
    analyst = await issue_key(graph, "BETA", "analyst")
    submit = """mutation($leads: [LeadInput!]!) { submitLeads(leads: $leads) { batch { status accepted } } }"""
    leads = [{"category": "中介", "identifiers": [{"type": "PHONE", "value": phone}, {"type": "DEVICE", "value": SHARED_DEVICE}]}
             for phone in ("13800000001", "13800000002", "13800000003")]
    leads.append({"category": "中介", "identifiers": [{"type": "PHONE", "value": "13900000009"}]})
    body = await gql(api, submit, uploader, leads=leads)
    assert body["data"]["submitLeads"]["batch"] == {"status": "COMMITTED", "accepted": 4}

    listed = (await gql(api, "{ agentNetworks { id size members memberCodes categories topIndicators { type masked degree } } }", analyst))
    networks = listed["data"]["agentNetworks"]
    assert len(networks) == 1 and networks[0]["size"] == 3
    assert networks[0]["memberCodes"] == []  # ACME did not file with attribution
    assert networks[0]["topIndicators"][0] == {"type": "IMEI", "masked": "86753002******", "degree": 3}

    drawing = (await gql(api, "query($id: String!) { network(id: $id) { nodes { id kind } edges { source target type } truncated } }",
                         analyst, id=networks[0]["id"]))["data"]["network"]
    kinds = sorted(node["kind"] for node in drawing["nodes"])
    assert kinds.count("LEAD") == 3 and not drawing["truncated"]
    assert len([e for e in drawing["edges"] if e["type"] == "NAMES"]) == 6

    around = (await gql(api, '{ indicatorNeighbourhood(type: DEVICE, value: "867530021234560", depth: 1) { nodes { kind } } }',
                        analyst))["data"]["indicatorNeighbourhood"]
    assert sorted(n["kind"] for n in around["nodes"]).count("LEAD") == 3
