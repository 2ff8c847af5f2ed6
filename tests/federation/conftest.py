"""Three real nodes on loopback for the federation tests: one launcher JVM with three DBMSs, three API servers
(`fenghuo serve` processes), each with its own member, keys and signing key, peered with each other."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from api.dev_cluster import Cluster, Node
from core.settings import Settings
from graph.database import Graph, Target
from tests.support import gql

# A's breaker opens after 2 consecutive failures and probes again after 2 s; peers answer within 8 s.
PEER_TIMEOUT = 8.0  # generous: 2 shared cores; the bench measures latency
BREAKER_FAILURES = 2
BREAKER_RESET = 2.0

_phones = itertools.count(13800000100)


def new_phone() -> str:
    """A phone number no other test used (the cluster lives for the whole session)."""
    return str(next(_phones))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nodes = Cluster(3, tmp_path_factory.mktemp("cluster"), cache_dir=Settings(_env_file=None).cache_dir,
                    peer_timeout=PEER_TIMEOUT, heap="1g", node_env={
                        "FENGHUO_FEDERATION_BREAKER_FAILURES": str(BREAKER_FAILURES),
                        "FENGHUO_FEDERATION_BREAKER_RESET_SECONDS": str(BREAKER_RESET)})
    nodes.start()
    yield nodes
    nodes.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
async def node_graphs(cluster: Cluster) -> AsyncIterator[dict[str, Graph]]:
    graphs = {node.name: Graph.connect(Target(node.bolt_uri, None)) for node in cluster.nodes}
    yield graphs
    for graph in graphs.values():
        await graph.close()


SUBMIT = """mutation($leads: [LeadInput!]!, $attributed: Boolean!) {
  submitLeads(leads: $leads, attributed: $attributed) { batch { status } rows { status errors { message } } } }"""

FEDERATED = """query($leads: [LeadCheckInput!]!, $scope: CheckScope!) { checkLeads(leads: $leads, scope: $scope) {
  scope peers { nodeId status latencyMs reason }
  leads { ref score identifiers { status score members contributions { filer node tlp category } } } } }"""


async def file_leads(http: httpx.AsyncClient, node: Node, phone: str, *, tlp: str = "AMBER", attributed: bool = False,
                     key: str | None = None, category: str = "LOAN_INTERMEDIARY") -> None:
    lead = {"category": category, "identifiers": [{"type": "PHONE", "value": phone}], "confidence": "0.9", "tlp": tlp}
    http.base_url = node.url
    body = await gql(http, SUBMIT, key or node.member_key, leads=[lead], attributed=attributed)
    assert body["data"]["submitLeads"]["batch"]["status"] == "COMMITTED", body


async def check(http: httpx.AsyncClient, node: Node, phone: str, scope: str = "FEDERATED", key: str | None = None) -> dict[str, Any]:
    http.base_url = node.url
    body = await gql(http, FEDERATED, key or node.member_key, scope=scope,
                     leads=[{"ref": "applicant", "identifiers": [{"type": "PHONE", "value": phone}]}])
    assert not body.get("errors"), body
    return body["data"]["checkLeads"]


def outcomes(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {peer["nodeId"]: peer for peer in result["peers"]}


async def audited(graph: Graph, action: str, fragment: str, wait: float = 5.0) -> bool:
    """Is there an `action` audit record whose detail holds `fragment`? Waits for the node's audit log to flush
    (it does within a second)."""
    deadline = asyncio.get_running_loop().time() + wait
    query = "MATCH (r:AuditRecord {action: $action}) WHERE r.detail CONTAINS $fragment RETURN count(r) AS n"
    while True:
        rows = await graph.read(query, {"action": action, "fragment": fragment})
        if rows[0]["n"] or asyncio.get_running_loop().time() > deadline:
            return bool(rows[0]["n"])
        await asyncio.sleep(0.2)
