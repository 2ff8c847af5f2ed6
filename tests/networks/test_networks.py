"""Agent networks against the real graph: shared identifiers and declared agents link leads, hubs and RED leads
do not, assignment stays current batch by batch, and it agrees with an independent networkx computation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import AsyncIterator

import networkx as nx
import pytest

from core.principal import Principal, Role
from audit.log import AuditLog
from audit.reader import Reader
from graph.database import Graph
from networks import communities
from networks import flows as networks
from networks import reads as network_reads
from networks.drawing import Drawing
from networks.communities import pair_scores
from networks.flows import assign_networks, rebuild_networks
from networks.linking import NETWORK_DEGREE_CAP, BatchFold, Component, LeadLinks, UnionFind, components, plan_merge, plan_recompute
from ingest import demo
from leads.retraction import retract
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
from tests.support import TEST_KEY, add_member

OPERATOR = Principal(id="key:op", member_code="HUB", roles=frozenset({Role.OPERATOR}))


def reader(graph: Graph, who: Principal) -> Reader:
    return Reader(graph, AuditLog(graph), who)


async def list_networks(graph: Graph, who: Principal, **options) -> list[dict]:
    return await network_reads.list_networks(reader(graph, who), **options)


async def network_graph(graph: Graph, who: Principal, network_id: str, **options) -> dict | None:
    return await network_reads.network_graph(reader(graph, who), network_id, **options)


async def neighbourhood(graph: Graph, who: Principal, key: str, **options) -> dict:
    return await network_reads.neighbourhood(reader(graph, who), key, **options)


def member(code: str) -> Principal:
    return Principal(id=f"key:{code.lower()}", member_code=code, roles=frozenset({Role.ANALYST, Role.UPLOADER}))


def phone(n: int) -> str:
    return f"1380013{n:04d}"


def imei(n: int) -> str:
    payload = f"86769704{n:06d}"
    return payload + str(demo.luhn_digit(payload))


def lead(ref: str, *, phones: tuple[int, ...] = (), device: int | None = None, **extra: str) -> dict[str, str]:
    row = {"category": "贷款中介", "reference": ref, "phone": ";".join(phone(p) for p in phones), **extra}
    if device is not None:
        row["device"] = imei(device)
    return row


@pytest.fixture
async def runner(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    for code in ("ACME", "BETA", "GAMMA"):
        await add_member(graph, code)
    await add_member(graph, "HUB", hotlines=["400-819-6155"])
    audit = AuditLog(graph)
    batch_runner = BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    batch_runner.after_aggregation.append(assign_networks)
    yield batch_runner
    await audit.close()


def with_cap(runner: BatchRunner, cap: int) -> BatchRunner:
    async def hook(graph: Graph, batch_id: str) -> None:
        await assign_networks(graph, batch_id, cap=cap)

    runner.after_aggregation[:] = [hook]
    return runner


async def file(runner: BatchRunner, code: str, *leads: dict[str, str], attributed: bool = False) -> None:
    outcome = await runner.submit_leads(member(code), list(leads), idempotency_key=uuid.uuid4().hex, attributed=attributed)
    assert outcome.batch["status"] == "committed" and outcome.batch["accepted"] == len(leads), outcome.results


async def groups(graph: Graph) -> set[frozenset[str]]:
    """Leads grouped by their stored network_id, named by reference."""
    rows = await graph.read("MATCH (l:Lead) WHERE l.network_id IS NOT NULL "
                            "RETURN l.network_id AS id, collect(l.reference) AS refs")
    return {frozenset(row["refs"]) for row in rows}


async def component_groups(graph: Graph) -> set[frozenset[str]]:
    """Leads grouped by their stored component_id (the first step, before communities), named by reference."""
    rows = await graph.read("MATCH (l:Lead) WHERE l.component_id IS NOT NULL "
                            "RETURN l.component_id AS id, collect(l.reference) AS refs")
    return {frozenset(row["refs"]) for row in rows}


async def _by_reference(graph: Graph, field: str, refs: tuple[str, ...]) -> list:
    """One property of the leads filed with these references, in their order."""
    rows = await graph.read(f"UNWIND $refs AS ref MATCH (l:Lead {{reference: ref}}) RETURN l.{field} AS value",
                            {"refs": list(refs)})
    return [row["value"] for row in rows]


async def lead_ids(graph: Graph, *refs: str) -> list[str]:
    return await _by_reference(graph, "id", refs)


async def network_ids_of(graph: Graph, *refs: str) -> list[str | None]:
    return await _by_reference(graph, "network_id", refs)


# -- forming and guarding ----------------------------------------------------------------------------------


async def test_two_leads_sharing_a_device_form_one_network_and_a_lead_sharing_nothing_is_in_none(
        runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("C", phones=(3,), device=3))
    assert await groups(graph) == set()
    await file(runner, "BETA", lead("B", phones=(2,), device=1, agent="鑫鼎中介"))
    assert await groups(graph) == {frozenset({"A", "B"})}
    [listed] = await list_networks(graph, OPERATOR)
    assert (listed["size"], listed["members"], listed["member_codes"]) == (2, 2, ["ACME", "BETA"])
    assert listed["categories"] == ["LOAN_INTERMEDIARY"] and listed["agents"] == ["鑫鼎中介"]
    top = listed["top_indicators"][0]
    assert (top["type"], top["degree"]) == ("imei", 2) and "*" in top["masked"]
    assert listed["first_seen"] <= listed["last_seen"]
    assert (await network_ids_of(graph, "C")) == [None]
    linking = await graph.read("MATCH (i:Indicator {network_id: $id}) RETURN i.type AS type", {"id": listed["id"]})
    assert sorted(row["type"] for row in linking) == ["imei", "phone", "phone"]


async def test_leads_sharing_only_a_capped_hub_phone_form_no_network(runner: BatchRunner, graph: Graph) -> None:
    with_cap(runner, 3)
    await file(runner, "ACME", *(lead(f"L{n}", phones=(100, n), device=n) for n in range(5)))
    hub = await graph.read("MATCH (i:Indicator {type: 'phone'}) WHERE i.lead_count = 5 RETURN i.network_id AS id")
    assert hub == [{"id": None}]
    assert await groups(graph) == set()
    assert await list_networks(graph, OPERATOR) == []


async def test_a_network_joined_through_an_indicator_that_crosses_the_cap_is_split(runner: BatchRunner, graph: Graph) -> None:
    with_cap(runner, 3)
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(100,), device=1))
    await file(runner, "BETA", lead("C", phones=(100,), device=2), lead("D", phones=(4,), device=2))
    assert await groups(graph) == await component_groups(graph) == {frozenset("ABCD")}  # small: one network
    [before] = await network_ids_of(graph, "A")
    await file(runner, "GAMMA", lead("E", phones=(100, 5)), lead("F", phones=(100, 6)))
    assert await groups(graph) == await component_groups(graph) == {frozenset("AB"), frozenset("CD")}
    assert before in await network_ids_of(graph, "A", "C")
    assert sorted(n["size"] for n in await list_networks(graph, OPERATOR)) == [2, 2]
    hub = await graph.read("MATCH (i:Indicator) WHERE i.lead_count = 4 RETURN i.network_id AS id")
    assert hub == [{"id": None}]
    incremental = await groups(graph)
    await rebuild_networks(graph, cap=3)
    assert await groups(graph) == incremental


async def test_a_benign_indicator_links_nothing(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("H1", phones=(2,), device=9, note="x"))
    await file(runner, "BETA", lead("B", phones=(3,), device=1))
    # a member's registered hotline never even reaches the graph: both leads keep only their own identifiers
    await file(runner, "GAMMA", {**lead("H2", phones=(4,)), "phone": "4008196155;" + phone(4)},
               {**lead("H3", phones=(5,)), "phone": "4008196155;" + phone(5)})
    assert await groups(graph) == {frozenset("AB")}
    [network_id] = await network_ids_of(graph, "A")
    await graph.write("MATCH (i:Indicator {type: 'imei'})<-[:NAMES]-(:Lead {reference: 'A'}) SET i.benign = true")
    await rebuild_networks(graph)
    assert await groups(graph) == set() and await list_networks(graph, OPERATOR) == []
    await graph.write("MATCH (i:Indicator {type: 'imei'}) SET i.benign = false")
    await rebuild_networks(graph)
    assert await groups(graph) == {frozenset("AB")}
    [network_id] = await network_ids_of(graph, "A")
    await graph.write("MATCH (i:Indicator {type: 'imei'}) SET i.benign = true")
    assert await networks.refresh_networks(graph, [network_id]) == set()
    assert await groups(graph) == set()


async def test_a_declared_agent_joins_leads_of_the_same_member_only(runner: BatchRunner, graph: Graph) -> None:
    gang = "深圳鑫鼎财务咨询中介"
    await file(runner, "ACME", lead("A", phones=(1,), agent=gang), lead("B", phones=(2,), agent=gang))
    await file(runner, "BETA", lead("Z", phones=(3,), agent=gang))
    assert await groups(graph) == {frozenset("AB")}
    [listed] = await list_networks(graph, member("ACME"))
    assert listed["agents"] == [gang] and listed["indicators"] == 2


async def test_red_leads_take_no_part(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(2,), device=2))
    await file(runner, "BETA", lead("R", phones=(3,), device=1, tlp="RED"), lead("S", phones=(4,), device=2, tlp="RED"),
               {**lead("R2", device=3, tlp="RED"), "phone": f"{phone(1)};{phone(2)}"})
    assert await groups(graph) == set()
    await rebuild_networks(graph)
    assert await groups(graph) == set()


async def test_another_members_red_leads_do_not_make_an_identifier_a_hub(runner: BatchRunner, graph: Graph) -> None:
    """Networks are computed once for everyone: BETA's RED leads naming ACME's shared device must not push it over
    the hub cap and so split a network that ACME and GAMMA read."""
    with_cap(runner, 3)
    await file(runner, "ACME", *(lead(ref, phones=(n,), device=1) for n, ref in enumerate("ABC")))
    assert await groups(graph) == {frozenset("ABC")}
    await file(runner, "BETA", *(lead(f"R{n}", phones=(10 + n,), device=1, tlp="RED") for n in range(2)))
    await rebuild_networks(graph, cap=3)
    assert await groups(graph) == {frozenset("ABC")}
    counts = await graph.read("MATCH (i:Indicator {type: 'imei'}) RETURN i.lead_count AS n")
    assert [row["n"] for row in counts] == [3]
    await retract(graph, AuditLog(graph), member("ACME"), lead_ids=await lead_ids(graph, "C"), reason="filed in error")
    counts = await graph.read("MATCH (i:Indicator {type: 'imei'}) RETURN i.lead_count AS n")
    assert [row["n"] for row in counts] == [2]  # recounted from the leads that take part: A and B


async def test_a_batch_with_a_red_lead_still_reaches_an_earlier_lead_through_a_shared_device(
        runner: BatchRunner, graph: Graph) -> None:
    """The batch's own leads are told apart from earlier ones by counting as lead_count does (RED leads never), so a
    RED lead beside B in its batch does not hide that A, filed before, names the same device."""
    await file(runner, "ACME", lead("A", phones=(1,), device=1))
    await file(runner, "BETA", lead("B", phones=(2,), device=1), lead("R", phones=(3,), device=1, tlp="RED"))
    assert await groups(graph) == {frozenset("AB")}


async def test_a_hubs_degree_counts_the_leads_the_reader_may_count(runner: BatchRunner, graph: Graph) -> None:
    """Phone 100 is named by four of ACME's leads and one RED lead of BETA: a hub at cap 3. Its degree is what each
    reader may count, as a check counts: BETA's RED lead only for BETA and operators."""
    with_cap(runner, 3)
    await file(runner, "ACME", lead("A", phones=(1, 100), device=1), lead("B", phones=(2, 100), device=1),
               lead("X", phones=(100,)), lead("Y", phones=(100,)))
    await file(runner, "BETA", lead("R", phones=(100,), tlp="RED"))
    [network_id] = set(await network_ids_of(graph, "A", "B"))
    seen = {}
    for who in (member("ACME"), member("GAMMA"), member("BETA"), OPERATOR):
        [hub] = (await network_graph(graph, who, network_id, cap=3))["hubs"]
        seen[who.member_code] = (hub["type"], hub["degree"], hub["here"])
    assert seen == {"ACME": ("phone", 4, 2), "GAMMA": ("phone", 4, 2), "BETA": ("phone", 5, 2), "HUB": ("phone", 5, 2)}


