"""Private checks (issue 15): private vs plain check of the same identifiers, setup refresh vs full rebuild.

    flock /work/bench.lock .venv/bin/python bench/private_check.py [--rows 500000] [--budget-minutes 12]
        [--batch 10000] [--extra-indicators 0] [--heap 2g]

In one run, on an embedded Neo4j 5.26 of its own (a temp dir):
1. `fenghuo demo generate`'s generator writes `--rows` rows of member BENCH_A (seed 7) and a `--batch`-row batch of
   member BENCH_B (same alliance, same gangs); the large file is uploaded in parts of `--part-rows` until
   `--budget-minutes` are spent (the rows filed are printed), the batch after; both through the product's batch
   pipeline (`BatchRunner.submit_file`, as an upload runs it — a SHORTCUT past HTTP, and without the
   agent-network hook, which private checks do not read; the output says so). `--extra-indicators N` writes N
   more phone indicators directly (a SHORTCUT for set sizes the pipeline cannot reach in time; labelled);
2. the hub's PSI setup is built in full from the graph (timed): every privately matchable indicator;
3. a private check of 1 and of 1,000 identifiers (phones, ID numbers and bank cards from the uploaded file, ~20 %
   never filed): hub time (PrivateSetup.answer, the hub's whole part), client time (blind + intersect every
   segment), bytes on the wire; a plain check (check.service.check_leads, the hub's part of checkLeads) of the
   same identifiers; the ratio private hub ÷ plain hub; correctness (private matches = the plain check's listed
   identifiers, no false negative);
4. the false-positive rate over `--fpr-probes` identifiers never filed;
5. the batch is uploaded; the refresh the service runs after it (`catch_up`: read the change feed, re-read the
   batch's indicators, encrypt new keys) against a full rebuild (every key encrypted again) in the same run, and
   against the previous refresh (a full comparison reading every matchable key, no encryption); then one lead is
   retracted and the catch-up after it timed (the staleness of a retraction);
6. peak RSS of this process (the hub's setup plus the client's copy) and the load average beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, say  # noqa: E402

SEED = 7
MEMBERS = ("BENCH_A", "BENCH_B")
COLUMNS = {"手机号": "phone", "身份证号": "id_number", "银行卡号": "bank_card"}
LISTED = {"active", "disputed", "expired"}
COUNT = "MATCH (i:Indicator) RETURN count(i) AS n"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def filed_values(path: Path, limit: int) -> list[tuple[str, str]]:
    """Identifiers as the file holds them (raw, as a member's risk engine would hold its applicants')."""
    found: list[tuple[str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            found.extend((kind, row[column]) for column, kind in COLUMNS.items() if row.get(column))
            if len(found) >= limit:
                break
    return found


def unlisted(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Valid mobile numbers in a block the generator never uses (199…)."""
    return [("phone", f"199{rng.randrange(100_000_000):08d}") for _ in range(count)]


def split(path: Path, rows: int) -> list[Path]:
    """The file in parts of `rows` rows, each with the header (one member filing its list in several uploads)."""
    parts: list[Path] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
        lines = fh.readlines()
    for start in range(0, len(lines), rows):
        part = path.with_name(f"{path.stem}-{len(parts):03d}.csv")
        part.write_text(header + "".join(lines[start:start + rows]), encoding="utf-8-sig")
        parts.append(part)
    return parts


# MERGE: the generator's random numbers may already be filed (then the indicator just gains an aggregate).
SEED_INDICATORS = """
UNWIND $rows AS row
MATCH (m:Member {code: $member})
MERGE (i:Indicator {key: row.key})
ON CREATE SET i.type = 'phone', i.key_version = 1, i.masked = row.masked, i.status = 'active', i.benign = false,
              i.lead_count = 1, i.first_seen = datetime(), i.last_seen = datetime()
MERGE (m)-[r:REPORTED {tlp: 'AMBER', category: 'LOAN_INTERMEDIARY'}]->(i)
ON CREATE SET r.leads = 1, r.max_confidence = 0.8, r.max_confidence_at = datetime(), r.last_confidence = 0.8,
              r.last_seen = datetime(), r.first_seen = datetime(), r.attributed = false
"""


