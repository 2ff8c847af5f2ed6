"""Scheduled ingest vs a direct upload of the same data: the connector's extra cost (target ≤ 10 %).

    flock /work/bench.lock .venv/bin/python bench/jobs.py [--rows 100000] [--indicators 10000]
        [--taxii-max-page 10000] [--repeat 3] [--stock-indicators 1000]

SHORTCUT (printed with the figures): both paths go through `BatchRunner` in-process — "direct" is
`BatchRunner.submit_file(wait=True)` (what POST /v1/batches runs, without HTTP), "job" is `JobRunner.run` (what the
scheduler runs, without its timer loop). Default settings otherwise; embedded Neo4j with heap 1g, page cache 512m.

1. drop folder: a `fenghuo demo generate` file of --rows rows uploaded directly; graph wiped; the same file
   dropped into a folder and filed by a drop-folder job run.
2. TAXII: --indicators STIX indicators as one bundle uploaded directly; graph wiped; the same indicators served
   by medallion (OASIS TAXII 2.1 server, max_page_size --taxii-max-page) and filed by a TAXII job run. The
   server's own time is measured apart — the job's fetch alone, no ingest — and the ratio is printed with and
   without it; --repeat pairs, in alternating order (a pair run second meets a warmer JVM), and their median.
   Medallion runs with bench/medallion_indexed.py (its memory backend with an indexed filter, LABELLED):
   the stock memory backend is O(n²) per listing (~20 min for 10k objects).
3. the same with the STOCK memory backend at --stock-indicators (0 skips it), to show what that backend costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.principal import Principal, Role, cli_principal  # noqa: E402
from access import service as access_service  # noqa: E402
from audit.log import AuditLog  # noqa: E402
from bench.common import free_port, say  # noqa: E402
from core.settings import Settings  # noqa: E402
from graph.database import Graph, Target  # noqa: E402
from graph.embedded import EmbeddedNeo4j  # noqa: E402
from graph.migrate import migrate  # noqa: E402
from ingest import demo  # noqa: E402
from ingest.defaults import BatchDefaults  # noqa: E402
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks  # noqa: E402
from ingest.pseudonym import AllianceKey  # noqa: E402
from jobs import service  # noqa: E402
from jobs.connectors.taxii import TaxiiCollection, fetch  # noqa: E402
from jobs.runner import JobRunner  # noqa: E402
from jobs.secrets import SecretBox  # noqa: E402

KEY = AllianceKey(version=1, secret=bytes.fromhex("cd" * 32))
MEMBER = "BENCH"
INDEXED = ("bench.medallion_indexed", "IndexedMemoryBackend")
STOCK = ("medallion.backends.memory_backend", "MemoryBackend")
WIPE = "MATCH (n) WHERE NOT n:Migration AND NOT n:Member CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS"


async def _wipe(graph: Graph) -> None:
    async with graph.driver.session(database=graph.database) as session:
        await (await session.run(WIPE)).consume()


def _stix(count: int, path: Path) -> list[dict]:
    objects = []
    for n in range(count):
        pattern = f"[x-fenghuo-phone:value = '139{n:08d}']" if n % 2 else f"[ipv4-addr:value = '47.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']"
        objects.append({"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
                        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "pattern": pattern,
                        "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"})
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": objects}))
    return objects


async def _timed(work) -> tuple[float, dict]:
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-bench-jobs-"))
    server = EmbeddedNeo4j(workdir / "neo4j", free_port(), cache_dir=Settings(_env_file=None).cache_dir, heap="1g", page_cache="512m")
    server.start()
    graph = Graph.connect(Target(server.uri, None))
    audit = AuditLog(graph)
    try:
        await migrate(graph)
        await access_service.add_member(graph, audit, cli_principal("bench"), KEY, code=MEMBER, name="bench", home_jurisdiction=None, hotlines=[])
        settings = Settings(_env_file=None, neo4j_uri=server.uri, data_dir=workdir / "data", demo_seed=False)
        batches = BatchRunner(graph, audit, KEY, workdir / "spool")
        box = SecretBox.from_settings(settings)
        runner = JobRunner(graph, audit, batches, box, settings, "bench")
        uploader = Principal(id="key:bench", member_code=MEMBER, roles=frozenset({Role.UPLOADER}))
        say(f"# bench/jobs.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  load {_load()}  cpus {os.cpu_count()}")
        say("# SHORTCUT: both paths via BatchRunner in-process (direct = submit_file as POST /v1/batches runs it, "
            "no HTTP; job = JobRunner.run as the scheduler runs it, no timer loop)")

        warmup = workdir / "warmup.csv"  # the first batch of a fresh JVM pays its warm-up; neither side should
        demo.generate(warmup, 1000, seed=3)
        await batches.submit_file(uploader, copy_file_chunks(warmup), UploadRequest(filename="warmup.csv"), wait=True)
        await _wipe(graph)
        say("# after a 1,000-row warm-up upload (wiped); each pair: one path, graph wiped, then the other (TAXII pairs alternate the order)")
        say("# TAXII warm-up pair (not counted): the first runs of each path in a fresh JVM are the slowest")
        await _taxii(graph, audit, box, runner, batches, uploader, workdir, args.indicators, INDEXED, args.taxii_max_page,
                     job_first=False)
        await _wipe(graph)
        ratios = []
        for n in range(args.repeat):
            ratios.append(await _taxii(graph, audit, box, runner, batches, uploader, workdir, args.indicators, INDEXED,
                                       args.taxii_max_page, job_first=bool(n % 2)))
            await _wipe(graph)
        if len(ratios) > 1:
            say(f"TAXII {args.indicators:,} indicators over {len(ratios)} pairs (order alternating): job/direct time "
                f"median {statistics.median(r[0] for r in ratios):.2f}× "
                f"[{', '.join(f'{r[0]:.2f}' for r in ratios)}]; (job − serving)/direct median "
                f"{statistics.median(r[1] for r in ratios):.2f}× [{', '.join(f'{r[1]:.2f}' for r in ratios)}]")
        if args.stock_indicators:
            await _taxii(graph, audit, box, runner, batches, uploader, workdir, args.stock_indicators, STOCK,
                         args.taxii_max_page, job_first=False)
            await _wipe(graph)
        if args.rows:
            await _drop_folder(graph, audit, box, runner, batches, uploader, workdir, args.rows)
    finally:
        await audit.close()
        await graph.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def _drop_folder(graph: Graph, audit: AuditLog, box: SecretBox, runner: JobRunner, batches: BatchRunner,
                      uploader: Principal, workdir: Path, rows: int) -> None:
    csv_path = workdir / "leads.csv"
    demo.generate(csv_path, rows, seed=7)
    direct_s, _ = await _timed(batches.submit_file(uploader, copy_file_chunks(csv_path), UploadRequest(filename="leads.csv"), wait=True))
    await _wipe(graph)
    drop = workdir / "drop"
    drop.mkdir()
    shutil.copy(csv_path, drop / "leads.csv")
    os.utime(drop / "leads.csv", (time.time() - 60, time.time() - 60))
    job = await service.create_job(graph, audit, box, cli_principal("bench"), service.JobSpec(
        name="bench-drop", kind="drop_folder", member_code=MEMBER, interval_seconds=3600,
        config={"path": str(drop), "settle_seconds": 1}))
    job_s, run = await _timed(runner.run(job["id"]))
    _report("drop folder", rows, direct_s, job_s, run)


async def _taxii(graph: Graph, audit: AuditLog, box: SecretBox, runner: JobRunner, batches: BatchRunner,
                 uploader: Principal, workdir: Path, count: int, backend: tuple[str, str], max_page: int,
                 *, job_first: bool) -> tuple[float, float]:
    """One direct/job pair (the graph wiped between them); returns job/direct and (job − serving)/direct."""
    from tests.jobs.taxii_server import PASSWORD, USER, Medallion, store  # the tests' medallion wrapper

    bundle = workdir / f"bundle-{count}.json"
    objects = _stix(count, bundle)

    async def direct() -> float:
        seconds, _ = await _timed(batches.submit_file(uploader, copy_file_chunks(bundle), UploadRequest(filename="b.json"),
                                                      wait=True, defaults=BatchDefaults(category="DEVICE_FARM")))
        return seconds

    direct_s = 0.0
    if not job_first:
        direct_s = await direct()
        await _wipe(graph)
    (workdir / "store.json").write_text(json.dumps(store(objects)))
    label = f"TAXII {'indexed' if backend is INDEXED else 'STOCK'} medallion, max_page_size {max_page:,}"
    with Medallion(workdir / "store.json", workdir, page_size=max_page, backend=backend) as taxii:
        config = {"collection_url": taxii.collection_url(), "username": USER, "timeout_seconds": 600}
        serve_s, fetched = await _timed(asyncio.to_thread(
            fetch, TaxiiCollection().validate(config, {"password": PASSWORD}), {"password": PASSWORD}, None))
        job = await service.create_job(graph, audit, box, cli_principal("bench"), service.JobSpec(
            name=f"bench-taxii-{count}-{uuid.uuid4().hex[:6]}", kind="taxii", member_code=MEMBER, interval_seconds=3600,
            config=config, secrets={"password": PASSWORD}, defaults={"category": "DEVICE_FARM"}))
        job_s, run = await _timed(runner.run(job["id"]))
    if job_first:
        await _wipe(graph)
        direct_s = await direct()
    _report(label + (" (job first)" if job_first else ""), count, direct_s, job_s, run)
    say(f"{'':<12}   medallion serving the {len(fetched[0]):,} objects alone (the job's fetch, no ingest): {serve_s:.1f} s   "
        f"job minus serving {count / max(job_s - serve_s, 1e-9):,.0f} rows/s   "
        f"(job − serving)/direct time {(job_s - serve_s) / direct_s:.2f}×   load {_load()}")
    return job_s / direct_s, (job_s - serve_s) / direct_s


def _load() -> str:
    return "/".join(f"{n:.1f}" for n in os.getloadavg())


def _report(what: str, rows: int, direct_s: float, job_s: float, run: dict) -> None:
    say(f"{what}: {rows:,} rows  direct upload {rows / direct_s:>8,.0f} rows/s ({direct_s:.1f} s)   "
        f"job run {rows / job_s:>8,.0f} rows/s ({job_s:.1f} s, {run['status']}, accepted {run['accepted']})   "
        f"job/direct time {job_s / direct_s:.2f}×   load {_load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--taxii-max-page", type=int, default=10_000, help="medallion's max_page_size")
    parser.add_argument("--repeat", type=int, default=3, help="TAXII direct/job pairs, order alternating; the median is printed")
    parser.add_argument("--stock-indicators", type=int, default=1_000, help="indicators served by the stock backend; 0 skips")
    asyncio.run(main(parser.parse_args()))
