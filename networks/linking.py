"""Agent networks, the pure part: which leads belong together, and which network id each group keeps.

A component (the first cut of networks, which networks/communities.py parts into communities) is a connected
component of a graph whose nodes are leads and whose links are
- the indicators they share (`NAMES`), except hubs: benign indicators (registered hotlines, service numbers),
  retracted ones, and any named by more than `NETWORK_DEGREE_CAP` leads — MISP's correlation limit. A hub
  links everything (a shared call-centre number, a popular device model's default ID) and proves nothing. Below
  the cap an identifier named by many leads still links them, because a large gang's own device-farm IMEIs and
  mule cards are named by hundreds of its leads; how much such a link weighs falls with the identifier's degree
  above `PAIR_DEGREE_CAP` (networks/communities.py);
- the agent labels they declare (`OPERATED_BY`); an agent is member-scoped (`member_code:label`), so one
  member's label never joins another member's leads.
Only active leads of committed batches take part, and never TLP RED ones: a RED lead is visible to its filer
alone, so letting it link two leads would tell every other member something the filer chose not to share. For the
same reason a RED lead does not count toward the hub cap (an indicator's `lead_count`): otherwise another member's
RED leads could make an identifier a hub and so split networks everyone reads.
A network has at least `MIN_NETWORK_LEADS` leads; a lead linked to nothing is in no network.

This module knows nothing about Neo4j: networks/flows.py reads the links through graph/networks.py, hands them
here, and writes back the ids decided here. Ids are opaque hex strings; a network keeps its id while it grows, and the largest
part keeps it when networks merge or split, so a bookmarked network stays (mostly) where it was.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping

NETWORK_DEGREE_CAP = 500  # an indicator named by more leads than this is a hub and links nothing
PAIR_DEGREE_CAP = 50  # named by more leads than this, an indicator's link weight falls with its degree (communities)
MIN_NETWORK_LEADS = 2


def new_network_id() -> str:
    return uuid.uuid4().hex


class UnionFind:
    """Disjoint sets over hashable nodes, union by size with path halving (near-constant time per call)."""

    __slots__ = ("_parent", "_size")

    def __init__(self) -> None:
        self._parent: dict[Hashable, Hashable] = {}
        self._size: dict[Hashable, int] = {}

    def add(self, node: Hashable) -> None:
        if node not in self._parent:
            self._parent[node] = node
            self._size[node] = 1

    def find(self, node: Hashable) -> Hashable:
        self.add(node)
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size.pop(rb)

    def groups(self) -> Iterator[list[Any]]:
        by_root: dict[Hashable, list[Hashable]] = {}
        for node in self._parent:
            by_root.setdefault(self.find(node), []).append(node)
        return iter(by_root.values())


@dataclass(frozen=True, slots=True)
class LeadLinks:
    """One eligible lead and what links it: non-hub indicator keys, agent ids, and networks it already touches
    (its own, or its indicators' and agents' when those already belong to one)."""

    id: str
    indicators: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Component:
    leads: frozenset[str]  # the lead ids given, not the members of the existing networks it touches
    networks: frozenset[str]  # existing network ids joined into it


# Node kinds in the union-find; tuples keep an indicator key from ever equalling a lead or network id.
_LEAD, _INDICATOR, _AGENT, _NETWORK = 0, 1, 2, 3


class Linker:
    """Accumulates leads and their links (streamed, page by page) and returns the connected components."""

    def __init__(self) -> None:
        self._uf = UnionFind()

    def add(self, lead: LeadLinks) -> None:
        node = (_LEAD, lead.id)
        uf = self._uf
        uf.add(node)
        for key in lead.indicators:
            uf.union(node, (_INDICATOR, key))
        for agent in lead.agents:
            uf.union(node, (_AGENT, agent))
        for network in lead.networks:
            uf.union(node, (_NETWORK, network))

    def components(self) -> list[Component]:
        found = []
        for group in self._uf.groups():
            leads = frozenset(name for kind, name in group if kind == _LEAD)
            if leads:
                found.append(Component(leads, frozenset(name for kind, name in group if kind == _NETWORK)))
        return found


def components(links: Iterable[LeadLinks]) -> list[Component]:
    """Connected components of leads through shared indicators, agents and existing networks."""
    linker = Linker()
    for lead in links:
        linker.add(lead)
    return linker.components()


class BatchFold:
    """A batch's leads folded into a `Linker`, page by page, noting what else must be read or redone:
    - anchors: linking indicators and agents in no network that leads outside the batch also name (few: such an
      indicator has at most `cap` leads, and all but one would already share a network);
    - unlinked: networks still held by an indicator that no longer links (it crossed the cap, or was flagged).
    Rows are `{key, component_id, lead_count, linking}` per indicator and `{id, component_id, leads}` per agent."""

    def __init__(self) -> None:
        self.linker = Linker()
        self.current: dict[str, str | None] = {}  # lead id → its network id before this assignment
        self.unlinked: set[str] = set()
        self._named: Counter[str] = Counter()
        self._operated: Counter[str] = Counter()
        self._totals: dict[tuple[int, str], int] = {}  # (kind, id) of anchors in no network → their lead count

    def add_batch_lead(self, lead_id: str, network_id: str | None, red: bool, indicators: Iterable[dict],
                       agents: Iterable[dict]) -> None:
        """A RED lead links nothing (nor is it in its indicators' lead counts); what it names is still touched."""
        indicators, agents = list(indicators), list(agents)
        self._operated.update(agent["id"] for agent in agents)
        self.unlinked.update(ind["component_id"] for ind in indicators if not ind["linking"] and ind["component_id"])
        if red:
            return
        self._named.update(ind["key"] for ind in indicators)  # as lead_count counts: RED leads never
        self.current[lead_id] = network_id
        linking = [ind for ind in indicators if ind["linking"]]
        for ind in linking:
            if not ind["component_id"]:
                self._totals[(_INDICATOR, ind["key"])] = ind["lead_count"] or 0
        for agent in agents:
            if not agent["component_id"]:
                self._totals[(_AGENT, agent["id"])] = agent["leads"] or 0
        networks = {network_id} | {i["component_id"] for i in linking} | {a["component_id"] for a in agents}
        self.linker.add(LeadLinks(lead_id, tuple(i["key"] for i in linking), tuple(a["id"] for a in agents),
                                  tuple(n for n in networks if n)))

    def anchors(self) -> tuple[list[str], list[str]]:
        """Indicator keys and agent ids in no network that something outside the batch also names."""
        counts = {_INDICATOR: self._named, _AGENT: self._operated}
        wanted = sorted((kind, name) for (kind, name), total in self._totals.items() if total > counts[kind][name])
        return [n for k, n in wanted if k == _INDICATOR], [n for k, n in wanted if k == _AGENT]

    def add_earlier_lead(self, lead: LeadLinks, network_id: str | None) -> None:
        self.current[lead.id] = network_id
        self.linker.add(lead)


@dataclass
class MergePlan:
    """What an incremental assignment writes: leads to label, networks to fold into others, summaries to refresh."""

    assign: dict[str, str] = field(default_factory=dict)  # lead id → network id
    moves: dict[str, str] = field(default_factory=dict)  # absorbed network id → surviving id
    touched: set[str] = field(default_factory=set)  # networks created or grown (their summaries change)

    def final(self, network_id: str) -> str:
        return self.moves.get(network_id, network_id)


def plan_merge(comps: Iterable[Component], current: Mapping[str, str | None], sizes: Mapping[str, int],
               new_id: Callable[[], str] = new_network_id) -> MergePlan:
    """Fold new leads into networks: a component touching existing networks keeps the largest one's id (ties:
    the smallest id) and absorbs the others; one touching none becomes a new network if it has enough leads.
    A lead already in one of the joined networks moves with its network, so only unlabelled leads are listed."""
    plan = MergePlan()
    for comp in comps:
        if comp.networks:
            target = min(comp.networks, key=lambda n: (-sizes.get(n, 0), n))
        elif len(comp.leads) >= MIN_NETWORK_LEADS:
            target = new_id()
        else:
            continue
        absorbed = comp.networks - {target}
        joining = [lead for lead in comp.leads if current.get(lead) not in comp.networks]
        plan.moves.update(dict.fromkeys(absorbed, target))
        plan.assign.update(dict.fromkeys(joining, target))
        if absorbed or joining:
            plan.touched.add(target)
    return plan


def plan_recompute(comps: Iterable[Component], current: Mapping[str, str | None],
                   new_id: Callable[[], str] = new_network_id) -> dict[str, str | None]:
    """The network id each lead should carry when networks are computed from scratch (None: in no network).

    Each old id goes to the new component sharing most leads with it, each component takes at most one old id,
    and the rest get fresh ids: a network that only grew or split keeps its id on its largest part."""
    comps = list(comps)
    big = [c for c in comps if len(c.leads) >= MIN_NETWORK_LEADS]
    overlaps = sorted(
        ((count, old, index) for index, c in enumerate(big)
         for old, count in Counter(current[lead] for lead in c.leads if current.get(lead)).items()),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    chosen: dict[int, str] = {}
    used: set[str] = set()
    for _, old, index in overlaps:
        if index not in chosen and old not in used:
            chosen[index] = old
            used.add(old)
    desired: dict[str, str | None] = {}
    for index, comp in enumerate(big):
        network_id = chosen.get(index) or new_id()
        desired.update(dict.fromkeys(comp.leads, network_id))
    for comp in comps:
        if len(comp.leads) < MIN_NETWORK_LEADS:
            desired.update(dict.fromkeys(comp.leads))
    return desired