async def seed(graph, key, count: int) -> float:
    """The labelled shortcut: phone indicators of the 198… block, written directly (not through the pipeline)."""
    from ingest.identifiers import normalize
    from ingest.pseudonym import indicator_key, mask

    began = time.perf_counter()
    for offset in range(0, count, 5000):
        rows = []
        for index in range(offset, min(offset + 5000, count)):
            normalized = normalize("phone", f"198{index:08d}")
            rows.append({"key": indicator_key(key, normalized), "masked": mask(normalized)})
        await graph.write(SEED_INDICATORS, {"rows": rows, "member": MEMBERS[0]})
    return time.perf_counter() - began


# A lead of the large file whose identifiers no other lead names: retracting it removes them from the setup.
LONE_LEAD = """
MATCH (l:Lead {member_code: $member, status: 'active', tlp: 'AMBER'})-[:NAMES]->(i:Indicator)
WITH l, collect(i.lead_count) AS counts WHERE all(c IN counts WHERE c = 1)
RETURN l.id AS id LIMIT 1
"""


async def retraction(graph, audit, setup) -> str:
    """Retract one lead (leads.retraction.retract, as `retractLeads` runs it) and time the catch-up that follows:
    the staleness of a retraction, which re-encrypts the segments that held its identifiers."""
    from core.principal import Principal, Role
    from leads.retraction import retract

    try:
        rows = await graph.read(LONE_LEAD, {"member": MEMBERS[0]})
        who = Principal(id="key:bench_a", member_code=MEMBERS[0], roles=frozenset({Role.UPLOADER}))
        began = time.perf_counter()
        await retract(graph, audit, who, lead_ids=[rows[0]["id"]], reason="bench: filed in error")
        written = time.perf_counter() - began
        report = await setup.catch_up()
    except Exception as error:  # a figure missing, not the run
        return f"not measured ({type(error).__name__}: {error})"
    return (f"1 lead retracted in {written:.2f} s, then the catch-up: -{report.removed} keys, {report.rebuilt_keys:,} "
            f"re-encrypted (the segments that held them) in {report.seconds:.2f} s")


