"""The federation endpoint refuses, and audits, every request it must not trust."""

from __future__ import annotations

import json
import time
import uuid

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.dev_cluster import Cluster, Node
from federation.client import CHECK_PATH
from federation.signing import NodeIdentity, sign_request
from graph.database import Graph
from tests.federation.conftest import audited


def body(key_version: int = 1, keys: list[str] | None = None, request_id: str | None = None) -> bytes:
    return json.dumps({"protocol": 1, "key_version": key_version, "keys": keys or [], "request_id": request_id}).encode()


async def post(http: httpx.AsyncClient, node: Node, payload: bytes, headers: dict[str, str]) -> httpx.Response:
    return await http.post(node.url + CHECK_PATH, content=payload, headers={**headers, "content-type": "application/json"})


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def refused_codes_audited(graph: Graph, wanted: str) -> bool:
    return await audited(graph, "federation.refused", f"code={wanted}")


async def test_a_signed_request_from_a_registered_peer_is_answered_and_the_answer_is_signed(
    cluster: Cluster, http: httpx.AsyncClient, node_graphs: dict[str, Graph],
) -> None:
    a, b, _ = cluster.nodes
    request_id = uuid.uuid4().hex
    payload = body(request_id=request_id)
    response = await post(http, b, payload, sign_request(a.identity, "POST", CHECK_PATH, payload))
    assert response.status_code == 200 and response.json()["node_id"] == "node-b"
    assert response.headers["x-fenghuo-node"] == "node-b" and response.headers["x-fenghuo-signature"]
    assert await audited(node_graphs["b"], "federation.check", f"caller_request={request_id}")


async def test_a_tampered_body_is_refused_and_audited(cluster: Cluster, http: httpx.AsyncClient, node_graphs: dict[str, Graph]) -> None:
    a, b, _ = cluster.nodes
    headers = sign_request(a.identity, "POST", CHECK_PATH, body())
    tampered = body(keys=["phone:" + "0" * 64])
    response = await post(http, b, tampered, headers)
    assert (response.status_code, code(response)) == (401, "BAD_SIGNATURE")
    assert await refused_codes_audited(node_graphs["b"], "BAD_SIGNATURE")


async def test_a_replayed_request_is_refused_and_audited(cluster: Cluster, http: httpx.AsyncClient, node_graphs: dict[str, Graph]) -> None:
    a, b, _ = cluster.nodes
    payload = body()
    headers = sign_request(a.identity, "POST", CHECK_PATH, payload)
    assert (await post(http, b, payload, headers)).status_code == 200
    replay = await post(http, b, payload, headers)
    assert (replay.status_code, code(replay)) == (401, "REPLAYED")
    assert await refused_codes_audited(node_graphs["b"], "REPLAYED")


async def test_a_stale_timestamp_is_refused_and_audited(cluster: Cluster, http: httpx.AsyncClient, node_graphs: dict[str, Graph]) -> None:
    a, b, _ = cluster.nodes
    payload = body()
    response = await post(http, b, payload, sign_request(a.identity, "POST", CHECK_PATH, payload, now=time.time() - 3600))
    assert (response.status_code, code(response)) == (401, "STALE_TIMESTAMP")
    assert "clock" in response.json()["errors"][0]["message"]
    assert await refused_codes_audited(node_graphs["b"], "STALE_TIMESTAMP")


async def test_a_wrong_key_version_is_a_clear_error_and_audited(cluster: Cluster, http: httpx.AsyncClient, node_graphs: dict[str, Graph]) -> None:
    a, b, _ = cluster.nodes
    payload = body(key_version=2)
    response = await post(http, b, payload, sign_request(a.identity, "POST", CHECK_PATH, payload))
    assert (response.status_code, code(response)) == (409, "KEY_VERSION_MISMATCH")
    assert "v2" in response.json()["errors"][0]["message"] and "v1" in response.json()["errors"][0]["message"]
    assert await refused_codes_audited(node_graphs["b"], "KEY_VERSION_MISMATCH")


async def test_an_unsigned_or_unknown_caller_is_refused(cluster: Cluster, http: httpx.AsyncClient) -> None:
    _, b, _ = cluster.nodes
    unsigned = await post(http, b, body(), {})
    assert (unsigned.status_code, code(unsigned)) == (401, "UNSIGNED")
    stranger = NodeIdentity("node-x", Ed25519PrivateKey.generate())
    payload = body()
    response = await post(http, b, payload, sign_request(stranger, "POST", CHECK_PATH, payload))
    assert (response.status_code, code(response)) == (401, "UNKNOWN_NODE")


async def test_a_registered_node_id_signed_with_another_key_is_refused(cluster: Cluster, http: httpx.AsyncClient) -> None:
    _, b, _ = cluster.nodes
    impostor = NodeIdentity("node-a", Ed25519PrivateKey.generate())
    payload = body()
    response = await post(http, b, payload, sign_request(impostor, "POST", CHECK_PATH, payload))
    assert (response.status_code, code(response)) == (409, "KEY_MISMATCH")
