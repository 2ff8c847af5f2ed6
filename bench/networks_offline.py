"""Agent networks, offline approximation — a SHORTCUT for choosing parameters, not the product's figures.

    .venv/bin/python bench/networks_offline.py FILE.csv[:MEMBER] ... [--resolutions 1e-5 2e-5] [--gammas 0.1]
        [--absorb 5e-5:0.9] [--guarded 5e-5:0.9] [--lpa]

Reads generated batches and their `.truth.csv` side files (`fenghuo demo generate`) without Neo4j, builds the same
weighted lead graph as graph/communities.py from the raw CSV (identifiers normalised roughly: digits of phones and
cards, upper-case ID numbers; in-file duplicate rows dropped; RED leads count towards an identifier's lead count but
link nothing; an identifier named by more than `--pair-cap` leads is a star node, its weight falling with its
degree), and scores against the truth: capped components (union-find, as networks/linking.py) and communities found
by networkx's Louvain per weakly connected component, either at Leiden's scaled resolution (`--resolutions`,
gamma = r × 2 × total weight, as networks/communities.py) or at a fixed whole-graph gamma (`--gammas`), or with
fragments rejoining (`--absorb`) and small components kept whole first (`--guarded`, the product's rule,
networks/communities.py, with `--whole` for its `WHOLE_LEADS`). Louvain is not GDS's Leiden and only `--guarded`
has a size guard: use it to see a trend in a few minutes, then measure with bench/networks.py. The issue's four files: generate them with `fenghuo demo generate` (seeds 7,
99, 7, 8 at 100k/60k/20k/20k rows) and pass all four.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from typing import Any  # noqa: E402

import networkx as nx  # noqa: E402

from bench.common import say  # noqa: E402
from networks.communities import (  # noqa: E402
    AGENT_WEIGHT, FRAGMENT, MAX_NETWORK_LEADS, RESOLUTION, TYPE_WEIGHTS, WHOLE_LEADS, absorb_fragments, pair_scores,
)
from networks.linking import NETWORK_DEGREE_CAP, PAIR_DEGREE_CAP  # noqa: E402

COLUMNS = (("phone", "手机号"), ("device", "设备号"), ("id_number", "身份证号"), ("bank_card", "银行卡号"))


def key(kind: str, raw: str) -> str | None:
    raw = raw.strip()
    if not raw or (kind == "phone" and "E" in raw):
        return None
    if kind in ("phone", "bank_card"):
        digits = re.sub(r"\D", "", raw)
        return digits[2:] if kind == "phone" and len(digits) == 13 and digits.startswith("86") else digits
    return raw.upper() if kind == "id_number" else raw.lower()


def load(files: list[tuple[Path, str]]) -> list[dict[str, Any]]:
    leads: list[dict[str, Any]] = []
    for batch, (path, member) in enumerate(files):
        with open(path.with_name(path.stem + ".truth.csv"), encoding="utf-8", newline="") as fh:
            truth = {row["编号"]: row["gang"] for row in csv.DictReader(fh)}
        seen: set[tuple[str, ...]] = set()
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                content = tuple(row.values())
                keys = [(kind, k) for kind, col in COLUMNS if (k := key(kind, row[col]))]
                if content in seen or not keys:
                    continue
                seen.add(content)
                leads.append({"id": len(leads), "batch": batch, "gang": truth.get(row["编号"], ""),
                              "red": row["TLP"] == "RED", "keys": keys,
                              "agent": f"{member}:{row['中介/团伙']}" if row["中介/团伙"] else None})
    return leads


def weighted_graph(leads: list[dict[str, Any]], cap: int, pair_cap: int) -> tuple[nx.Graph, dict[int, tuple]]:
    """The weighted lead graph of graph/communities.py (an identifier named by more than `pair_cap` leads as a star
    node, a tuple) and the capped components of networks/linking.py."""
    named: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for lead in leads:
        for k in lead["keys"]:
            named[k].append(lead)
    weight: dict[tuple[int, int], float] = defaultdict(float)
    components = nx.utils.UnionFind()
    for (kind, value), naming in named.items():
        ids = [lead["id"] for lead in naming if not lead["red"]]
        if len(naming) > cap or len(ids) < 2:
            continue
        components.union(*ids)
        w = TYPE_WEIGHTS[kind] / math.log(1 + len(naming))
        if len(naming) > pair_cap:  # graph/communities.py's STAR_WEIGHT
            for a in ids:
                weight[(a, ("star", kind, value))] += w * pair_cap
            continue
        for n, a in enumerate(ids):
            for b in ids[n + 1:]:
                weight[(a, b)] += w
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for lead in leads:
        if lead["agent"] and not lead["red"]:
            by_agent[lead["agent"]].append(lead)
    for group in by_agent.values():
        components.union(*(lead["id"] for lead in group))
        for n, a in enumerate(group):
            for b in group[n + 1:]:
                if a["batch"] == b["batch"] or weight.get((a["id"], b["id"]), 0) > 0:
                    weight[(a["id"], b["id"])] += AGENT_WEIGHT
    graph = nx.Graph()
    graph.add_weighted_edges_from((a, b, w) for (a, b), w in weight.items())
    found = {lead: ("c", n) for n, group in enumerate(components.to_sets()) if len(group) > 1 for lead in group}
    return graph, found


def louvain(graph: nx.Graph, *, resolution: float | None = None, gamma: float | None = None) -> dict[int, tuple]:
    """Louvain per weakly connected component; a whole-graph `gamma` is rescaled to each component's weight."""
    total = graph.size(weight="weight")
    found = {}
    for n, nodes in enumerate(nx.connected_components(graph)):
        sub = graph.subgraph(nodes)
        local = sub.size(weight="weight")
        res = resolution * 2 * total if resolution is not None else gamma
        parts = nx.community.louvain_communities(sub, weight="weight", resolution=res * local / total, seed=19)
        found.update({lead: (n, k) for k, part in enumerate(parts) for lead in part if not isinstance(lead, tuple)})
    return found


