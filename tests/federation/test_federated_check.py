"""Federated checks across three real nodes over HTTP: provenance, counting members once, dead peers, breakers."""

from __future__ import annotations

import asyncio
import time

import httpx

from api.dev_cluster import Cluster
from tests.federation.conftest import (BREAKER_FAILURES, BREAKER_RESET, PEER_TIMEOUT, check, file_leads, new_phone,
                                       outcomes)


async def test_a_phone_reported_on_b_and_c_is_found_from_a_with_both_provenances(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, c = cluster.nodes
    phone = new_phone()
    await file_leads(http, b, phone)
    await file_leads(http, c, phone, category="MONEY_MULE")
    result = await check(http, a, phone)
    verdict = result["leads"][0]["identifiers"][0]
    assert verdict["status"] == "ACTIVE" and verdict["members"] == 2 and verdict["score"] > 0, result
    assert sorted(x["node"] for x in verdict["contributions"]) == ["node-b", "node-c"]
    assert {p["nodeId"]: p["status"] for p in result["peers"]} == {"node-b": "ANSWERED", "node-c": "ANSWERED"}
    assert all(p["latencyMs"] is not None for p in result["peers"])


async def test_a_local_check_on_a_does_not_ask_peers(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, _ = cluster.nodes
    phone = new_phone()
    await file_leads(http, b, phone)
    result = await check(http, a, phone, scope="LOCAL")
    assert result["peers"] == [] and result["leads"][0]["identifiers"][0]["status"] == "NO_RECORD"


async def test_the_same_member_filing_on_b_and_on_c_counts_once(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, c = cluster.nodes
    phone = new_phone()
    # MEMBER_B also files through node C (a member firm may run leads through more than one node).
    await file_leads(http, b, phone, attributed=True)
    c_key_for_member_b = await _member_key_on(cluster, c, b.member)
    await file_leads(http, c, phone, key=c_key_for_member_b, attributed=True)
    verdict = (await check(http, a, phone))["leads"][0]["identifiers"][0]
    assert verdict["members"] == 1
    assert [x["filer"] for x in verdict["contributions"]] == [b.member]


async def test_scores_match_a_local_check_of_the_same_leads(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a, b, _ = cluster.nodes
    phone = new_phone()
    await file_leads(http, b, phone, tlp="GREEN")
    local_on_b = (await check(http, b, phone, scope="LOCAL"))["leads"][0]["identifiers"][0]
    federated_from_a = (await check(http, a, phone))["leads"][0]["identifiers"][0]
    assert federated_from_a["score"] == local_on_b["score"] > 0


async def test_a_dead_peer_fails_within_its_timeout_then_is_skipped_then_answers_again(
    cluster: Cluster, http: httpx.AsyncClient,
) -> None:
    a, b, c = cluster.nodes
    phone = new_phone()
    await file_leads(http, b, phone)
    cluster.stop_api(c)
    try:
        started = time.monotonic()
        result = await check(http, a, phone)
        assert time.monotonic() - started < PEER_TIMEOUT + 1.0  # bounded by C's timeout (plus A's own work)
        peers = outcomes(result)
        assert peers["node-b"]["status"] == "ANSWERED" and peers["node-c"]["status"] == "FAILED"
        assert "connection refused" in peers["node-c"]["reason"]
        assert result["leads"][0]["identifiers"][0]["members"] == 1
        for _ in range(BREAKER_FAILURES - 1):
            await check(http, a, phone)
        skipped = outcomes(await check(http, a, phone))["node-c"]
        assert skipped["status"] == "SKIPPED" and "breaker open" in skipped["reason"]
    finally:
        cluster.start_api(c)
        cluster.wait_healthy(c)
    await asyncio.sleep(BREAKER_RESET)
    assert outcomes(await check(http, a, phone))["node-c"]["status"] == "ANSWERED"


async def _member_key_on(cluster: Cluster, node, member: str) -> str:
    from access import service
    from core.principal import cli_principal
    from audit.log import AuditLog
    from graph.database import Graph, Target
    from ingest.pseudonym import key_from_config

    graph = Graph.connect(Target(node.bolt_uri, None))
    audit = AuditLog(graph)
    try:
        actor = cli_principal("test")
        await service.add_member(graph, audit, actor, key_from_config(cluster.alliance_key_hex, 1), code=member, name=member)
        issued = await service.create_api_key(graph, audit, actor, member_code=member, roles=["uploader"])
        return issued.token
    finally:
        await audit.close()
        await graph.close()