async def test_another_members_red_lead_never_appears_in_a_drawing(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(2,), device=1, agent="鑫鼎中介"))
    await file(runner, "BETA", lead("R", phones=(3,), device=1, tlp="RED"))
    [network_id] = {n for n in await network_ids_of(graph, "A", "B")}
    refs = {row["id"]: row["ref"] for row in await graph.read("MATCH (l:Lead) RETURN l.id AS id, l.reference AS ref")}
    device_key = (await graph.read("MATCH (i:Indicator {type: 'imei'}) RETURN i.key AS key"))[0]["key"]

    def leads_in(drawing: dict) -> set[str]:
        return {refs[n["id"]] for n in drawing["nodes"] if n["kind"] == "lead"}

    for who in (member("ACME"), member("GAMMA")):
        drawing = await network_graph(graph, who, network_id)
        assert leads_in(drawing) == {"A", "B"} and not drawing["truncated"]
        assert {n["kind"] for n in drawing["nodes"]} == {"lead", "indicator", "agent"}
        assert leads_in(await neighbourhood(graph, who, device_key, depth=3)) == {"A", "B"}
    assert leads_in(await neighbourhood(graph, member("BETA"), device_key)) == {"A", "B", "R"}
    assert leads_in(await neighbourhood(graph, OPERATOR, device_key)) == {"A", "B", "R"}
    only_red = (await graph.read("MATCH (:Lead {reference: 'R'})-[:NAMES]->(i {type: 'phone'}) RETURN i.key AS key"))[0]["key"]
    assert await neighbourhood(graph, member("GAMMA"), only_red) == {"nodes": [], "edges": [], "truncated": False}
    gamma_view = await network_graph(graph, member("GAMMA"), network_id)
    agent = next(n for n in gamma_view["nodes"] if n["kind"] == "agent")
    assert "ACME" not in agent["id"] and agent["label"] == "鑫鼎中介"