async def upload(runner, code: str, path: Path) -> tuple[str, float]:
    from core.principal import Principal, Role
    from ingest.pipeline import UploadRequest, copy_file_chunks

    who = Principal(id=f"key:{code.lower()}", member_code=code, roles=frozenset({Role.UPLOADER}))
    began = time.perf_counter()
    outcome = await runner.submit_file(who, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    if outcome.batch["status"] != "committed":
        raise RuntimeError(f"{path.name} did not commit: {outcome.batch.get('error')}")
    return outcome.batch["id"], time.perf_counter() - began


def private_match(setup, parsed_segments, keys: list[str]) -> tuple[set[str], float, float, int, int]:
    import private_set_intersection.python as psi

    started = time.perf_counter()
    client = psi.client.CreateWithNewKey(True)
    request = client.CreateRequest(keys).SerializeToString()
    blind = time.perf_counter() - started
    started = time.perf_counter()
    response, _ = setup.answer(request)
    hub = time.perf_counter() - started
    started = time.perf_counter()
    answer = psi.Response()
    answer.ParseFromString(response)
    matched = {keys[i] for parsed in parsed_segments for i in client.GetIntersection(parsed, answer)}
    return matched, hub, blind + time.perf_counter() - started, len(request), len(response)


async def run(args: argparse.Namespace, target, work: Path) -> None:
    import private_set_intersection.python as psi

    from access import service
    from audit.log import AuditLog
    from audit.reader import Reader
    from check.service import IdentifierQuery, LeadQuery, check_leads
    from core.principal import Principal, Role, cli_principal
    from graph.database import Graph
    from graph.migrate import migrate
    from ingest import demo
    from ingest.pipeline import BatchRunner
    from ingest.pseudonym import AllianceKey
    from psi.client import key_identifiers
    from psi.setup import PrivateSetup

    key = AllianceKey(version=1, secret=bytes.fromhex("cd" * 32))
    big, small = work / "big.csv", work / "batch.csv"
    demo.generate(big, args.rows, seed=SEED, members=2, member=0)
    demo.generate(small, args.batch, seed=SEED, members=2, member=1)
    graph = Graph.connect(target)
    await migrate(graph)
    audit = AuditLog(graph)
    for code in MEMBERS:
        await service.add_member(graph, audit, cli_principal("bench"), key, code=code, name=f"{code} 消费金融")
    runner = BatchRunner(graph, audit, key, work / "spool")  # as runtime.batch_runner, less the network hook
    rows, seconds = 0, 0.0
    for part in split(big, args.part_rows):  # parts of one generated file, until the time budget is spent
        _, took = await upload(runner, MEMBERS[0], part)
        rows, seconds = rows + min(args.part_rows, args.rows - rows), seconds + took
        say(f"  part               {rows:,} rows filed, {seconds:.0f} s | {load()}")
        if seconds >= args.budget_minutes * 60:
            break
    if args.extra_indicators:
        took = await seed(graph, key, args.extra_indicators)
        say(f"SHORTCUT seeding     {args.extra_indicators:,} extra phone indicators written directly (one AMBER aggregate "
            f"each, not through the pipeline) in {took:.1f} s")
    indicators = (await graph.read(COUNT))[0]["n"]
    say(f"ingest               {rows:,} rows → {indicators:,} indicators in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s; SHORTCUT: BatchRunner.submit_file, no HTTP, no network hook) | {load()}")

    setup = PrivateSetup(graph)
    full = await setup.refresh()
    size = sum(len(s.message) for s in setup.segments)
    say(f"full setup build     {full.rebuilt_keys:,} matchable keys (no RED-only, none retracted) in {full.seconds:.1f} s "
        f"(reading them {full.read_seconds:.1f} s); {len(setup.segments)} segments, {size:,} bytes | {load()}")

    parsed_segments = []
    for segment in setup.segments:
        parsed = psi.ServerSetup()
        parsed.ParseFromString(segment.message)
        parsed_segments.append(parsed)
    rng = random.Random(SEED)
    pool = filed_values(big, 20 * args.identifiers)
    reader = Reader(graph, audit, Principal(id="bench", member_code=MEMBERS[1], roles=frozenset({Role.ANALYST})))
    for _ in range(2):  # warm the plain check's plans and page cache (a cold first check here takes seconds)
        await check_leads(reader, key, [LeadQuery("warm", [IdentifierQuery(*v) for v in rng.sample(pool, args.identifiers)])])
    for count in (1, args.identifiers):
        values = [rng.choice(pool) if rng.random() < 0.8 else unlisted(rng, 1)[0] for _ in range(count)]
        keyed, _ = key_identifiers(key, values)
        keys = sorted(keyed)
        started = time.perf_counter()
        verdicts = await check_leads(reader, key, [LeadQuery("bench", [IdentifierQuery(*v) for v in values])])
        plain = time.perf_counter() - started
        matched, hub, client, sent, received = private_match(setup, parsed_segments, keys)
        listed = {v for v, verdict in zip(values, verdicts[0].verdicts) if verdict.status.lower() in LISTED}
        found = {pair for k in matched for pair in keyed[k]}
        say(f"{count:>5} identifiers    private: hub {hub * 1000:,.1f} ms, client {client * 1000:,.1f} ms; request "
            f"{sent:,} B, response {received:,} B, setup {size:,} B once (ETag-cached) | plain check hub "
            f"{plain * 1000:,.1f} ms | hub ratio {hub / plain:.2f}× (target ≤ 5×) | matched {len(found)}, plain listed "
            f"{len(listed)}, false negatives {len(listed - found)}, extra {len(found - listed)} | {load()}")

    probes = sorted(key_identifiers(key, unlisted(rng, args.fpr_probes))[0])
    false = set()
    for start in range(0, len(probes), setup.max_client_inputs):
        false |= private_match(setup, parsed_segments, probes[start:start + setup.max_client_inputs])[0]
    false -= setup.keys()  # a generated number that happens to be filed is a true match
    say(f"false positives      {len(false)} of {len(probes):,} never-filed identifiers = {len(false) / len(probes):.2e} "
        f"(configured: {setup.fpr:g} per segment per check of {setup.max_client_inputs:,}; {len(setup.segments)} segments)")

    previous = await setup.refresh()  # nothing changed: the cost of the comparison the refresher used to run
    batch_id, seconds = await upload(runner, MEMBERS[1], small)
    say(f"batch                {args.batch:,} rows of {MEMBERS[1]} in {seconds:.1f} s (committed, aggregated)")
    delta = await setup.catch_up()
    removal = await retraction(graph, audit, setup)
    again = await setup.rebuild()
    say(f"refresh after batch  {delta.changes} feed entry, {delta.read_keys:,} indicators re-read in {delta.read_seconds:.2f} s, "
        f"+{delta.added:,} -{delta.removed:,} keys, {delta.rebuilt_keys:,} encrypted: {delta.seconds:.2f} s, "
        f"{delta.segments} segments | {load()}")
    say(f"retraction           {removal} | {load()}")
    say(f"full rebuild         {again.rebuilt_keys:,} keys in {again.seconds:.1f} s (same run, after the batch) | "
        f"refresh ÷ rebuild {delta.seconds / again.seconds:.3f}× (target ≤ 0.1×) | the previous refresh (full comparison, "
        f"no key changed) took {previous.seconds:.2f} s = {previous.seconds / again.seconds:.3f}× | {load()}")
    say(f"peak RSS             {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB "
        f"(this process: the hub's setup plus the client's copy)")
    await audit.close()
    await graph.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/private_check.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=500_000, help="rows generated for the large file (default 500,000)")
    ap.add_argument("--part-rows", type=int, default=10_000, help="the large file is uploaded in parts of this many rows")
    ap.add_argument("--budget-minutes", type=float, default=12.0,
                    help="stop uploading parts once this much time is spent (the rows filed are printed)")
    ap.add_argument("--extra-indicators", type=int, default=0,
                    help="SHORTCUT (labelled in the output): also write this many phone indicators directly")
    ap.add_argument("--batch", type=int, default=10_000, help="rows of the batch whose refresh is timed")
    ap.add_argument("--identifiers", type=int, default=1_000, help="identifiers of the large check (default 1,000)")
    ap.add_argument("--fpr-probes", type=int, default=20_000, help="never-filed identifiers for the FP rate")
    ap.add_argument("--heap", default="2g", help="embedded Neo4j JVM heap (default 2g)")
    ap.add_argument("--page-cache", default="1g")
    args = ap.parse_args(argv)
    from core.settings import Settings
    from graph.database import Target
    from graph.embedded import EmbeddedNeo4j

    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-psi-"))
    neo4j = EmbeddedNeo4j(work / "neo4j-data", free_port(), cache_dir=Settings(_env_file=None).cache_dir,
                          heap=args.heap, page_cache=args.page_cache)
    say(f"fenghuo private-check benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs: "
        f"{args.rows:,} + {args.batch:,} rows of `fenghuo demo generate`; {load()}")
    try:
        neo4j.start()
        asyncio.run(run(args, Target(neo4j.uri, None), work))
        return 0
    finally:
        neo4j.stop()
        shutil.rmtree(work, ignore_errors=True)
        say(f"done                 {load()}")


if __name__ == "__main__":
    raise SystemExit(main())
