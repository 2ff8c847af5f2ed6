"""Networks as communities (GDS Leiden within components) against the real Neo4j with GDS loaded: two gangs
joined by one shared phone stay two networks, an agent label joins leads across batches only with shared
evidence, `network(id)` explains membership, shows hubs and cohesion, and the size guard holds."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from graph import communities as repo
from graph.database import Graph
from ingest import demo
from ingest.pipeline import BatchRunner
from networks import communities, reads
from networks.communities import cohesion, require_gds
from networks.flows import rebuild_networks
from networks.linking import NETWORK_DEGREE_CAP
from tests.networks.test_networks import (  # noqa: F401 (runner is a fixture)
    OPERATOR, component_groups, file, groups, lead, list_networks, network_graph, network_ids_of, runner, with_cap,
)


def gang(prefix: str, device: int, first_phone: int, size: int = 5) -> list[dict[str, str]]:
    return [lead(f"{prefix}{n}", phones=(first_phone + n,), device=device) for n in range(size)]


async def test_gds_is_loaded(graph: Graph) -> None:
    assert (await require_gds(graph)).startswith("2.13")


async def test_two_gangs_bridged_by_one_shared_phone_are_two_networks_in_one_component(
        runner: BatchRunner, graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(communities, "MAX_NETWORK_LEADS", 6)  # ten leads: more than a gang is, here
    monkeypatch.setattr(communities, "WHOLE_LEADS", 4)  # and more than is kept whole without Leiden
    a, b = gang("A", 1, 10), gang("B", 2, 30)
    a[0]["phone"] += ";13800139999"
    b[0]["phone"] += ";13800139999"
    await file(runner, "ACME", *a)
    await file(runner, "BETA", *b)
    assert await component_groups(graph) == {frozenset(f"{p}{n}" for p in "AB" for n in range(5))}
    assert await groups(graph) == {frozenset(f"A{n}" for n in range(5)), frozenset(f"B{n}" for n in range(5))}
    listed = await list_networks(graph, OPERATOR)
    assert sorted(n["size"] for n in listed) == [5, 5]
    assert all(0.5 < n["cohesion"] < 1.0 and not n["oversized"] for n in listed)  # one phone links them outward


async def test_network_explains_membership_and_shows_hubs_apart_from_members(runner: BatchRunner, graph: Graph) -> None:
    with_cap(runner, 6)
    members = gang("A", 1, 10)
    for row in members[:2]:
        row["phone"] += ";13800130100"
    others = [lead(f"X{n}", phones=(100, 200 + n), device=50 + n) for n in range(5)]
    await file(runner, "ACME", *members, *others)
    [network_id] = {n for n in await network_ids_of(graph, "A0", "A1", "A2")}
    drawing = await network_graph(graph, OPERATOR, network_id, cap=6)
    refs = {row["id"]: row["ref"] for row in await graph.read("MATCH (l:Lead) RETURN l.id AS id, l.reference AS ref")}
    assert drawing["size"] == 5 and drawing["cohesion"] == 1.0
    explained = {refs[m["lead"]]: m for m in drawing["membership"]}
    assert set(explained) == {f"A{n}" for n in range(5)}
    [device] = explained["A0"]["shared"]
    assert (device["type"], device["shared_with"]) == ("imei", 4)
    assert {refs[lead_id] for lead_id in device["leads"]} == {"A1", "A2", "A3", "A4"}
    assert explained["A0"]["strength"] == pytest.approx(4 * device["weight"], abs=1e-3)
    [hub] = drawing["hubs"]
    assert (hub["type"], hub["degree"], hub["here"]) == ("phone", 7, 2)
    assert hub["key"] not in {node["id"] for node in drawing["nodes"]}


async def test_an_agent_label_joins_leads_across_batches_only_where_they_share_evidence(
        runner: BatchRunner, graph: Graph) -> None:
    agent = "鑫鼎中介"
    await file(runner, "ACME", lead("P1", phones=(1,), agent=agent), lead("P2", phones=(2,), agent=agent))
    assert await groups(graph) == {frozenset({"P1", "P2"})}  # same batch: the label alone links them
    await file(runner, "ACME", lead("P3", phones=(3,), agent=agent))
    assert await groups(graph) == {frozenset({"P1", "P2"})}
    assert await network_ids_of(graph, "P3") == [None]
    await file(runner, "ACME", lead("P4", phones=(4,), device=7, agent=agent), lead("Q", phones=(5,), device=7))
    await file(runner, "ACME", lead("P5", phones=(1, 6), agent=agent))  # shares P1's phone and the label
    network = await groups(graph)
    assert frozenset({"P1", "P2", "P5"}) in network and frozenset({"P4", "Q"}) in network
    assert await network_ids_of(graph, "P3") == [None]


async def test_the_size_guard_keeps_a_knit_gang_whole_and_splits_separate_gangs(
        runner: BatchRunner, graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = gang("A", 1, 10), gang("B", 2, 30)
    a[0]["phone"] += ";13800139999"
    b[0]["phone"] += ";13800139999"
    await file(runner, "ACME", *gang("K", 3, 50, size=8), *a, *b)
    monkeypatch.setattr(communities, "MAX_NETWORK_LEADS", 7)
    monkeypatch.setattr(communities, "WHOLE_LEADS", 4)
    await rebuild_networks(graph)
    assert sorted(n["size"] for n in await list_networks(graph, OPERATOR)) == [5, 5, 8]  # the clique is one gang
    assert await groups(graph) >= {frozenset(f"A{n}" for n in range(5)), frozenset(f"B{n}" for n in range(5))}


async def test_an_identifier_named_by_more_leads_than_the_pair_cap_links_them_as_a_star_with_falling_weight(
        runner: BatchRunner, graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """Named by more than PAIR_DEGREE_CAP leads (but not a hub), a gang's device still links its leads: projected as
    one node they all link to, it never becomes a member, and each pair's weight through it falls with its degree."""
    monkeypatch.setattr(communities, "PAIR_DEGREE_CAP", 3)
    monkeypatch.setattr(reads, "PAIR_DEGREE_CAP", 3)
    monkeypatch.setattr(communities, "WHOLE_LEADS", 4)  # Leiden runs over the star too
    monkeypatch.setattr(communities, "MAX_NETWORK_LEADS", 7)
    farm = [lead(f"F{n}", phones=(10 + n,), device=1) for n in range(6)]  # one device-farm IMEI, six leads
    pair = [lead("P0", phones=(40,), device=2), lead("P1", phones=(41,), device=2)]
    await file(runner, "ACME", *farm, *pair)
    assert await groups(graph) == {frozenset(f"F{n}" for n in range(6)), frozenset({"P0", "P1"})}
    listed = await list_networks(graph, OPERATOR)
    assert sorted(n["size"] for n in listed) == [2, 6] and all(n["cohesion"] == 1.0 for n in listed)
    [network_id] = await network_ids_of(graph, "F0")
    drawing = await network_graph(graph, OPERATOR, network_id)
    assert drawing["size"] == 6 and drawing["hubs"] == []
    [device] = {m["lead"]: m for m in drawing["membership"]}.popitem()[1]["shared"]
    [small] = {m["lead"]: m for m in (await network_graph(graph, OPERATOR, (await network_ids_of(graph, "P0"))[0]))[
        "membership"]}.popitem()[1]["shared"]
    assert device["shared_with"] == 5 and small["shared_with"] == 1
    # the same type: ln(1 + 2) / ln(1 + 6) × 3/6, the gradient above the pair cap
    assert device["weight"] / small["weight"] == pytest.approx(math.log(3) / math.log(7) * 3 / 6, rel=1e-3)


