"""Networks as communities: Leiden over the weighted lead graph, within each weakly connected component, in GDS.

Components (networks/linking.py, kept current batch by batch in networks/flows.py) say which leads could belong
together at all; a component can still chain thousands of leads through identifiers each named by a few dozen
leads. Within the components a change touched, this module
- projects the weighted lead graph (graph/communities.py: type weight / ln(1 + lead count) per shared linking
  identifier, falling further as `PAIR_DEGREE_CAP` / lead count for an identifier named by more leads than
  `PAIR_DEGREE_CAP`, which is projected as a star node instead of its pairs; plus `AGENT_WEIGHT` for a shared
  declared agent in the same batch or alongside shared evidence). A gang's own devices and cards are named by
  hundreds of leads in a large alliance: as hubs (the cap of 50 before) they linked nothing and each gang fell
  into the cliques of its phones (recall 0.84 at 1M rows); with the gradient they hold it together,
- keeps a weakly connected component of that graph whole when it is small (at most `WHOLE_LEADS` leads),
- runs GDS WCC and Leiden (seeded, so a recomputation over the same graph finds the same communities) at a
  resolution proportional to the projected graph's total link weight (`RESOLUTION`): modularity at a fixed
  resolution merges any two groups joined by a little evidence once the graph is large enough (its resolution
  limit), so a fixed one found gangs at 20k rows and chained them into ~900-lead communities at 200k. Scaled, two
  groups merge when the weight linking them exceeds `RESOLUTION` × the product of their total link weights, the
  same test whether one component or all of them are projected (incremental and full runs agree); on a small
  graph the gamma is never below `MIN_GAMMA`,
- puts fragments back (`absorb_fragments`): a community keeping less than `FRAGMENT` of its link weight inside
  joins the one it is most strongly linked to. The resolution is high enough to part gangs that share a rented
  card, which also cuts the largest gangs in pieces (modularity's null model grows with the product of the
  groups' weights); this size-free test puts the pieces of one gang back together,
- applies the size guard: a community larger than `MAX_NETWORK_LEADS` is re-split by Leiden at rising
  resolution; the split is taken when its parts are cohesive (separate gangs), the community stays whole when they
  are not (one knit gang), and it is flagged `oversized` when no gang-sized split exists,
- recomputes many components a bounded number of leads at a time (`update_in_chunks`, `CHUNK_LEADS`), so the
  after-batch hook's memory does not grow with the batch: a 1M-row upload held every edge of its 950k leads in
  Python at once (3.9 GB in the API process),
- keeps network ids stable (`plan_recompute`: each old id goes to the new community sharing most leads with it),
- writes each lead's network and the summary with its cohesion: the share of its members' link weight that
  stays inside it (1.0: nothing links it to the rest of its component).
"""

from __future__ import annotations

import heapq
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from math import comb
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

from graph import communities as repo
from graph.database import Graph
from networks.linking import MIN_NETWORK_LEADS, PAIR_DEGREE_CAP, Component, UnionFind, plan_recompute

TYPE_WEIGHTS = {"device": 1.0, "bank_card": 1.0, "id_number": 0.8, "phone": 0.5, "other": 0.4}
AGENT_WEIGHT = 1.0
RESOLUTION = 5e-5  # Leiden's gamma per unit of the projected graph's doubled total weight (bench/networks.py)
FRAGMENT = 0.85  # a community keeping less of its link weight inside is a piece of a neighbour (absorb_fragments)
MIN_GAMMA = 0.1  # on small graphs (tests, a young alliance) the gamma that served up to 100k rows
MAX_NETWORK_LEADS = 600  # a real gang rarely files more (the issue saw 50–470 leads; the generator plants up to ~510
# in one member's 1M rows, ~780 in two members'); a larger community is re-split or flagged
WHOLE_LEADS = 20  # a weakly connected component of the weighted graph this small is one network as it stands: Leiden
# has little to part in it, and skipping it keeps a young alliance's networks as plain as its components
CHUNK_LEADS = 50_000  # leads recomputed at a time by `update_in_chunks` (whole components; a larger one alone)
COHESIVE = 0.9  # parts keeping this share of their link weight inside are separate gangs
SPLIT_GAMMAS = (0.5, 1.0, 2.0, 4.0)
WRITE_CHUNK = 2000
TOP_INDICATORS = 5


class GdsMissing(RuntimeError):
    """The configured Neo4j has no Graph Data Science: networks cannot be computed."""


