"""Agent-network benchmark (issue 16): planted-gang recovery by components vs communities, and their cost.

    .venv/bin/python bench/networks.py [--rows 100000] [--batch 10000] [--neo4j-uri URI] [--heap 2g]
    .venv/bin/python bench/networks.py --issue-case [--batch 10000]

In one run, on one Neo4j 5.26 with GDS (an embedded one of its own in a temp dir, unless --neo4j-uri, which is WIPED):
1. `fenghuo demo generate`'s generator writes the files with their ground-truth side files (which planted gang each
   row is). Default: `--rows` rows (seed 7) of one member. `--issue-case`: the case issue 16 was filed on — the demo
   alliance (DEMO_A/B/C, 1,500 rows each, as `fenghuo serve` seeds it), then DEMO_A uploading
   `fenghuo demo generate --rows R --seed S` for (R, S) = (100k, 7 = the default), (60k, 99), (20k, 7), (20k, 8);
2. each file goes through the product (`BatchRunner.submit_file`, wait=True; without the after-aggregation hook, so
   each network step is timed on its own), then the full recomputation the scheduler runs
   (`networks.flows.rebuild_networks`: components, then GDS WCC + Leiden) is timed;
3. a `--batch`-row batch of a second member (same gangs, seed 7) goes through the product, and its incremental
   update (`assign_networks`) is timed: the target is ≤ 0.2× the full recomputation;
4. over the leads that take part in networks (active, not RED), pairwise precision and recall and the adjusted
   Rand index against the truth, for components (today's networks) and communities side by side, with the largest
   of each, and every network above the size guard with its cohesion. Targets (issue 16): precision ≥ 0.95,
   recall ≥ 0.9. Printed, not asserted. `--gammas` also scores Leiden at fixed resolutions (0.1 was the setting
   before the resolution scaled with the graph) over the same projection, without the size guard.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import csv  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any, Hashable, Iterable  # noqa: E402

from bench.common import free_port, say  # noqa: E402
from networks.communities import pair_scores  # noqa: E402

SEED = 7
MEMBERS = ("BENCH_A", "BENCH_B")

WIPE = "MATCH (n) WHERE NOT n:Migration CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS"
LEADS = """
MATCH (l:Lead) WHERE l.status = 'active' AND l.tlp <> 'RED'
RETURN l.id AS id, l.batch_id AS batch, l.reference AS ref, l.component_id AS component, l.network_id AS network
"""
GUARDED = """
MATCH (n:Network) WHERE n.leads > $guard
RETURN n.leads AS leads, n.cohesion AS cohesion, n.oversized AS oversized ORDER BY n.leads DESC
"""
SIZES = """
MATCH (n:Network) RETURN max(n.leads) AS largest, count(n) AS networks,
       sum(CASE WHEN n.oversized THEN 1 ELSE 0 END) AS oversized, avg(n.cohesion) AS cohesion
