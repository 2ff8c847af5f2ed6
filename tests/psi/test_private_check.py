"""Private checks against the real test server (HTTP on loopback, real Neo4j): correctness against the plain check,
what the hub keeps (nothing of unmatched identifiers), TLP:RED, staleness, refusals."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from audit.log import AuditLog
from core.principal import Principal, Role
from graph.database import Graph
from ingest.pipeline import BatchRunner
from ingest.pseudonym import identify, key_from_config
from psi.client import PrivateCheckFailed, PrivateChecker
from psi.setup import FULL_SECONDS
from tests.support import error_codes, gql, issue_key

SERVER_KEY = key_from_config("ab" * 32, 1)  # the test server's alliance key (tests/conftest.py settings)
_phones = itertools.count(13700000000)

CHECK = """query($leads: [LeadCheckInput!]!) { checkLeads(leads: $leads) { leads { identifiers { status } } } }"""
# What a private check may match: listed and not retracted (benign, invalid and unknown identifiers never match).
LISTED = {"ACTIVE", "DISPUTED", "EXPIRED"}
# Every property value of every node and relationship (list items one by one) that contains one of $needles.
EVERY_VALUE_CONTAINING = """
CALL () { MATCH (n) RETURN properties(n) AS props UNION ALL MATCH ()-[r]->() RETURN properties(r) AS props }
UNWIND keys(props) AS k WITH props[k] AS v
UNWIND CASE WHEN v IS :: LIST<ANY> THEN v ELSE [v] END AS item
WITH toString(item) AS text WHERE any(x IN $needles WHERE text CONTAINS x)
RETURN count(*) AS n
"""


def phones(n: int) -> list[str]:
    return [str(next(_phones)) for _ in range(n)]


@pytest.fixture
async def runner(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    """Leads are filed in-process (no HTTP request timeout on this slow shared machine); the server's refresher
    sees the committed batch in the change feed (graph/matchability.py), as it sees another process's."""
    audit = AuditLog(graph)
    yield BatchRunner(graph, audit, SERVER_KEY, tmp_path / "spool")
    await audit.close()


async def submit(runner: BatchRunner, member: str, numbers: list[str], tlp: str = "AMBER") -> None:
    principal = Principal(id=f"key:{member.lower()}", member_code=member, roles=frozenset({Role.UPLOADER}))
    leads = [{"category": "LOAN_INTERMEDIARY", "phone": p, "tlp": tlp, "confidence": "0.8"} for p in numbers]
    outcome = await runner.submit_leads(principal, leads, idempotency_key=None)
    assert outcome.batch["status"] == "committed"


async def plain_statuses(api: httpx.AsyncClient, token: str, numbers: list[str]) -> list[str]:
    body = await gql(api, CHECK, token, leads=[{"ref": "r", "identifiers": [{"type": "PHONE", "value": p} for p in numbers]}])
    return [v["status"] for v in body["data"]["checkLeads"]["leads"][0]["identifiers"]]


def private(url: str, token: str, numbers: list[str]) -> Any:
    with PrivateChecker(url, token, SERVER_KEY) as checker:
        return checker.check([("phone", p) for p in numbers])


async def wait_fresh(url: str, token: str, since: float) -> dict:
    """The setup's manifest once it reflects the graph as of `since` (it reads the change feed every second)."""
    deadline = time.time() + 60
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"}) as client:
        while True:
            response = await client.get("/v1/psi/setup")
            if response.status_code == 200 and response.json()["as_of"] >= since:
                return response.json()
            assert time.time() < deadline, f"the setup did not refresh: {response.status_code} {response.text[:200]}"
            await asyncio.sleep(0.2)