async def require_gds(graph: Graph) -> str:
    """GDS's version, or a clear error naming the fix when the configured Neo4j lacks the plugin."""
    try:
        return await repo.gds_version(graph)
    except Exception as error:  # the driver reports an unknown function as a ClientError
        if "gds.version" not in str(error) and "Unknown function" not in str(error):
            raise
        raise GdsMissing(
            "the configured Neo4j has no Graph Data Science plugin (gds.version() is unknown): agent networks need "
            "GDS 2.13 — with Docker set NEO4J_PLUGINS='[\"graph-data-science\"]' (see docker-compose.yml), on a "
            "server put the GDS 2.13 jar in plugins/ and set dbms.security.procedures.unrestricted=gds.*, or unset "
            "FENGHUO_NEO4J_URI to use the embedded Neo4j, which loads GDS itself") from error


def cohesion(groups: dict[str, list[str]], edges: Iterable[tuple[str, str, float]]) -> dict[str, float]:
    """Per group: weight of links inside it / weight of all links of its members (1.0 when it has no links)."""
    return dict(zip(groups, _cohesion(_between(groups, edges), len(groups)).tolist()))


def gamma(total_weight: float, resolution: float = RESOLUTION) -> float:
    """Leiden's gamma for a projected graph of this total link weight: `resolution` × twice it (the modularity's
    2m, which GDS divides gamma by), at least `MIN_GAMMA`."""
    return max(MIN_GAMMA, resolution * 2 * total_weight)


def pair_scores(truth: list[Hashable], found: list[Hashable]) -> dict[str, float]:
    """Pairwise precision/recall of `found` against `truth` (two labelings of the same items, one label per item)
    and their adjusted Rand index: how the benchmark scores recovery and how tests compare two partitions."""
    cells = Counter(zip(truth, found))
    together = sum(comb(n, 2) for n in cells.values())
    found_pairs = sum(comb(n, 2) for n in Counter(found).values())
    truth_pairs = sum(comb(n, 2) for n in Counter(truth).values())
    total = comb(len(truth), 2)
    expected = found_pairs * truth_pairs / total if total else 0.0
    top = (found_pairs + truth_pairs) / 2 - expected
    return {"precision": together / found_pairs if found_pairs else 1.0,
            "recall": together / truth_pairs if truth_pairs else 1.0,
            "ari": (together - expected) / top if top else 1.0}


async def detect(graph: Graph, components: list[str] | None,
                 cap: int) -> tuple[dict[str, list[str]], dict[str, float], set[str]]:
    """Communities (key → lead ids) of the given components (None: all), each one's cohesion, and the keys of
    those left larger than the size guard (no gang-sized split of them exists).

    The projected edges stay in Neo4j: fragments and cohesion need only the link weight between groups of nodes,
    which `repo.links` sums there (streaming every edge into Python was half of the after-batch hook's time)."""
    name = f"fenghuo-networks-{uuid.uuid4().hex}"
    projected = await repo.project(graph, name, components, TYPE_WEIGHTS, AGENT_WEIGHT, cap, PAIR_DEGREE_CAP)
    if not projected.get("nodes"):  # no lead in any component: GDS creates no graph at all
        await repo.drop(graph, name)
        return {}, {}, set()
    try:
        wcc, ids = await repo.wcc(graph, name)
        sizes = Counter(component for node, component in wcc.items() if _is_lead(node))
        parted = max(sizes.values(), default=0) > WHOLE_LEADS  # else every component stays whole
        leiden = await repo.leiden(graph, name, gamma(await repo.total_weight(graph, name))) if parted else {}
        groups: dict[str, list[str]] = defaultdict(list)  # leads and the star identifiers that went with them
        for node, component in wcc.items():  # a small component is one network as it stands
            if sizes[component] <= WHOLE_LEADS:
                groups[f"{component}"].append(node)
        pieces: dict[str, list[str]] = defaultdict(list)
        for node, community in leiden.items():  # Leiden never crosses components; the key says so too
            if sizes[wcc[node]] > WHOLE_LEADS:
                pieces[f"{wcc[node]}:{community}"].append(node)
        first, piece_keys = len(groups), list(pieces)
        between = await _links(graph, name, [*groups.values(), *pieces.values()], ids)
        numbers = np.arange(first + len(piece_keys), dtype=np.int32)
        made_of = numbers.copy()  # each small component's and piece's number → the number of the group it is in
        for joined in _absorb(len(piece_keys), between.regrouped(np.where(numbers < first, -1, numbers - first)),
                              _ranks(piece_keys), FRAGMENT):
            made_of[first + np.asarray(joined)] = len(groups)
            groups[piece_keys[joined[0]]] = [node for piece in joined for node in pieces[piece_keys[piece]]]
        oversized, resplit = set(), False
        for key in [k for k, nodes in groups.items() if _leads(nodes) > MAX_NETWORK_LEADS]:
            parts = await _split(graph, groups[key], cap)
            if parts is None:
                oversized.add(key)
            elif len(parts) > 1:
                del groups[key]
                groups.update({f"{key}/{n}": nodes for n, nodes in enumerate(parts)})
                resplit = True
        if resplit:  # a split cuts across Leiden's pieces: sum the links between the groups as they are now
            between = await _links(graph, name, list(groups.values()), ids)
        else:
            between = between.regrouped(made_of)
        scores = dict(zip(groups, _cohesion(between, len(groups)).tolist()))
    finally:
        await repo.drop(graph, name)
    groups = {key: leads for key, nodes in groups.items()
              if len(leads := [node for node in nodes if _is_lead(node)]) >= MIN_NETWORK_LEADS}
    return groups, {key: scores[key] for key in groups}, oversized & set(groups)