async def test_a_star_identifier_joins_gang_pieces_its_phones_alone_leave_apart(
        runner: BatchRunner, graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two cliques of leads sharing phones, joined only by a device named by more leads than the pair cap: one
    network (before the gradient, such a device was a hub and the gang fell into two)."""
    monkeypatch.setattr(communities, "PAIR_DEGREE_CAP", 3)
    gang_rows = [lead(f"G{n}", phones=(60 + n // 3,), device=9) for n in range(6)]
    await file(runner, "ACME", *gang_rows)
    assert await groups(graph) == {frozenset(f"G{n}" for n in range(6))}


async def test_recomputation_keeps_network_ids(runner: BatchRunner, graph: Graph) -> None:
    await file(runner, "ACME", *gang("A", 1, 10), *gang("B", 2, 30))
    before = {ref: net for ref, net in zip("AB", await network_ids_of(graph, "A0", "B0"))}
    await graph.write("MATCH (n:Network) DETACH DELETE n")  # even with the summaries gone
    await rebuild_networks(graph)
    assert dict(zip("AB", await network_ids_of(graph, "A0", "B0"))) == before
    assert {n["id"] for n in await list_networks(graph, OPERATOR)} == set(before.values())


async def test_the_link_weight_between_groups_is_summed_in_neo4j_as_the_projected_edges_sum(
        runner: BatchRunner, graph: Graph) -> None:
    """`detect` never streams the projected edges: Neo4j sums them per pair of groups. Over a projection with pairs,
    a star identifier and a node in no group, those sums give the cohesion and the totals the edges themselves give."""
    farm = [lead(f"F{n}", phones=(10 + n // 2,), device=1) for n in range(6)]  # a device named by six: a star at 3
    a, b = gang("A", 2, 30), gang("B", 3, 50)
    a[0]["phone"] += ";13800139999"
    b[0]["phone"] += ";13800139999"
    await file(runner, "ACME", *farm, *a, *b)
    refs = {row["id"]: row["ref"] for row in await graph.read("MATCH (l:Lead) RETURN l.id AS id, l.reference AS ref")}
    name = "test-links"
    await repo.project(graph, name, None, communities.TYPE_WEIGHTS, communities.AGENT_WEIGHT, NETWORK_DEGREE_CAP, 3)
    try:
        wcc, ids = await repo.wcc(graph, name)
        edges = await repo.edges(graph, name)
        by_ref = {refs.get(node, node): node for node in wcc}  # stars keep their projected name
        star = next(node for node in wcc if node.startswith(repo.STAR_PREFIX))
        groups_ = {"across": [by_ref[r] for r in ("A0", "A1", "B0", "F0", "F1")] + [star],
                   "rest": [node for ref, node in by_ref.items() if ref not in {"A0", "A1", "B0", "F0", "F1", "B4"}
                            and node != star]}
        between = await communities._links(graph, name, list(groups_.values()), ids)
    finally:
        await repo.drop(graph, name)
    keys = [*groups_, None]  # -1: B4 is in no group
    summed = [(keys[a], keys[b], w) for a, b, w in zip(between.a.tolist(), between.b.tolist(), between.weight.tolist())]
    assert len(summed) < len(edges)
    assert {a for a, b, w in summed} | {b for a, b, w in summed} == {"across", "rest", None}
    assert sum(w for _, _, w in summed) == pytest.approx(sum(w for _, _, w in edges))
    expected = cohesion(groups_, edges)
    assert 0 < expected["across"] < 1 and 0 < expected["rest"] < 1
    assert cohesion({key: [key] for key in groups_}, summed) == pytest.approx(expected)
    assert communities._cohesion(between, 2).tolist() == pytest.approx([expected["across"], expected["rest"]])


async def test_link_weights_come_page_by_page_and_sum_to_the_same(graph: Graph, runner: BatchRunner,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`links` reads its pairs a page (a record) at a time, so what the network process holds at once is a page;
    pages of 3 pairs and one page of all of them give the same sums."""
    farm = [lead(f"F{n}", phones=(n, n + 1), device=70 + n % 3) for n in range(12)]
    await file(runner, "ACME", *farm)
    name = "test-pages"
    await repo.project(graph, name, None, communities.TYPE_WEIGHTS, communities.AGENT_WEIGHT, NETWORK_DEGREE_CAP, 3)
    try:
        wcc, ids = await repo.wcc(graph, name)
        of = {node: n for n, node in enumerate(sorted(ids.values()))}  # every node a group of its own
        whole = await repo.links(graph, name, of)
        pages: list[int] = []
        stream = graph.read_pages

        async def counted(*args, **kwargs):
            async for page in stream(*args, **kwargs):
                pages.append(len(page["a"]))
                yield page

        monkeypatch.setattr(repo, "LINKS_PAGE", 3)
        monkeypatch.setattr(graph, "read_pages", counted)
        paged = await repo.links(graph, name, of)
    finally:
        await repo.drop(graph, name)
    assert len(whole[0]) > 9 and len(pages) > 3 and max(pages) == 3 and sum(pages) == len(whole[0])

    def pairs(found) -> dict[tuple[int, int], float]:
        return {(a, b): w for a, b, w in zip(*(x.tolist() for x in found))}

    assert pairs(paged) == pytest.approx(pairs(whole))


def test_fragments_rejoin_the_same_way_over_the_link_weight_between_pieces() -> None:
    """`detect` hands `absorb_fragments` each piece as one node and the summed link weight between pieces."""
    def clique(prefix: str, size: int) -> list[tuple[str, str, float]]:
        return [(f"{prefix}{a}", f"{prefix}{b}", 1.0) for a in range(size) for b in range(a + 1, size)]

    edges = clique("a", 12) + clique("b", 6) + [("a0", "b0", 0.4), ("a11", "c0", 0.3)]
    pieces = {"p": [f"a{n}" for n in range(6)], "q": [f"a{n}" for n in range(6, 9)],
              "r": [f"a{n}" for n in range(9, 12)], "b": [f"b{n}" for n in range(6)]}
    where = {node: key for key, nodes in pieces.items() for node in nodes}
    between: dict[tuple, float] = {}
    for x, y, w in edges:
        pair = tuple(sorted((where.get(x), where.get(y)), key=str))
        between[pair] = between.get(pair, 0.0) + w
    joined = communities.absorb_fragments({key: [key] for key in pieces}, [(a, b, w) for (a, b), w in between.items()])
    assert {key: sorted(n for piece in keys for n in pieces[piece]) for key, keys in joined.items()} == {
        key: sorted(nodes) for key, nodes in communities.absorb_fragments(pieces, edges).items()}
    assert sorted(map(sorted, joined.values())) == [["b"], ["p", "q", "r"]]


def test_cohesion_is_the_share_of_link_weight_kept_inside() -> None:
    groups_ = {"g": ["a", "b"], "h": ["c", "d"]}
    edges = [("a", "b", 3.0), ("c", "d", 1.0), ("b", "c", 1.0), ("d", "x", 2.0)]
    assert cohesion(groups_, edges) == {"g": 0.75, "h": 0.25}
    assert cohesion({"lone": ["z"]}, edges) == {"lone": 1.0}


def test_components_are_recomputed_in_chunks_of_whole_groups_up_to_the_limit() -> None:
    groups_ = [(3, ["a"]), (4, ["b", "c"]), (5, ["d"]), (12, ["e"]), (2, ["f"])]
    assert communities._pack(groups_, 10) == [{"a", "b", "c"}, {"d"}, {"e"}, {"f"}]  # a group is never cut
    assert communities._pack(groups_, 100) == [{"a", "b", "c", "d", "e", "f"}]
    assert communities._pack([], 10) == []


async def test_components_sharing_a_network_id_are_recomputed_in_one_chunk(graph: Graph) -> None:
    """A recomputation that split a component leaves one network id on leads of two components until their
    communities are found again; one chunk must own both, or two chunks could each keep the id."""
    rows = [("c1", "n1"), ("c1", "n1"), ("c2", "n1"), ("c2", None), ("c3", "n3"), ("c3", "n3"), ("c3", None),
            ("c4", None)]
    await graph.write("UNWIND $rows AS row CREATE (:Lead {id: randomUUID(), component_id: row[0], network_id: row[1]})",
                      {"rows": [list(row) for row in rows]})
    assert await communities._scope_groups(graph, {"c1", "c2", "c3", "c4", "gone"}) == [
        (1, ["c4"]), (3, ["c3"]), (4, ["c1", "c2"])]


def test_leidens_resolution_grows_with_the_projected_graphs_weight_above_a_floor() -> None:
    assert communities.gamma(0.75) == communities.MIN_GAMMA
    assert communities.gamma(500_000, resolution=1e-5) == pytest.approx(10.0)
    assert communities.gamma(1_000_000, resolution=1e-5) == pytest.approx(20.0)  # twice the graph, twice gamma


def test_generated_batches_carry_ground_truth_with_gang_names_distinct_across_seeds(tmp_path: Path) -> None:
    names = {}
    for seed in (7, 99):
        out = tmp_path / f"s{seed}.csv"
        demo.generate(out, 3000, seed=seed, truth=demo.truth_path(out))
        with open(out, encoding="utf-8-sig", newline="") as fh:
            refs = [row["编号"] for row in csv.DictReader(fh)]
        with open(demo.truth_path(out), encoding="utf-8", newline="") as fh:
            truth = list(csv.DictReader(fh))
        assert [row["编号"] for row in truth] == refs
        names[seed] = {row["gang"] for row in truth} - {""}
        assert len(names[seed]) >= 3
    assert not names[7] & names[99]
    shared = [i for i in range(1, 200) if set(demo.network(7, i).devices + demo.network(7, i).cards)
              & set(demo.network(7, i - 1).devices + demo.network(7, i - 1).cards)]
    assert 0 < len(shared) < 80  # a little shared infrastructure, not a web


def test_fragments_rejoin_their_gang_and_gangs_sharing_a_card_stay_apart() -> None:
    def clique(prefix: str, size: int, weight: float) -> list[tuple[str, str, float]]:
        return [(f"{prefix}{a}", f"{prefix}{b}", weight) for a in range(size) for b in range(a + 1, size)]

    # gang a cut in three pieces by Leiden (many links across), gang b linked to a by one shared card
    edges = clique("a", 12, 1.0) + clique("b", 6, 1.0) + [("a0", "b0", 0.4)]
    pieces = {"p": [f"a{n}" for n in range(6)], "q": [f"a{n}" for n in range(6, 9)],
              "r": [f"a{n}" for n in range(9, 12)], "b": [f"b{n}" for n in range(6)]}
    joined = communities.absorb_fragments(pieces, edges)
    assert sorted(map(sorted, joined.values())) == [sorted(f"a{n}" for n in range(12)), [f"b{n}" for n in range(6)]]
    assert set(joined) == {"p", "b"}  # the pieces join the piece they are most linked to
    # b keeps 30 of its 30.4 link weight inside: a fragment only under a stricter threshold
    assert len(communities.absorb_fragments(pieces, edges, threshold=0.99)) == 1
    assert communities.absorb_fragments({"x": ["x0"], "y": ["y0"]}, []) == {"x": ["x0"], "y": ["y0"]}


def test_a_group_that_took_in_a_fragment_is_judged_by_the_weight_it_now_keeps_inside() -> None:
    """Four pieces that keep nothing inside: p joins q, which then keeps 1.8 of its 2.3 inside (0.78) and is no
    fragment at 0.5; r joins s, its strongest link. At 0.8, q is still a fragment and joins them too."""
    pieces = {"p": ["p"], "q": ["q"], "r": ["r"], "s": ["s"]}
    edges = [("p", "q", 0.9), ("q", "r", 0.5), ("r", "s", 3.0)]
    assert communities.absorb_fragments(pieces, edges, threshold=0.5) == {"q": ["q", "p"], "s": ["s", "r"]}
    assert communities.absorb_fragments(pieces, edges, threshold=0.8) == {"s": ["s", "r", "q", "p"]}