async def test_neighbourhood_grows_with_depth_and_respects_its_limit(runner: BatchRunner, graph: Graph) -> None:
    # a chain A -d1- B -d2- C -d3- D: each hop reaches one more lead
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(2,), device=1),
               {**lead("C", phones=(3,), device=2), "phone": f"{phone(2)}"}, lead("D", phones=(4,), device=3))
    await file(runner, "ACME", {**lead("X", device=3), "phone": phone(3)})
    start = (await graph.read("MATCH (:Lead {reference: 'A'})-[:NAMES]->(i {type: 'phone'}) RETURN i.key AS key"))[0]["key"]
    sizes = []
    for depth in (1, 2, 3):
        drawing = await neighbourhood(graph, OPERATOR, start, depth=depth)
        sizes.append(sum(n["kind"] == "lead" for n in drawing["nodes"]))
        assert all({e["source"], e["target"]} <= {n["id"] for n in drawing["nodes"]} for e in drawing["edges"])
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] > sizes[0]
    small = await neighbourhood(graph, OPERATOR, start, depth=3, limit=3)
    assert len(small["nodes"]) == 3 and small["truncated"]


async def test_member_codes_of_other_members_are_hidden_unless_attributed(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1))
    await file(runner, "BETA", lead("B", phones=(2,), device=1), attributed=True)
    assert [n["member_codes"] for n in await list_networks(graph, OPERATOR)] == [["ACME", "BETA"]]
    assert [n["member_codes"] for n in await list_networks(graph, member("ACME"))] == [["ACME", "BETA"]]
    [seen] = await list_networks(graph, member("GAMMA"))
    assert (seen["members"], seen["member_codes"]) == (2, ["BETA"])
    assert await list_networks(graph, member("GAMMA"), member_involved="ACME") == []
    assert len(await list_networks(graph, member("GAMMA"), member_involved="BETA")) == 1
    assert len(await list_networks(graph, OPERATOR, member_involved="ACME")) == 1
    drawing = await network_graph(graph, member("GAMMA"), seen["id"])
    assert sorted(str(n["filer"]) for n in drawing["nodes"] if n["kind"] == "lead") == ["BETA", "None"]
    peer = Principal(id="key:peer", member_code="PEER", roles=frozenset({Role.PEER}))
    assert await list_networks(graph, peer) == [] and await network_graph(graph, peer, seen["id"]) is None


