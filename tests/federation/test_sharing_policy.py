"""What leaves a node: RED never; AMBER only to a peer of the same alliance; GREEN/CLEAR to every peer."""

from __future__ import annotations

import httpx

from api.dev_cluster import Cluster
from tests.federation.conftest import check, file_leads, new_phone, outcomes
from tests.support import gql

UPDATE = """mutation($id: String!, $sharing: SharingPolicy!) { updatePeer(nodeId: $id, input: {sharing: $sharing}) {
  nodeId sharing state } }"""
INDICATOR = 'query($v: String!) { indicator(type: PHONE, value: $v) { leads members } }'


async def test_a_red_lead_on_b_is_never_visible_from_a(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, _ = cluster.nodes
    phone = new_phone()
    await file_leads(http, b, phone, tlp="RED")
    for key in (a.member_key, a.operator_key):  # not even A's operator
        result = await check(http, a, phone, key=key)
        assert outcomes(result)["node-b"]["status"] == "ANSWERED"
        verdict = result["leads"][0]["identifiers"][0]
        assert (verdict["status"], verdict["members"], verdict["contributions"]) == ("NO_RECORD", 0, [])
    http.base_url = a.url
    body = await gql(http, INDICATOR, a.operator_key, v=phone)
    assert body["data"]["indicator"] is None
    own = (await check(http, b, phone, scope="LOCAL"))["leads"][0]["identifiers"][0]
    assert own["status"] == "ACTIVE"  # B's own member sees it: the lead exists


async def test_an_amber_lead_reaches_only_an_alliance_peer(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, _ = cluster.nodes
    amber, green = new_phone(), new_phone()
    await file_leads(http, b, amber, tlp="AMBER")
    await file_leads(http, b, green, tlp="GREEN")
    assert (await check(http, a, amber))["leads"][0]["identifiers"][0]["members"] == 1  # B treats A as ALLIANCE
    http.base_url = b.url
    changed = await gql(http, UPDATE, b.operator_key, id="node-a", sharing="EXTERNAL")
    assert changed["data"]["updatePeer"]["sharing"] == "EXTERNAL"
    try:
        hidden = (await check(http, a, amber))["leads"][0]["identifiers"][0]
        shown = (await check(http, a, green))["leads"][0]["identifiers"][0]
        assert (hidden["status"], hidden["members"]) == ("NO_RECORD", 0)
        assert shown["members"] == 1 and shown["contributions"][0]["tlp"] == "GREEN"
    finally:
        http.base_url = b.url
        await gql(http, UPDATE, b.operator_key, id="node-a", sharing="ALLIANCE")