@pytest.fixture
def server_logs() -> Iterator[list[str]]:
    """Every log line any thread of this process (the test server included) writes during the test."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


async def test_private_matches_equal_the_plain_checks_listed_identifiers(api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    amber, green, red, unknown = phones(30), phones(10), phones(10), phones(150)
    await submit(runner, "BETA", amber)
    await submit(runner, "BETA", green, tlp="GREEN")
    await submit(runner, "BETA", red, tlp="RED")
    await wait_fresh(str(api.base_url), acme, time.time())
    asked = amber + green + red + unknown + ["4008196155", "not a phone"]
    expected = {p for p, status in zip(asked, await plain_statuses(api, acme, asked)) if status in LISTED}
    result = private(str(api.base_url), acme, asked)
    found = {value for _, value in result.matched}
    assert found == expected and expected == set(amber + green)
    assert result.asked == len(asked) - 1  # the invalid value is refused locally, never sent
    assert [reason for _, value, reason in result.invalid if value == "not a phone"]


async def test_a_private_check_of_unmatched_identifiers_leaves_no_trace_of_them_on_the_hub(
        api: httpx.AsyncClient, graph: Graph, runner: BatchRunner, server_logs: list[str]) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    await submit(runner, "BETA", phones(5))
    await wait_fresh(str(api.base_url), acme, time.time())
    secret = phones(20)
    with PrivateChecker(str(api.base_url), acme, SERVER_KEY, purpose="loan 42") as checker:
        result = checker.check([("phone", p) for p in secret])
    assert result.matched == [] and result.asked == 20
    await asyncio.sleep(1.0)  # the audit log flushes every 0.5 s
    logged = "\n".join(server_logs)  # before this test's own queries, whose parameters the driver logs at DEBUG
    metrics = (await api.get("/metrics")).text
    assert "check.private" in logged  # the collector sees the server's own writes (the driver logs the audit flush)
    keys = [identify(SERVER_KEY, "phone", p).key for p in secret]  # type: ignore[union-attr]
    needles = secret + [k.split(":", 1)[1] for k in keys] + [f"+86{p}" for p in secret]
    records = await graph.read("MATCH (r:AuditRecord {action: 'check.private'}) WHERE r.purpose = 'loan 42' "
                               "RETURN r.subject AS subject, r.detail AS detail")
    assert len(records) == 1 and "identifiers=20" in records[0]["detail"]
    stored = await graph.read(EVERY_VALUE_CONTAINING, {"needles": needles})
    assert stored[0]["n"] == 0
    assert [n for n in needles if n in metrics or n in logged] == []


async def test_a_red_indicator_is_never_privately_matchable_by_another_member(api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    red, amber = phones(1), phones(1)
    await submit(runner, "BETA", red, tlp="RED")
    await submit(runner, "BETA", amber)
    await wait_fresh(str(api.base_url), acme, time.time())
    assert await plain_statuses(api, beta, red) == ["ACTIVE"]  # the filer sees it
    assert {v for _, v in private(str(api.base_url), acme, red + amber).matched} == set(amber)


async def test_a_lead_committed_after_the_setup_was_built_is_matched_within_the_refresh_interval(
        api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    late = phones(1)
    await wait_fresh(str(api.base_url), acme, time.time())
    assert private(str(api.base_url), acme, late).matched == []
    await submit(runner, "BETA", late)
    committed = time.time()
    deadline = committed + 60  # the stated bound: a minute
    while not (result := private(str(api.base_url), acme, late)).matched and time.time() < deadline:
        await asyncio.sleep(0.5)
    assert result.matched == [("phone", late[0])]
    assert result.setup_age_seconds is not None and result.setup_age_seconds < 60


async def test_a_cached_setup_is_not_fetched_again(api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    await submit(runner, "BETA", phones(3))
    manifest = await wait_fresh(str(api.base_url), acme, time.time())
    segment = manifest["segments"][0]
    first = await api.get(f"/v1/psi/setup/{segment['id']}", headers={"authorization": f"Bearer {acme}"})
    again = await api.get(f"/v1/psi/setup/{segment['id']}",
                          headers={"authorization": f"Bearer {acme}", "if-none-match": first.headers["etag"]})
    assert (first.status_code, first.headers["etag"], again.status_code, again.content) == (200, segment["etag"], 304, b"")


async def test_a_malformed_request_is_refused_with_a_reason(api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    acme = await issue_key(graph, "ACME", "analyst")
    await wait_fresh(str(api.base_url), acme, time.time())
    response = await api.post("/v1/psi/check", content=b"\xff\x00garbage", headers={"authorization": f"Bearer {acme}"})
    assert response.status_code == 400 and "PSI request" in response.json()["errors"][0]["message"]


async def test_only_analysts_may_check_privately(api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    uploader = await issue_key(graph, "ACME", "uploader")
    with pytest.raises(PrivateCheckFailed, match="403"):
        private(str(api.base_url), uploader, phones(1))
    response = await api.get("/v1/psi/setup")
    assert response.status_code == 401 and error_codes(response.json()) == ["UNAUTHENTICATED"]


# The refresher's full comparison runs every FULL_SECONDS (30 min): a change seen well before that came through the
# change feed's targeted refresh. Polled, not slept: the bound is generous for this shared machine.
TARGETED_BOUND = 60.0
assert TARGETED_BOUND < FULL_SECONDS


async def matched_within(url: str, token: str, numbers: list[str], expected: set[str]) -> set[str]:
    deadline = time.time() + TARGETED_BOUND
    while (found := {v for _, v in private(url, token, numbers).matched}) != expected and time.time() < deadline:
        await asyncio.sleep(0.5)
    return found


async def test_a_retracted_lead_stops_matching_privately_and_a_new_one_matches_without_the_full_pass(
        api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    beta = await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    listed = phones(3)
    await submit(runner, "BETA", listed)
    await wait_fresh(str(api.base_url), acme, time.time())
    assert {v for _, v in private(str(api.base_url), acme, listed).matched} == set(listed)
    rows = await graph.read("MATCH (l:Lead)-[:NAMES]->(i:Indicator {key: $key}) RETURN l.id AS id",
                            {"key": identify(SERVER_KEY, "phone", listed[0]).key})  # type: ignore[union-attr]
    body = await gql(api, 'mutation($ids: [String!]!) { retractLeads(ids: $ids, reason: "filed in error") }', beta,
                     ids=[rows[0]["id"]])
    assert body["data"]["retractLeads"] == [rows[0]["id"]]
    late = phones(1)
    await submit(runner, "BETA", late)
    assert await matched_within(str(api.base_url), acme, listed + late, set(listed[1:] + late)) == set(listed[1:] + late)


async def test_an_upheld_dispute_stops_matching_privately_without_the_full_pass(
        api: httpx.AsyncClient, graph: Graph, runner: BatchRunner) -> None:
    await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    operator = await issue_key(graph, "OPS", "operator")
    listed = phones(2)
    await submit(runner, "BETA", listed)
    await wait_fresh(str(api.base_url), acme, time.time())
    opened = await gql(api, 'mutation($p: String!) { disputeIndicator(type: PHONE, value: $p, reason: "complaint") { id } }',
                       acme, p=listed[0])
    ruled = await gql(api, "mutation($id: String!) { resolveDispute(id: $id, uphold: true) { status } }", operator,
                      id=opened["data"]["disputeIndicator"]["id"])
    assert ruled["data"]["resolveDispute"]["status"] == "UPHELD"
    assert await matched_within(str(api.base_url), acme, listed, {listed[1]}) == {listed[1]}


async def test_a_setup_refreshed_between_the_manifest_and_a_segment_is_read_again(
        api: httpx.AsyncClient, graph: Graph, runner: BatchRunner, monkeypatch) -> None:
    """The hub refreshes its setup while a client reads it: the manifest names a segment that is gone (404). The
    client reads the manifest again and the check answers, instead of failing."""
    await issue_key(graph, "BETA", "uploader", "analyst")
    acme = await issue_key(graph, "ACME", "analyst")
    listed = phones(2)
    await submit(runner, "BETA", listed)
    await wait_fresh(str(api.base_url), acme, time.time())
    manifests: list[dict] = []
    real = PrivateChecker._manifest

    def stale_first(checker: PrivateChecker) -> tuple[dict, int]:
        manifest, size = real(checker)
        if not manifests:  # as read just before a refresh replaced its segments
            manifest = {**manifest, "segments": [{**s, "id": s["id"] + "0"} for s in manifest["segments"]]}
        manifests.append(manifest)
        return manifest, size

    monkeypatch.setattr(PrivateChecker, "_manifest", stale_first)
    result = await asyncio.to_thread(private, str(api.base_url), acme, listed)
    assert len(manifests) == 2
    assert sorted(result.matched) == sorted(("phone", p) for p in listed)