async def test_network_of_answers_for_many_keys_in_one_query(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(2,), device=1), lead("C", phones=(3,)))
    keys = [row["key"] for row in await graph.read("MATCH (i:Indicator) RETURN i.key AS key")]
    found = await network_reads.network_of(graph, member("GAMMA"), keys + ["phone:unknown"])
    assert len(found) == 3 and {n["size"] for n in found.values()} == {2}
    assert await network_reads.network_of(graph, Principal(id="key:p", member_code="P", roles=frozenset({Role.PEER})), keys) == {}


async def test_listing_pages_by_size_then_id(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", *(lead(f"A{n}", phones=(n,), device=1) for n in range(3)),
               *(lead(f"B{n}", phones=(10 + n,), device=2) for n in range(2)),
               *(lead(f"C{n}", phones=(20 + n,), device=3) for n in range(2)))
    everything = await list_networks(graph, OPERATOR)
    assert [n["size"] for n in everything] == [3, 2, 2]
    first = await list_networks(graph, OPERATOR, first=2)
    rest = await list_networks(graph, OPERATOR, first=2, after=first[-1]["cursor"])
    assert [n["id"] for n in first + rest] == [n["id"] for n in everything]
    assert [n["size"] for n in await list_networks(graph, OPERATOR, min_size=3)] == [3]
    assert await list_networks(graph, OPERATOR, category="MONEY_MULE") == []


