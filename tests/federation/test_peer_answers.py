"""A peer's answer is believed only when it is signed, small enough and well formed; otherwise that peer failed
and the check still answers. The misbehaving peer is a real HTTP server on loopback that signs what it sends."""

from __future__ import annotations

import asyncio
import json
from typing import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.dev_cluster import Cluster
from federation.client import CHECK_PATH
from federation.signing import NodeIdentity, sign_response
from tests.conftest import ServerThread
from tests.federation.conftest import BREAKER_RESET, MAX_ANSWER_BYTES, check, file_leads, new_phone, outcomes
from tests.support import gql

ROGUE = NodeIdentity("node-rogue", Ed25519PrivateKey.generate())
ADD = """mutation($input: AddPeerInput!) { addPeer(input: $input) { nodeId state sharing } }"""
DISABLE = "mutation { disablePeer(nodeId: \"node-rogue\") { state } }"


class Rogue:
    """Answers every federated check the way `mode` says."""

    mode = "valid"

    async def endpoint(self, request: Request) -> Response:
        asked = json.loads(await request.body())["keys"]
        answer = {"protocol": 1, "node_id": ROGUE.node_id, "key_version": 1, "results": []}
        if self.mode == "malformed":
            answer["results"] = [{"key": asked[0], "reports": [{"member_ref": "zz", "tlp": "AMBER"}]}]
        elif self.mode == "red":
            answer["results"] = [{"key": asked[0], "status": "active", "reports": [_report(tlp="RED")]}]
        elif self.mode == "unasked":
            answer["results"] = [{"key": "phone:" + "0" * 64, "status": "active", "reports": [_report()]}]
        elif self.mode == "oversized":
            answer["padding"] = "x" * (MAX_ANSWER_BYTES + 1)
        raw = json.dumps(answer).encode()
        headers = sign_response(ROGUE, 200, request.headers["x-fenghuo-nonce"], raw)
        if self.mode == "unsigned":
            headers = {"x-fenghuo-node": ROGUE.node_id, "x-fenghuo-signature": "AAAA"}
        return Response(raw, media_type="application/json", headers=headers)


def _report(tlp: str = "AMBER") -> dict:
    return {"member_ref": "0123456789", "reliability": 1.0, "tlp": tlp, "category": "LOAN_INTERMEDIARY", "leads": 1,
            "max_confidence": 0.9, "max_confidence_at": 1, "last_confidence": 0.9, "last_seen": 1, "first_seen": 1}


@pytest.fixture(scope="module")
def rogue(cluster: Cluster) -> Iterator[Rogue]:
    handler = Rogue()
    with ServerThread(Starlette(routes=[Route(CHECK_PATH, handler.endpoint, methods=["POST"])])) as server:
        a = cluster.node("a")
        body = httpx.post(a.url + "/graphql", headers={"authorization": f"Bearer {a.operator_key}"}, timeout=30, json={
            "query": ADD, "variables": {"input": {"nodeId": ROGUE.node_id, "url": server.url,
                                                  "publicKey": ROGUE.public_key, "timeoutSeconds": 5}}})
        assert body.json()["data"]["addPeer"]["state"] == "ENABLED", body.text
        try:
            yield handler
        finally:
            httpx.post(a.url + "/graphql", json={"query": DISABLE}, timeout=30,
                       headers={"authorization": f"Bearer {a.operator_key}"}).raise_for_status()


@pytest.mark.parametrize(("mode", "reason"), [
    ("malformed", "malformed answer"), ("red", "malformed answer"), ("unasked", "not asked"),
    ("oversized", "exceeds the limit"), ("unsigned", "signature"),
])
async def test_a_bad_answer_is_that_peers_failure_not_the_checks(
    cluster: Cluster, http: httpx.AsyncClient, rogue: Rogue, mode: str, reason: str,
) -> None:
    a, b, _ = cluster.nodes
    rogue.mode = mode
    await asyncio.sleep(BREAKER_RESET)  # the previous bad answers opened its breaker: let the next probe through
    phone = new_phone()
    await file_leads(http, b, phone, tlp="GREEN")
    result = await check(http, a, phone)
    peers = outcomes(result)
    assert peers["node-rogue"]["status"] == "FAILED" and reason in peers["node-rogue"]["reason"]
    assert peers["node-b"]["status"] == "ANSWERED"
    verdict = result["leads"][0]["identifiers"][0]
    assert verdict["members"] == 1 and [c["node"] for c in verdict["contributions"]] == ["node-b"]


async def test_a_valid_signed_answer_from_a_new_peer_is_merged(cluster: Cluster, http: httpx.AsyncClient, rogue: Rogue) -> None:
    a = cluster.node("a")
    rogue.mode = "valid"
    await asyncio.sleep(BREAKER_RESET)
    result = await check(http, a, new_phone())
    assert outcomes(result)["node-rogue"]["status"] == "ANSWERED"
    http.base_url = a.url
    listed = await gql(http, "{ peers { nodeId state breaker requests lastLatencyMs } }", a.operator_key)
    rogue_row = next(p for p in listed["data"]["peers"] if p["nodeId"] == "node-rogue")
    assert rogue_row["requests"] >= 1 and rogue_row["breaker"] == "CLOSED" and rogue_row["lastLatencyMs"] is not None