@dataclass
class Between:
    """Link weight summed per pair of groups, as parallel arrays: the groups' numbers `a` and `b` (-1: nodes in no
    group) and the `weight`. A chunk of 50,000 leads at 1M rows has up to ~730,000 linked pairs between Leiden's
    pieces; as tuples, and as the dicts of `absorb_fragments`, they held ~130 MB of the network process."""
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray

    def regrouped(self, of: np.ndarray) -> Between:
        """The same pairs between the groups `of` puts each group in (-1 stays -1; pairs are not summed again)."""
        def through(numbers: np.ndarray) -> np.ndarray:
            return np.where(numbers < 0, -1, of[np.maximum(numbers, 0)])

        return Between(through(self.a), through(self.b), self.weight)


async def _links(graph: Graph, name: str, groups: Sequence[list[str]], ids: dict[str, int]) -> Between:
    """The projected graph's link weight summed per pair of groups (numbered by their place in `groups`).
    A node listed in two groups counts in the later one."""
    of = {ids[node]: n for n, nodes in enumerate(groups) for node in nodes if node in ids}
    return Between(*await repo.links(graph, name, of))


def _cohesion(between: Between, count: int) -> np.ndarray:
    """`cohesion` of groups 0 … count-1 from the link weight between them."""
    a, b, weight = between.a, between.b, between.weight
    other = (b >= 0) & (b != a)
    same = (a >= 0) & (a == b)
    total = _sums(a[a >= 0], weight[a >= 0], count) + _sums(b[other], weight[other], count)
    inside = _sums(a[same], weight[same], count)
    return np.divide(inside, total, out=np.ones(count), where=total > 0)