# -- an independent computation --------------------------------------------------------------------------------

EDGES = """
MATCH (l:Lead)-[:NAMES]->(i:Indicator), (b:Batch {id: l.batch_id})
WHERE b.status = 'committed' AND l.status = 'active' AND l.tlp <> 'RED'
RETURN l.id AS lead, i.key AS indicator, i.lead_count AS lead_count, i.benign AS benign
"""
AGENT_EDGES = """
MATCH (l:Lead)-[:OPERATED_BY]->(a:Agent), (b:Batch {id: l.batch_id})
WHERE b.status = 'committed' AND l.status = 'active' AND l.tlp <> 'RED'
RETURN l.id AS lead, a.id AS agent
"""


async def networkx_components(graph: Graph, cap: int) -> set[frozenset[str]]:
    g = nx.Graph()
    for row in await graph.read(EDGES):
        g.add_node(("lead", row["lead"]))
        if not row["benign"] and row["lead_count"] <= cap:
            g.add_edge(("lead", row["lead"]), ("indicator", row["indicator"]))
    for row in await graph.read(AGENT_EDGES):
        g.add_edge(("lead", row["lead"]), ("agent", row["agent"]))
    found = set()
    for component in nx.connected_components(g):
        leads = frozenset(node[1] for node in component if node[0] == "lead")
        if len(leads) >= 2:
            found.add(leads)
    return found


