"""Peers over GraphQL and the command line: operators only, clear errors for bad input, live figures, /metrics."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from api.dev_cluster import Cluster, free_port
from tests.federation.conftest import check, new_phone
from tests.support import error_codes, gql

ADD = """mutation($input: AddPeerInput!) { addPeer(input: $input) { nodeId url state sharing keyId timeoutSeconds } }"""
PEERS = "{ peers { nodeId url state sharing breaker requests failures lastLatencyMs p50LatencyMs } }"


def peer_input(cluster: Cluster, **overrides) -> dict:
    return {"nodeId": "node-new", "url": "http://127.0.0.1:9", "publicKey": cluster.node("b").identity.public_key,
            "timeoutSeconds": 1.0, **overrides}


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"nodeId": "bad id!"}, "nodeId", "not accepted"),
    ({"nodeId": "node-a"}, "nodeId", "own id"),
    ({"nodeId": "node-b"}, "nodeId", "already registered"),
    ({"url": "ftp://x"}, "url", "base URL"),
    ({"publicKey": "bm9wZQ=="}, "publicKey", "32 bytes"),
    ({"timeoutSeconds": 600.0}, "timeoutSeconds", "out of range"),
])
async def test_bad_peer_input_is_refused_with_the_field_and_changes_nothing(
    cluster: Cluster, http: httpx.AsyncClient, overrides: dict, field: str, words: str,
) -> None:
    a = cluster.node("a")
    http.base_url = a.url
    body = await gql(http, ADD, a.operator_key, input=peer_input(cluster, **overrides))
    assert error_codes(body) == ["BAD_USER_INPUT"] and words in body["errors"][0]["message"], body
    listed = await gql(http, PEERS, a.operator_key)
    assert sorted(p["nodeId"] for p in listed["data"]["peers"] if p["state"] == "ENABLED") == ["node-b", "node-c"]


async def test_only_operators_see_or_manage_peers(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a = cluster.node("a")
    http.base_url = a.url
    for document in (PEERS, "{ federationNode { nodeId } }"):
        assert error_codes(await gql(http, document, a.member_key)) == ["FORBIDDEN"]
    assert error_codes(await gql(http, ADD, a.member_key, input=peer_input(cluster))) == ["FORBIDDEN"]


async def test_peers_show_their_latency_and_breaker_and_metrics_export_them(cluster: Cluster, http: httpx.AsyncClient) -> None:
    a = cluster.node("a")
    await check(http, a, new_phone())
    http.base_url = a.url
    peers = {p["nodeId"]: p for p in (await gql(http, PEERS, a.operator_key))["data"]["peers"]}
    assert peers["node-b"]["requests"] >= 1 and peers["node-b"]["p50LatencyMs"] > 0
    assert peers["node-b"]["breaker"] in ("CLOSED", "HALF_OPEN", "OPEN") and peers["node-b"]["sharing"] == "ALLIANCE"
    identity = (await gql(http, "{ federationNode { nodeId keyId publicKey } }", a.operator_key))["data"]["federationNode"]
    assert identity == {"nodeId": "node-a", "keyId": a.identity.key_id, "publicKey": a.identity.public_key}
    metrics = (await http.get("/metrics")).text
    assert 'fenghuo_peer_request_seconds_count{peer="node-b"}' in metrics
    assert 'fenghuo_peer_breaker_state{peer="node-b"}' in metrics


def fenghuo(cluster: Cluster, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as node a's operator runs it."""
    a = cluster.node("a")
    env = {**os.environ, "FENGHUO_NEO4J_URI": a.bolt_uri, "FENGHUO_DATA_DIR": str(a.data_dir), "FENGHUO_NODE_ID": a.node_id,
           "FENGHUO_ALLIANCE_KEY": cluster.alliance_key_hex, **env}
    return subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_peers_cli_lists_adds_tests_and_disables(cluster: Cluster) -> None:
    listed = fenghuo(cluster, "peers", "list")
    assert listed.returncode == 0 and "node-b" in listed.stdout and "node-c" in listed.stdout
    tested = fenghuo(cluster, "peers", "test", "node-b")
    assert tested.returncode == 0 and "ok: node-b verified" in tested.stdout, tested.stderr
    dead = f"http://127.0.0.1:{free_port()}"
    added = fenghuo(cluster, "peers", "add", "node-gone", dead, "--public-key", cluster.node("b").identity.public_key)
    assert added.returncode == 0, added.stderr
    failed = fenghuo(cluster, "peers", "test", "node-gone")
    assert failed.returncode == 1 and "connection refused" in failed.stderr
    assert fenghuo(cluster, "peers", "disable", "node-gone").returncode == 0
    [gone] = [line for line in fenghuo(cluster, "peers", "list").stdout.splitlines() if line.startswith("node-gone")]
    assert " disabled " in gone


def test_peers_test_names_a_key_mismatch(cluster: Cluster) -> None:
    """node-c knows node-a's public key; node-a signing with another key is refused, and the CLI says why."""
    result = fenghuo(cluster, "peers", "test", "node-c", FENGHUO_NODE_KEY="22" * 32)
    assert result.returncode == 1 and "KEY_MISMATCH" in result.stderr and "key mismatch" in result.stderr