def _sums(numbers: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """The weights summed per number 0 … count-1, as floats (numpy's bincount answers integers when given none)."""
    return np.bincount(numbers, weights, count).astype(np.float64, copy=False)


def _ranks(keys: Sequence[Any]) -> np.ndarray:
    """Each key's place in sorted order: how `absorb_fragments` breaks ties between groups (by key)."""
    ranks = np.empty(len(keys), np.int64)
    ranks[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    return ranks


def _is_lead(node: str) -> bool:
    return not node.startswith(repo.STAR_PREFIX)


def _leads(nodes: Iterable[str]) -> int:
    return sum(1 for node in nodes if _is_lead(node))


def absorb_fragments(groups: dict[str, list[str]], edges: Iterable[tuple[str, str, float]],
                     threshold: float = FRAGMENT) -> dict[str, list[str]]:
    """Communities put back together: while some community keeps less than `threshold` of its link weight inside
    (a fragment: most of its evidence points at its neighbours), the least cohesive one joins the community it is
    most strongly linked to. Leiden at `RESOLUTION` parts gangs that share a rented card, and also cuts the
    largest gangs into pieces (modularity's null model grows with the product of two groups' weights, so the
    larger a gang, the more readily it parts); this test does not grow with size: a piece of a gang sends most of
    its weight to its sibling pieces, a gang that shares one card or device with another keeps most inside.
    Returns each community by the key of the one the others joined."""
    keys = list(groups)
    return {keys[joined[0]]: [node for n in joined for node in groups[keys[n]]]
            for joined in _absorb(len(keys), _between(groups, edges), _ranks(keys), threshold)}


def _between(groups: dict[str, list[str]], edges: Iterable[tuple[str, str, float]]) -> Between:
    """Node-level edges as links between the groups, numbered by their order (-1: a node in no group; a node listed
    in two groups counts in the later one)."""
    where = {node: n for n, nodes in enumerate(groups.values()) for node in nodes}
    a, b, weight = [], [], []
    for x, y, w in edges:
        a.append(where.get(x, -1))
        b.append(where.get(y, -1))
        weight.append(w)
    return Between(np.array(a, np.int64), np.array(b, np.int64), np.array(weight, np.float64))


def _absorb(count: int, between: Between, ranks: np.ndarray, threshold: float) -> list[list[int]]:
    """`absorb_fragments` over groups 0 … count-1 (pairs with a group -1 are left out; ties go by `ranks`): the
    groups as they end, each as the numbers joined in it, the one the others joined first.

    The links between groups are kept once, as arrays sorted by group; the links of a fragment are summed from its
    members' when it is taken, which happens once (it then joins another)."""
    keep = (between.a >= 0) & (between.b >= 0)
    a, b, weight = between.a[keep], between.b[keep], between.weight[keep]
    volume = _sums(a, weight, count) + _sums(b, weight, count)
    loop = a == b
    inside = 2 * _sums(a[loop], weight[loop], count)
    a, b, weight = a[~loop], b[~loop], weight[~loop]
    source = np.concatenate([a, b])
    starts = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=count))])
    order = np.argsort(source, kind="stable")
    del source, keep, loop
    target_of = np.concatenate([b, a])[order]
    del a, b
    weight_of = np.take(weight, order, mode="wrap")  # the weights of both directions, without a doubled copy
    del weight, order
    share = np.full(count, np.nan)  # inside ÷ volume of each group that links to another; NaN once it joined one
    linked = (np.diff(starts) > 0) & (volume > 0)
    share[linked] = inside[linked] / volume[linked]
    heap = [(share[n], ranks[n], n) for n in np.flatnonzero(linked & (share < threshold)).tolist()]
    heapq.heapify(heap)
    root = np.arange(count, dtype=np.int32)  # the group each one is in now
    members: list[list[int] | None] = [[n] for n in range(count)]
    while heap:
        value, _, fragment = heapq.heappop(heap)
        if share[fragment] != value:  # stale: the group grew or joined another since
            continue
        joined = members[fragment]
        others = root[np.concatenate([target_of[starts[n]:starts[n + 1]] for n in joined])]
        weights = np.concatenate([weight_of[starts[n]:starts[n + 1]] for n in joined])
        outside = others != fragment
        groups, at = np.unique(others[outside], return_inverse=True)
        if not len(groups):
            continue
        link = _sums(at, weights[outside], len(groups))
        best = np.lexsort((ranks[groups], link))[-1]  # the strongest link; on a tie the greater key
        into = int(groups[best])
        members[into] += joined
        members[fragment] = None
        root[joined] = into
        inside[into] += inside[fragment] + 2 * link[best]
        volume[into] += volume[fragment]
        share[fragment] = np.nan
        share[into] = inside[into] / volume[into]
        if share[into] < threshold:
            heapq.heappush(heap, (share[into], ranks[into], into))
    return [joined for joined in members if joined is not None]


async def _split(graph: Graph, nodes: list[str], cap: int) -> list[list[str]] | None:
    """The size guard: Leiden again over one oversized community alone (its leads and the star identifiers they
    name), at rising resolution. A split is taken when its parts are gang-sized, hold most of the leads and are
    cohesive themselves (separate gangs); parts that are not cohesive mean one tightly knit gang, kept whole.
    None: no gang-sized split exists (oversized)."""
    name = f"fenghuo-networks-{uuid.uuid4().hex}"
    leads = [node for node in nodes if _is_lead(node)]
    await repo.project_leads(graph, name, leads, TYPE_WEIGHTS, AGENT_WEIGHT, cap, PAIR_DEGREE_CAP)
    inside = set(nodes)
    try:
        own = [edge for edge in await repo.edges(graph, name) if edge[0] in inside and edge[1] in inside]
        for gamma in SPLIT_GAMMAS:
            found: dict[int, list[str]] = defaultdict(list)
            for node, community in (await repo.leiden(graph, name, gamma)).items():
                found[community].append(node)
            parts = [p for p in found.values() if _leads(p) >= MIN_NETWORK_LEADS]
            kept = sum(map(_leads, parts))
            if parts and max(map(_leads, parts)) <= MAX_NETWORK_LEADS and 2 * kept >= len(leads):
                scores = cohesion(dict(enumerate(parts)), own)
                knit = sum(scores[n] * _leads(p) for n, p in enumerate(parts)) / kept
                return parts if knit >= COHESIVE else [nodes]
        return None
    finally:
        await repo.drop(graph, name)