async def stored_components(graph: Graph) -> set[frozenset[str]]:
    rows = await graph.read("MATCH (l:Lead) WHERE l.component_id IS NOT NULL RETURN l.component_id AS id, collect(l.id) AS leads")
    return {frozenset(row["leads"]) for row in rows}


async def network_of_lead(graph: Graph) -> dict[str, str]:
    rows = await graph.read("MATCH (l:Lead) WHERE l.network_id IS NOT NULL RETURN l.id AS id, l.network_id AS net")
    return {row["id"]: row["net"] for row in rows}


async def stored_networks(graph: Graph) -> set[frozenset[str]]:
    rows = await graph.read("MATCH (l:Lead) WHERE l.network_id IS NOT NULL RETURN l.network_id AS id, collect(l.id) AS leads")
    return {frozenset(row["leads"]) for row in rows}


async def listed_components(graph: Graph) -> set[frozenset[str]]:
    listed, after = [], None
    while page := await list_networks(graph, OPERATOR, first=200, after=after):
        listed += page
        after = page[-1]["cursor"]
    found = set()
    for network in listed:
        drawing = await network_graph(graph, OPERATOR, network["id"], limit=5000)
        leads = frozenset(n["id"] for n in drawing["nodes"] if n["kind"] == "lead")
        assert len(leads) == network["size"] and not drawing["truncated"]
        found.add(leads)
    return found


