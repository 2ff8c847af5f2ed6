"""Lead collision between two real member nodes (separate `fenghuo serve` processes, signed HTTP on loopback):
each learns the overlap only, RED never takes part, and both audit trails record N against M with the count."""

from __future__ import annotations

import asyncio
import itertools
from typing import AsyncIterator, Iterator

import httpx
import pytest

from api.dev_cluster import Cluster, Node
from core.settings import Settings
from graph.database import Graph, Target
from ingest.identifiers import normalize
from ingest.pseudonym import indicator_key, key_from_config, mask
from tests.psi.test_private_check import EVERY_VALUE_CONTAINING
from tests.support import error_codes, gql

_phones = itertools.count(13600000000)

SUBMIT = """mutation($leads: [LeadInput!]!) { submitLeads(leads: $leads) { batch { status } } }"""
COLLIDE = """mutation($peer: String!, $category: Category!) { collideLeads(peer: $peer, filter: {category: $category}) {
  peer ours theirs matchedCount matched { type masked } peerRecorded collisionId } }"""


def phones(n: int) -> list[str]:
    return [str(next(_phones)) for _ in range(n)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two member nodes peered as alliance nodes (api/dev_cluster.py, as tests/federation/conftest.py starts three)."""
    nodes = Cluster(2, tmp_path_factory.mktemp("collision"), cache_dir=Settings(_env_file=None).cache_dir,
                    peer_timeout=30.0, heap="512m", node_env={"FENGHUO_REQUEST_TIMEOUT_SECONDS": "180"})
    nodes.start()
    yield nodes
    nodes.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=200) as client:
        yield client


async def file(http: httpx.AsyncClient, node: Node, numbers: list[str], *, category: str = "LOAN_INTERMEDIARY",
               tlp: str = "AMBER") -> None:
    http.base_url = node.url
    leads = [{"category": category, "tlp": tlp, "confidence": "0.8", "identifiers": [{"type": "PHONE", "value": p}]}
             for p in numbers]
    body = await gql(http, SUBMIT, node.member_key, leads=leads)
    assert body["data"]["submitLeads"]["batch"]["status"] == "COMMITTED", body


async def audit_details(node: Node, action: str, collision_id: str) -> list[str]:
    graph = Graph.connect(Target(node.bolt_uri, None))
    try:
        for _ in range(50):  # the node's audit log flushes every 0.5 s
            rows = await graph.read("MATCH (r:AuditRecord {action: $action}) WHERE r.detail CONTAINS $id "
                                    "RETURN r.detail AS detail", {"action": action, "id": collision_id})
            if rows:
                return [row["detail"] for row in rows]
            await asyncio.sleep(0.2)
        return []
    finally:
        await graph.close()


async def traces(node: Node, needles: list[str]) -> int:
    graph = Graph.connect(Target(node.bolt_uri, None))
    try:
        rows = await graph.read(EVERY_VALUE_CONTAINING, {"needles": needles})
        return rows[0]["n"]
    finally:
        await graph.close()


async def test_a_collision_reveals_the_overlap_only_and_is_recorded_on_both_sides(pair: Cluster, http: httpx.AsyncClient) -> None:
    a, b = pair.nodes
    shared, only_a, only_b, red_at_b = phones(3), phones(5), phones(4), phones(1)
    await file(http, a, only_a + shared + red_at_b)
    await file(http, a, phones(2), category="MONEY_MULE")  # another category: not in the list
    await file(http, b, only_b + shared)
    await file(http, b, red_at_b, tlp="RED")  # RED never takes part, not even blinded
    http.base_url = a.url
    body = await gql(http, COLLIDE, a.member_key, peer=b.node_id, category="LOAN_INTERMEDIARY")
    assert not body.get("errors"), body
    result = body["data"]["collideLeads"]
    expected = sorted(mask(normalize("phone", p)) for p in shared)  # type: ignore[arg-type]
    assert (result["ours"], result["theirs"], result["matchedCount"], result["peerRecorded"]) == (9, 7, 3, True)
    assert sorted(m["masked"] for m in result["matched"]) == expected
    ours = await audit_details(a, "leads.collide", result["collisionId"])
    theirs = await audit_details(b, "leads.collide.result", result["collisionId"])
    assert len(ours) == 1 and "ours=9 against theirs=7 matched=3" in ours[0]
    assert len(theirs) == 1 and "theirs=9 against ours=7 matched=3" in theirs[0]
    key = key_from_config(pair.alliance_key_hex, 1)
    unmatched = [indicator_key(key, normalize("phone", p)).split(":")[1] for p in only_a]  # type: ignore[arg-type]
    assert await traces(b, unmatched + only_a) == 0  # B holds nothing of A's leads that B does not share


async def test_a_collision_with_an_unknown_peer_or_category_is_refused(pair: Cluster, http: httpx.AsyncClient) -> None:
    a, _ = pair.nodes
    http.base_url = a.url
    assert error_codes(await gql(http, COLLIDE, a.member_key, peer="node-nowhere", category="LOAN_INTERMEDIARY")) == ["NOT_FOUND"]
    body = await gql(http, COLLIDE, a.member_key, peer="node-nowhere", category="NOT_A_CATEGORY")
    assert body.get("errors") and "NOT_A_CATEGORY" in body["errors"][0]["message"]
