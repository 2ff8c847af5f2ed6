"""API keys: shown once, stored hashed, expiring, revocable, bound to an IP allowlist."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from access import service
from access.keys import parse_token
from core.errors import BadInput, NotFound, Unauthenticated
from graph.database import Graph
from audit.log import AuditLog
from tests.support import ACTOR, TEST_KEY, add_member, gql, issue_key

ME = "{ me { id memberCode roles } }"


async def test_key_is_stored_only_as_a_hash(graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    prefix, secret = parse_token(token)
    stored = await graph.read("MATCH (k:ApiKey {prefix: $p}) RETURN properties(k) AS k", {"p": prefix})
    assert stored and secret not in str(stored[0]["k"]) and token not in str(stored[0]["k"])


async def test_a_principal_can_hold_several_roles_of_one_member(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst", "uploader")
    body = await gql(api, ME, token)
    assert body["data"]["me"] == {"id": body["data"]["me"]["id"], "memberCode": "ACME", "roles": ["ANALYST", "UPLOADER"]}


async def test_revoked_key_is_refused_on_the_next_request(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    assert (await gql(api, ME, token))["data"]["me"]["memberCode"] == "ACME"
    await service.revoke_api_key(graph, AuditLog(graph), ACTOR, parse_token(token)[0])
    response = await api.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in response.json()["errors"][0]["message"]


async def test_expired_key_is_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    await graph.write("MATCH (k:ApiKey {prefix: $p}) SET k.expires_at = datetime() - duration('PT1S')",
                      {"p": parse_token(token)[0]})
    response = await api.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["errors"][0]["message"]


async def test_key_outside_its_ip_allowlist_is_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    elsewhere = await issue_key(graph, "ACME", "analyst", ip_allowlist=["10.20.0.0/16"])
    here = await issue_key(graph, "ACME", "analyst", ip_allowlist=["127.0.0.1/32"])
    refused = await api.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {elsewhere}"})
    assert refused.status_code == 401 and "not allowed from this address" in refused.json()["errors"][0]["message"]
    assert (await gql(api, ME, here))["data"]["me"]["memberCode"] == "ACME"


async def test_a_wrong_secret_with_a_real_prefix_is_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await api.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {forged}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("roles", "jurisdictions", "message"),
    [
        (["admin"], [], "unknown role"),
        (["police_liaison"], [], "at least one jurisdiction"),
        (["analyst"], ["440300"], "only to police_liaison"),
        (["police_liaison"], ["shenzhen"], "6-digit"),
    ],
)
async def test_bad_key_requests_are_refused_with_the_reason_and_create_nothing(
    graph: Graph, roles: list[str], jurisdictions: list[str], message: str
) -> None:
    await add_member(graph, "ACME")
    with pytest.raises(BadInput, match=message):
        await service.create_api_key(graph, AuditLog(graph), ACTOR, member_code="ACME", roles=roles, jurisdictions=jurisdictions)
    assert await graph.read("MATCH (k:ApiKey) RETURN k") == []


async def test_key_for_an_unknown_member_is_refused(graph: Graph) -> None:
    with pytest.raises(NotFound, match="no member"):
        await service.create_api_key(graph, AuditLog(graph), ACTOR, member_code="NOPE", roles=["analyst"])


async def test_registered_hotline_becomes_benign(api: httpx.AsyncClient, graph: Graph) -> None:
    await add_member(graph, "ACME", hotlines=["400-819-6155"])
    rows = await graph.read("MATCH (:Member {code:'ACME'})-[:OFFICIAL_NUMBER]->(i:Indicator) RETURN i.benign AS benign, i.masked AS masked")
    assert rows == [{"benign": True, "masked": "400****6155"}]


async def test_a_bad_hotline_names_its_position_and_adds_no_member(graph: Graph) -> None:
    with pytest.raises(BadInput, match="hotline 2"):
        await service.add_member(graph, AuditLog(graph), ACTOR, TEST_KEY,
                                 code="ACME", name="甲", hotlines=["4008196155", "1.38001E+10"])
    assert await graph.read("MATCH (m:Member {code:'ACME'}) RETURN m") == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_key_record_is_reread_after_its_time(graph: Graph) -> None:
    """A revocation by another process (written straight to the graph here) is seen once the record ages out."""
    clock = FakeClock()
    records = service.KeyRecords(seconds=5, clock=clock)
    token = await issue_key(graph, "ACME", "analyst")
    prefix = parse_token(token)[0]
    assert (await service.authenticate(graph, token, None, records=records)).member_code == "ACME"
    await graph.write("MATCH (k:ApiKey {prefix: $p}) SET k.revoked_at = datetime()", {"p": prefix})
    clock.now += 4.9
    assert (await service.authenticate(graph, token, None, records=records)).member_code == "ACME"
    clock.now += 0.2
    with pytest.raises(Unauthenticated, match="revoked"):
        await service.authenticate(graph, token, None, records=records)


async def test_a_remembered_record_still_checks_secret_expiry_and_address(graph: Graph) -> None:
    records = service.KeyRecords(seconds=60)
    token = await issue_key(graph, "ACME", "analyst", ip_allowlist=["10.20.0.0/16"])
    prefix, secret = parse_token(token)
    assert (await service.authenticate(graph, token, "10.20.1.1", records=records)).member_code == "ACME"
    with pytest.raises(Unauthenticated, match="not allowed from this address"):
        await service.authenticate(graph, token, "127.0.0.1", records=records)
    wrong = f"fh_{prefix}_{'B' * 32}"
    with pytest.raises(Unauthenticated, match="unknown API key"):
        await service.authenticate(graph, wrong, "10.20.1.1", records=records)
    await graph.write("MATCH (k:ApiKey {prefix: $p}) SET k.expires_at = datetime() + duration('P1D')", {"p": prefix})
    records.clear()
    assert (await service.authenticate(graph, token, "10.20.1.1", records=records)).member_code == "ACME"
    later = datetime.now(timezone.utc) + timedelta(days=2)
    with pytest.raises(Unauthenticated, match="expired"):
        await service.authenticate(graph, token, "10.20.1.1", now=later, records=records)


async def test_revoking_through_this_process_forgets_the_remembered_record(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    records = service.KEY_RECORDS
    monkeypatch.setattr(records, "seconds", 300)
    token = await issue_key(graph, "ACME", "analyst")
    prefix = parse_token(token)[0]
    await service.authenticate(graph, token, None, records=records)
    await service.revoke_api_key(graph, AuditLog(graph), ACTOR, prefix)
    with pytest.raises(Unauthenticated, match="revoked"):
        await service.authenticate(graph, token, None, records=records)


async def test_requests_of_one_key_arriving_together_share_one_read(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fifty requests of a busy key arriving as its record expires read Neo4j once, not fifty times."""
    records = service.KeyRecords(seconds=5)
    token = await issue_key(graph, "ACME", "analyst")
    reads = []
    original = service.repo.key_by_prefix

    async def counted(graph_: Graph, prefix: str):  # noqa: ANN202
        reads.append(prefix)
        return await original(graph_, prefix)

    monkeypatch.setattr(service.repo, "key_by_prefix", counted)
    principals = await asyncio.gather(*[service.authenticate(graph, token, None, records=records) for _ in range(50)])
    assert {p.member_code for p in principals} == {"ACME"} and len(reads) == 1
    records.forget(parse_token(token)[0])  # forgotten: the next request reads again
    await service.authenticate(graph, token, None, records=records)
    assert len(reads) == 2