"""


def read_truth(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["编号"]: row["gang"] for row in csv.DictReader(fh)}


def labels(rows: Iterable[dict[str, Any]], truth: dict[tuple[str, str], str],
           key: str) -> tuple[list[Hashable], list[Hashable]]:
    """Truth and found labels per lead (truth by batch and reference: two files of one seed reuse references);
    a lead in no gang / no network is its own singleton."""
    t, f = [], []
    for n, row in enumerate(rows):
        gang = truth.get((row["batch"], row["ref"]), "")
        t.append(gang or ("solo", n))
        f.append(row[key] or ("solo", n))
    return t, f


async def gamma_sweep(graph: Any, gammas: list[float]) -> dict[float, dict[str, str]]:
    """Leiden at other resolutions over one projection of the same weighted graph (WCC key : community)."""
    from graph import communities as repo
    from networks.communities import AGENT_WEIGHT, TYPE_WEIGHTS
    from networks.linking import NETWORK_DEGREE_CAP, PAIR_DEGREE_CAP

    name = "bench-gamma-sweep"
    await repo.project(graph, name, None, TYPE_WEIGHTS, AGENT_WEIGHT, NETWORK_DEGREE_CAP, PAIR_DEGREE_CAP)
    try:
        wcc, _ = await repo.wcc(graph, name)
        return {g: {lead: f"{wcc[lead]}:{c}" for lead, c in (await repo.leiden(graph, name, g)).items()
                    if not lead.startswith(repo.STAR_PREFIX)} for g in gammas}
    finally:
        await repo.drop(graph, name)


async def upload(runner: Any, code: str, path: Path) -> tuple[str, float]:
    from core.principal import Principal, Role
    from ingest.pipeline import UploadRequest, copy_file_chunks

    who = Principal(id=f"key:{code.lower()}", member_code=code, roles=frozenset({Role.UPLOADER}))
    began = time.perf_counter()
    outcome = await runner.submit_file(who, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    if outcome.batch["status"] != "committed":
        raise RuntimeError(f"{path.name} did not commit: {outcome.batch}")
    return outcome.batch["id"], time.perf_counter() - began


ISSUE_FILES = ((100_000, 7), (60_000, 99), (20_000, 7), (20_000, 8))  # (rows, seed) DEMO_A uploaded in issue 16
DEMO_MEMBERS, DEMO_ROWS, DEMO_SEED = ("DEMO_A", "DEMO_B", "DEMO_C"), 1500, 2024  # api/demo.py's alliance


def plan(args: argparse.Namespace, work: Path) -> tuple[list[str], list[tuple[str, Path, dict]], tuple[str, Path, dict]]:
    """Members, the files uploaded before the full recomputation (member, path, generator arguments), the batch."""
    if not args.issue_case:
        return (list(MEMBERS), [(MEMBERS[0], work / "big.csv", {"rows": args.rows, "seed": SEED, "members": 2})],
                (MEMBERS[1], work / "batch.csv", {"rows": args.batch, "seed": SEED, "members": 2, "member": 1}))
    files = [(code, work / f"demo-{code}.csv", {"rows": DEMO_ROWS, "seed": DEMO_SEED, "members": 3, "member": n})
             for n, code in enumerate(DEMO_MEMBERS)]
    files += [("DEMO_A", work / f"issue-{n}-{rows}-seed{seed}.csv", {"rows": rows, "seed": seed})
              for n, (rows, seed) in enumerate(ISSUE_FILES)]
    return list(DEMO_MEMBERS), files, ("DEMO_B", work / "batch.csv", {"rows": args.batch, "seed": SEED})


def generate(path: Path, spec: dict) -> dict[str, str]:
    from ingest import demo

    spec = dict(spec)
    demo.generate(path, spec.pop("rows"), **spec, truth=demo.truth_path(path))
    return read_truth(demo.truth_path(path))


async def bench(args: argparse.Namespace, target: Any, work: Path) -> None:
    from access import service
    from audit.log import AuditLog
    from core.principal import cli_principal
    from graph.database import Graph
    from graph.migrate import migrate
    from ingest.pipeline import BatchRunner
    from ingest.pseudonym import AllianceKey
    from networks.communities import MAX_NETWORK_LEADS
    from networks.flows import assign_networks, rebuild_networks

    key = AllianceKey(version=1, secret=bytes.fromhex("ab" * 32))
    members, files, (batch_member, batch_path, batch_spec) = plan(args, work)
    truth: dict[tuple[str, str], str] = {}
    graph = Graph.connect(target)
    try:
        await migrate(graph)
        async with graph.driver.session(database=graph.database) as session:  # auto-commit: IN TRANSACTIONS
            await (await session.run(WIPE)).consume()
        audit = AuditLog(graph)
        for code in members:
            await service.add_member(graph, audit, cli_principal("bench"), key, code=code, name=f"{code} 消费金融")
        await audit.flush()
        runner = BatchRunner(graph, audit, key, work / "spool")  # no hook: each network step is timed on its own
        for code, path, spec in files:
            refs = generate(path, spec)
            batch_id, seconds = await upload(runner, code, path)
            truth.update({(batch_id, ref): gang for ref, gang in refs.items()})
            say(f"ingest {code} {path.name:28} {spec['rows']:>7,} rows in {seconds:6.1f} s "
                f"(load {os.getloadavg()[0]:.1f})")
        began, load = time.perf_counter(), os.getloadavg()[0]
        full = await rebuild_networks(graph)
        full_s = time.perf_counter() - began
        say(f"full recomputation   {full_s:.1f} s (load {load:.1f}→{os.getloadavg()[0]:.1f}): {full}")
        refs = generate(batch_path, batch_spec)
        batch_id, seconds = await upload(runner, batch_member, batch_path)
        truth.update({(batch_id, ref): gang for ref, gang in refs.items()})
        say(f"ingest               {args.batch:,}-row batch of {batch_member} in {seconds:.1f} s")
        began, load = time.perf_counter(), os.getloadavg()[0]
        step = await assign_networks(graph, batch_id)
        inc_s = time.perf_counter() - began
        say(f"incremental update   {inc_s:.1f} s (load {load:.1f}→{os.getloadavg()[0]:.1f}) = {inc_s / full_s:.2f}× "
            f"the full recomputation (target ≤ 0.2×): {step}")
        rows = await graph.read(LEADS)
        sizes = (await graph.read(SIZES))[0]
        guarded = await graph.read(GUARDED, {"guard": MAX_NETWORK_LEADS})
        by_gamma = await gamma_sweep(graph, args.gammas) if args.gammas else {}
        await audit.close()
    finally:
        await graph.close()
    report(rows, truth, sizes, guarded, by_gamma, MAX_NETWORK_LEADS)


def report(rows: list[dict[str, Any]], truth: dict[tuple[str, str], str], sizes: dict[str, Any],
           guarded: list[dict[str, Any]], by_gamma: dict[float, dict[str, str]], guard: int) -> None:
    gangs = Counter(g for g in (truth.get((row["batch"], row["ref"])) for row in rows) if g)
    say(f"\nrecovery of planted gangs over {len(rows):,} leads that take part (active, not RED); "
        f"{len(gangs):,} planted gangs, largest {max(gangs.values(), default=0)} leads "
        f"(load {os.getloadavg()[0]:.1f}):")
    say(f"{'':26}{'precision':>10}{'recall':>8}{'ARI':>8}{'largest':>9}{'groups':>8}{'>' + str(guard):>7}")
    for name, field in (("components (before)", "component"), ("communities (GDS)", "network")):
        t, f = labels(rows, truth, field)
        score = pair_scores(t, f)
        groups = Counter(row[field] for row in rows if row[field])
        say(f"{name:26}{score['precision']:>10.3f}{score['recall']:>8.3f}{score['ari']:>8.3f}"
            f"{max(groups.values(), default=0):>9,}{len(groups):>8,}{sum(v > guard for v in groups.values()):>7}")
    for gamma, found in by_gamma.items():
        t, f = labels([{**row, "g": found.get(row["id"])} for row in rows], truth, "g")
        score = pair_scores(t, f)
        groups = Counter(found.values())
        say(f"{'  Leiden fixed γ=' + str(gamma):26}{score['precision']:>10.3f}{score['recall']:>8.3f}{score['ari']:>8.3f}"
            f"{max(groups.values(), default=0):>9,}{len(groups):>8,}{sum(v > guard for v in groups.values()):>7}"
            f"  (no size guard)")
    say(f"networks: {sizes['networks']:,}, largest {sizes['largest']}, flagged oversized {sizes['oversized']}, "
        f"mean cohesion {sizes['cohesion'] or 0:.3f}; above the size guard ({guard}): "
        + (", ".join(f"{g['leads']} leads cohesion {g['cohesion']:.3f}{' (oversized)' if g['oversized'] else ''}"
                     for g in guarded) or "none"))
    say("targets: precision ≥ 0.95, recall ≥ 0.9, incremental ≤ 0.2×")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/networks.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--neo4j-uri", help="use this Neo4j (it is WIPED; it needs GDS) instead of an embedded one")
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--issue-case", action="store_true",
                    help="the four files of issue 16 (100k/60k/20k/20k rows, seeds 7/99/7/8) after the demo alliance")
    ap.add_argument("--gammas", type=float, nargs="*", default=[0.1],
                    help="also score plain Leiden at these fixed resolutions (one extra projection)")
    ap.add_argument("--page-cache", default="1g")
    args = ap.parse_args(argv)

    from core.settings import Settings
    from graph.database import Target, resolve_target
    from graph.embedded import EmbeddedNeo4j

    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-networks-"))
    rows = sum(r for r, _ in ISSUE_FILES) + 3 * DEMO_ROWS if args.issue_case else args.rows
    say(f"fenghuo network benchmark{' (issue 16 case)' if args.issue_case else ''}: {rows:,} rows + a "
        f"{args.batch:,}-row batch, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}")
    server = None
    try:
        if args.neo4j_uri:
            target = resolve_target(Settings(neo4j_uri=args.neo4j_uri))
        else:
            server = EmbeddedNeo4j(work / "neo4j-data", free_port(), cache_dir=Settings().cache_dir,
                                   heap=args.heap, page_cache=args.page_cache)
            began = time.perf_counter()
            server.start()
            say(f"embedded Neo4j       started in {time.perf_counter() - began:.1f} s (heap {args.heap})")
            target = Target(server.uri, None)
        asyncio.run(bench(args, target, work))
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