async def update(graph: Graph, components: set[str] | None, old_networks: set[str], cap: int) -> dict[str, Any]:
    """Recompute the networks within `components` (None: everywhere), replacing `old_networks` and the networks
    their leads carry now; ids move to the new community sharing most leads with them."""
    await require_gds(graph)
    if components is None:
        rows = await repo.all_scope_leads(graph)
        old_networks = old_networks | await repo.all_network_ids(graph)
    else:
        rows = []
        for ids in _chunks(sorted(components), 500):
            rows += await repo.scope_leads(graph, ids)
    current = {row["id"]: row["network_id"] for row in rows}
    old = old_networks | {n for n in current.values() if n}
    for ids in _chunks(sorted(old), 500):
        await repo.clear_orphans(graph, ids)
    if components is not None and not components:
        groups, scores, oversized = {}, {}, set()
    else:
        groups, scores, oversized = await detect(graph, None if components is None else sorted(components), cap)
    desired = plan_recompute([Component(frozenset(leads), frozenset()) for leads in groups.values()], current)
    desired.update({lead: None for lead in current if lead not in desired})
    rows = [{"lead": lead, "network": net} for lead, net in sorted(desired.items()) if net != current.get(lead)]
    for chunk in _chunks(rows, WRITE_CHUNK):
        await repo.assign(graph, chunk, cap)
    networks = {net for net in desired.values() if net}
    facts = _facts(groups, scores, oversized, desired)
    for ids in _chunks(sorted(old | networks), 500):
        await repo.clear_stale_links(graph, ids, cap)
    for ids in _chunks(sorted(networks), 200):
        await repo.refresh_summaries(graph, ids, {n: facts[n] for n in ids}, MIN_NETWORK_LEADS, TOP_INDICATORS)
    for ids in _chunks(sorted(old | networks), 500):
        await repo.drop_empty(graph, ids, MIN_NETWORK_LEADS)
    return {"networks": len(networks), "changed": len(rows), "oversized": sum(f["oversized"] for f in facts.values()),
            "ids": networks}


async def update_in_chunks(graph: Graph, components: set[str], old_networks: set[str], cap: int) -> dict[str, Any]:
    """`update` over many components, at most `CHUNK_LEADS` leads at a time (a larger component alone).

    Communities never cross a component, so each chunk is an `update` of its own. Components whose leads share a
    network id (a network a recomputation split across components) go in the same chunk: each network id is then
    read, reused and summarised by one chunk only. `old_networks` go to the first chunk, whose clean-up of them
    leaves alone what a later chunk still holds (a network keeps its links and summary while leads carry it)."""
    chunks = _pack(await _scope_groups(graph, components), CHUNK_LEADS) or [set()]
    total: dict[str, Any] = {"networks": 0, "changed": 0, "oversized": 0, "ids": set()}
    for index, chunk in enumerate(chunks):
        found = await update(graph, chunk, old_networks if index == 0 else set(), cap)
        total = {key: total[key] | found[key] if key == "ids" else total[key] + found[key] for key in total}
    return total


async def _scope_groups(graph: Graph, components: set[str]) -> list[tuple[int, list[str]]]:
    """The components, grouped where their leads share a network id, each group with its lead count."""
    joined, leads = UnionFind(), Counter()
    for ids in _chunks(sorted(components), 500):
        for row in await repo.scope_shape(graph, ids):
            joined.add(row["component"])
            leads[row["component"]] += row["leads"]
            if row["network"] is not None:
                joined.union(row["component"], ("network", row["network"]))
    groups = ([c for c in group if isinstance(c, str)] for group in joined.groups())
    return sorted((sum(leads[c] for c in group), sorted(group)) for group in groups if group)


def _pack(groups: list[tuple[int, list[str]]], limit: int) -> list[set[str]]:
    """Groups packed in order into chunks of at most `limit` leads (a group larger than that is a chunk alone)."""
    chunks: list[set[str]] = []
    size = limit
    for leads, group in groups:
        if size + leads > limit:
            chunks.append(set())
            size = 0
        chunks[-1].update(group)
        size += leads
    return chunks


def _facts(groups: dict[str, list[str]], scores: dict[str, float], oversized: set[str],
           desired: dict[str, str | None]) -> dict[str, Any]:
    facts = {}
    for key, leads in groups.items():
        facts[desired[leads[0]]] = {"cohesion": round(scores[key], 4), "oversized": key in oversized}
    return facts


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[n:n + size] for n in range(0, len(items), size))