def absorb(graph: nx.Graph, *, resolution: float, threshold: float, guard: int | None = None) -> dict[int, tuple]:
    """networks/communities.py's rule with Louvain for Leiden: a weakly connected component within `guard` leads
    stays whole (no guard: none does); a larger one is parted by Louvain at the scaled resolution, then, while some
    part keeps less than `threshold` of its link weight inside (a fragment), the least cohesive part joins the part
    it is most strongly linked to. Leads only in the answer (star nodes are tuples)."""
    total = graph.size(weight="weight")
    found = {}
    for n, nodes in enumerate(nx.connected_components(graph)):
        parts = [set(nodes)]
        if guard is None or sum(not isinstance(node, tuple) for node in nodes) > guard:
            sub = graph.subgraph(nodes)
            local = resolution * 2 * total * sub.size(weight="weight") / total
            parts = nx.community.louvain_communities(sub, weight="weight", resolution=local, seed=19)
            if len(parts) > 1:  # the product's own rejoining step (networks/communities.py)
                pieces = {f"{k}": sorted(part, key=str) for k, part in enumerate(parts)}
                parts = [set(leads) for leads in absorb_fragments(pieces, sub.edges(data="weight"), threshold).values()]
        found.update({lead: (n, k) for k, part in enumerate(parts) for lead in part if not isinstance(lead, tuple)})
    return found


def lpa(graph: nx.Graph) -> dict[int, tuple]:
    """networkx's asynchronous weighted label propagation (GDS has gds.labelPropagation)."""
    return {lead: k for k, part in enumerate(nx.community.asyn_lpa_communities(graph, weight="weight", seed=19))
            for lead in part if not isinstance(lead, tuple)}


def score(name: str, leads: list[dict[str, Any]], found: dict[int, Any]) -> None:
    eligible = [lead for lead in leads if not lead["red"]]
    t = [lead["gang"] or ("solo", lead["id"]) for lead in eligible]
    f = [found.get(lead["id"]) or ("solo", lead["id"]) for lead in eligible]
    s = pair_scores(t, f)
    sizes = Counter(found[lead["id"]] for lead in eligible if lead["id"] in found)
    say(f"{name:30}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['ari']:>8.3f}{max(sizes.values(), default=0):>9,}"
        f"{sum(v > MAX_NETWORK_LEADS for v in sizes.values()):>7}   (load {os.getloadavg()[0]:.1f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/networks_offline.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="generated CSV files, each optionally :MEMBER (default A)")
    ap.add_argument("--cap", type=int, default=NETWORK_DEGREE_CAP, help="hub cap: named by more leads, links nothing")
    ap.add_argument("--pair-cap", type=int, default=PAIR_DEGREE_CAP,
                    help="named by more leads, an identifier is a star node with weight falling with its degree")
    ap.add_argument("--whole", type=int, default=WHOLE_LEADS, help="--guarded keeps components this small whole")
    ap.add_argument("--resolutions", type=float, nargs="*", default=[RESOLUTION])
    ap.add_argument("--absorb", nargs="*", default=[], metavar="R:C",
                    help="also: Louvain at scaled resolution R, then parts keeping < C of their weight inside join their strongest neighbour")
    ap.add_argument("--guarded", nargs="*", default=[], metavar="R:C",
                    help=f"also: components within --whole leads whole, larger ones as --absorb R:C (the product's rule: "
                         f"{RESOLUTION:g}:{FRAGMENT:g})")
    ap.add_argument("--lpa", action="store_true", help="also: weighted label propagation")
    ap.add_argument("--gammas", type=float, nargs="*", default=[0.1])
    args = ap.parse_args(argv)
    files = [(Path(spec.rsplit(":", 1)[0]), spec.rsplit(":", 1)[1] if ":" in spec else "A") for spec in args.files]
    leads = load(files)
    graph, components = weighted_graph(leads, args.cap, args.pair_cap)
    gangs = Counter(lead["gang"] for lead in leads if lead["gang"] and not lead["red"])
    say(f"OFFLINE APPROXIMATION (networkx Louvain, no Neo4j, no re-split above the size guard): {len(leads):,} leads, "
        f"{graph.number_of_edges():,} weighted links (pairs and star links), {len(gangs)} planted gangs (largest {max(gangs.values())})")
    say(f"{'':30}{'precision':>10}{'recall':>8}{'ARI':>8}{'largest':>9}{'>' + str(MAX_NETWORK_LEADS):>7}")
    score(f"components (cap {args.cap})", leads, components)
    for r in args.resolutions:
        score(f"Louvain, scaled r={r:g}", leads, louvain(graph, resolution=r))
    for spec in args.absorb:
        r, c = (float(x) for x in spec.split(":"))
        score(f"absorb r={r:g} c={c:g}", leads, absorb(graph, resolution=r, threshold=c))
    for spec in args.guarded:
        r, c = (float(x) for x in spec.split(":"))
        score(f"whole {args.whole} + absorb r={r:g} c={c:g}", leads,
              absorb(graph, resolution=r, threshold=c, guard=args.whole))
    if args.lpa:
        score("label propagation (weighted)", leads, lpa(graph))
    for g in args.gammas:
        score(f"Louvain, fixed gamma={g:g}", leads, louvain(graph, gamma=g))
    return 0


if __name__ == "__main__":
    sys.exit(main())