async def upload(runner: BatchRunner, principal: Principal, path: Path) -> None:
    outcome = await runner.submit_file(principal, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    assert outcome.batch["status"] == "committed"


async def test_networks_agree_with_networkx_connected_components(runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    demo.generate(path, 3000, seed=17)
    await upload(runner, member("ACME"), path)
    expected = await networkx_components(graph, NETWORK_DEGREE_CAP)
    assert len(expected) >= 5
    assert await stored_components(graph) == expected
    found = await stored_networks(graph)
    assert await listed_components(graph) == found
    assert all(any(network <= component for component in expected) for network in found)  # communities refine


@pytest.mark.parametrize("window, chunk", [(None, None), (700, 400)], ids=["whole", "windowed"])
async def test_incremental_assignment_over_two_batches_equals_a_rebuild(
        runner: BatchRunner, graph: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        window: int | None, chunk: int | None) -> None:
    """"windowed": each 3000-line batch is folded 700 lines at a time and its communities recomputed ~400 leads at a
    time, as a 1M-row upload is with the defaults; components must come out the same, networks nearly so."""
    if window:
        monkeypatch.setattr(networks, "WINDOW", window)
        monkeypatch.setattr(communities, "CHUNK_LEADS", chunk)
    cap, results = 12, []

    async def hook(graph: Graph, batch_id: str) -> None:
        results.append(await assign_networks(graph, batch_id, cap=cap))

    runner.after_aggregation[:] = [hook]
    for index, code in enumerate(("ACME", "BETA")):
        path = tmp_path / f"{code}.csv"
        demo.generate(path, 3000, seed=23, members=2, member=index)
        await upload(runner, member(code), path)
    assert results[1]["merged"] > 0 and results[1]["split"] > 0, results  # the second batch exercised both
    incremental = await stored_components(graph)
    assert incremental == await networkx_components(graph, cap)
    found = await stored_networks(graph)
    assert await listed_components(graph) == found
    ids_before = await network_of_lead(graph)
    await rebuild_networks(graph, cap=cap)
    assert await stored_components(graph) == incremental
    # Leiden over one component alone or over all of them may cut a few leads differently: nearly the same
    # networks, and a network whose leads did not change keeps its id.
    ids_after = await network_of_lead(graph)
    leads = sorted(set(ids_before) | set(ids_after))
    assert pair_scores([ids_before.get(n) or n for n in leads], [ids_after.get(n) or n for n in leads])["ari"] > 0.9
    unchanged = found & await stored_networks(graph)
    assert unchanged and all(len({ids_before[n] for n in net} | {ids_after[n] for n in net}) == 1 for net in unchanged)
    before = {row["id"] for row in await graph.read("MATCH (n:Network) RETURN n.id AS id")}
    assert {ids_after[n] for net in unchanged for n in net} <= before
    for row in await graph.read("MATCH (b:Batch) RETURN b.id AS id"):  # assigning again changes nothing
        again = await assign_networks(graph, row["id"], cap=cap)
        assert (again["leads"], again["networks"], again["merged"], again["split"]) == (0, 0, 0, 0)
    assert await stored_components(graph) == incremental
    assert await assign_networks(graph, "no-such-batch", cap=cap) == {"leads": 0, "networks": 0, "merged": 0, "split": 0}


async def test_a_window_reads_no_lead_of_a_later_window(runner: BatchRunner, graph: Graph, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """What a window holds does not grow with the batch: the leads it reaches through its anchors are earlier
    batches' or earlier windows' (a 1M-row batch's first window read 0.6M leads of the windows after it)."""
    from graph import networks as networks_repo

    monkeypatch.setattr(networks, "WINDOW", 700)
    reached: list[tuple[str, int, list[str]]] = []
    anchored = networks_repo.anchored_leads

    async def spy(graph: Graph, batch_id: str, start: int, *args, **kwargs) -> list[dict]:
        rows = await anchored(graph, batch_id, start, *args, **kwargs)
        reached.append((batch_id, start, [row["id"] for row in rows]))
        return rows

    monkeypatch.setattr(networks_repo, "anchored_leads", spy)
    path = tmp_path / "leads.csv"
    demo.generate(path, 3000, seed=23)
    await upload(runner, member("ACME"), path)
    seq = {row["id"]: (row["batch"], row["seq"])
           for row in await graph.read("MATCH (l:Lead) RETURN l.id AS id, l.batch_id AS batch, l.seq AS seq")}
    late = [(start, seq[lead]) for batch_id, start, ids in reached for lead in ids
            if seq[lead][0] == batch_id and seq[lead][1] >= start]
    assert late == []
    windows = {start for _, start, _ in reached}
    assert len(windows) >= 4 and sum(len(ids) for _, _, ids in reached) > 0  # later windows did reach earlier leads
    assert await stored_components(graph) == await networkx_components(graph, NETWORK_DEGREE_CAP)



async def test_upkeep_leaves_a_batch_to_the_hook_that_finished_it_while_upkeep_waited(runner: BatchRunner, graph: Graph) -> None:
    import asyncio

    from graph import networks as networks_repo

    runner.after_aggregation.clear()  # the batch's own hook has not run: it is pending
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(1,), device=2))
    (batch_id,) = await networks_repo.pending_batches(graph)
    assert await networks_repo.acquire_lease(graph, "hook-in-flight", 60_000)
    upkeep = asyncio.create_task(networks.assign_pending_networks(graph))
    await asyncio.sleep(1.0)  # the upkeep listed the batch as pending and waits for the lease
    await networks_repo.mark_assigned(graph, batch_id)  # the hook's last step: it finished
    await networks_repo.release_lease(graph, "hook-in-flight")

    assert await asyncio.wait_for(upkeep, 60) == 0
    assert await groups(graph) == set()  # the upkeep did not fold the batch a second time
    assert await networks_repo.pending_batches(graph) == []


async def test_upkeep_does_not_take_a_batch_still_being_aggregated(runner: BatchRunner, graph: Graph) -> None:
    """Between commit and the end of aggregation a batch is not pending: its own hook comes after aggregation, and
    the indicators' lead counts are not final yet."""
    from graph import networks as networks_repo

    runner.after_aggregation.clear()
    await file(runner, "ACME", lead("A", phones=(1,), device=1), lead("B", phones=(1,), device=2))
    (batch_id,) = await networks_repo.pending_batches(graph)
    done = (await graph.read("MATCH (b:Batch {id: $id}) RETURN b.aggregated_seq AS seq", {"id": batch_id}))[0]["seq"]
    await graph.write("MATCH (b:Batch {id: $id}) SET b.aggregated_seq = 0", {"id": batch_id})  # as right after commit
    assert await networks_repo.pending_batches(graph) == []
    assert await networks.assign_pending_networks(graph) == 0 and await groups(graph) == set()
    await graph.write("MATCH (b:Batch {id: $id}) SET b.aggregated_seq = $seq", {"id": batch_id, "seq": done})
    assert await networks_repo.pending_batches(graph) == [batch_id]
    assert await networks.assign_pending_networks(graph) == 1 and await groups(graph) == {frozenset({"A", "B"})}


# -- the pure part --------------------------------------------------------------------------------------------


def test_union_find_and_components_link_through_indicators_agents_and_networks() -> None:
    uf = UnionFind()
    uf.union("a", "b")
    uf.union("c", "d")
    assert uf.find("a") == uf.find("b") != uf.find("c")
    comps = components([LeadLinks("1", ("phone:x",)), LeadLinks("2", ("phone:x",)), LeadLinks("3", agents=("M:gang",)),
                        LeadLinks("4", agents=("M:gang",), networks=("n1",)), LeadLinks("5")])
    assert {c.leads: c.networks for c in comps} == {
        frozenset({"1", "2"}): frozenset(), frozenset({"3", "4"}): frozenset({"n1"}), frozenset({"5"}): frozenset()}


def test_a_merge_keeps_the_largest_networks_id_and_a_split_keeps_it_on_the_largest_part() -> None:
    comps = [Component(frozenset({"x", "y"}), frozenset({"small", "big"})), Component(frozenset({"z"}), frozenset())]
    plan = plan_merge(comps, {"x": "small", "y": None}, {"small": 2, "big": 9}, new_id=lambda: "new")
    assert (plan.moves, plan.assign, plan.touched) == ({"small": "big"}, {"y": "big"}, {"big"})
    desired = plan_recompute([Component(frozenset("ab"), frozenset()), Component(frozenset("cde"), frozenset()),
                              Component(frozenset("f"), frozenset())], dict.fromkeys("abcdef", "old"), new_id=lambda: "new")
    assert desired == {"a": "new", "b": "new", "c": "old", "d": "old", "e": "old", "f": None}


def test_a_batch_fold_reads_earlier_leads_only_through_identifiers_named_outside_the_batch() -> None:
    fold = BatchFold()

    def ind(key: str, count: int, network: str | None = None, linking: bool = True) -> dict:
        return {"key": key, "lead_count": count, "component_id": network, "linking": linking}

    fold.add_batch_lead("1", None, False, [ind("fresh", 2), ind("old", 3), ind("hub", 60, "n9", linking=False)], [])
    gang = {"id": "M:gang", "component_id": None, "leads": 1}
    fold.add_batch_lead("2", None, False, [ind("fresh", 2), ind("netted", 9, "n1")], [gang])
    fold.add_batch_lead("3", None, True, [ind("red-only", 2)], [])
    assert fold.anchors() == (["old"], []) and fold.unlinked == {"n9"}
    [comp] = [c for c in fold.linker.components() if "1" in c.leads]
    assert comp.leads == {"1", "2"} and comp.networks == {"n1"} and "3" not in fold.current


def test_a_drawing_stops_at_its_limit_and_says_so() -> None:
    drawing = Drawing(2)
    assert drawing.add_node("a") and drawing.add_node("b") and not drawing.add_node("c")
    drawing.add_edge("a", "c", "NAMES")
    drawing.add_edge("a", "b", "NAMES")
    assert drawing.result()["edges"] == [{"source": "a", "target": "b", "type": "NAMES"}] and drawing.result()["truncated"]

