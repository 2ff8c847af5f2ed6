"""Scheduled ingest vs a direct upload of the same file: the connector's extra cost (target ≤ 10 %).

    .venv/bin/python bench/jobs.py [--rows 100000] [--indicators 10000]

1. a `fenghuo demo generate` file of --rows rows: uploaded directly (`BatchRunner.submit_file(wait=True)`), then the
   graph wiped, then the same file dropped into a drop folder and filed by a drop-folder job run;
2. --indicators STIX indicators: the bundle uploaded directly, then (graph wiped) the same indicators served by
   medallion (TAXII 2.1, memory backend, pages of 1,000) and filed by a TAXII job run.
Each pair runs on the same embedded Neo4j, one after the other; rows/s and the ratio are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
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
from jobs.runner import JobRunner  # noqa: E402
from jobs.secrets import SecretBox  # noqa: E402

KEY = AllianceKey(version=1, secret=bytes.fromhex("cd" * 32))
MEMBER = "BENCH"
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
        say(f"# bench/jobs.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  load {os.getloadavg()[0]:.1f}  cpus {os.cpu_count()}")

        csv_path = workdir / "leads.csv"
        demo.generate(csv_path, args.rows, seed=7)
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
        _report("drop folder", args.rows, direct_s, job_s, run)
        await _wipe(graph)

        from tests.jobs.taxii_server import PASSWORD, USER, Medallion, store  # the test's medallion wrapper

        bundle = workdir / "bundle.json"
        objects = _stix(args.indicators, bundle)
        defaults = BatchDefaults(category="DEVICE_FARM")
        direct_s, _ = await _timed(batches.submit_file(uploader, copy_file_chunks(bundle), UploadRequest(filename="b.json"),
                                                       wait=True, defaults=defaults))
        await _wipe(graph)
        (workdir / "store.json").write_text(json.dumps(store(objects)))
        with Medallion(workdir / "store.json", workdir, page_size=1000) as taxii:
            job = await service.create_job(graph, audit, box, cli_principal("bench"), service.JobSpec(
                name="bench-taxii", kind="taxii", member_code=MEMBER, interval_seconds=3600,
                config={"collection_url": taxii.collection_url(), "username": USER, "page_size": 1000},
                secrets={"password": PASSWORD}, defaults={"category": "DEVICE_FARM"}))
            job_s, run = await _timed(runner.run(job["id"]))
        _report("TAXII", args.indicators, direct_s, job_s, run)
    finally:
        await audit.close()
        await graph.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _report(what: str, rows: int, direct_s: float, job_s: float, run: dict) -> None:
    say(f"{what:<12} {rows:>7} rows  direct upload {rows / direct_s:>8,.0f} rows/s ({direct_s:.1f} s)   "
        f"job run {rows / job_s:>8,.0f} rows/s ({job_s:.1f} s, {run['status']}, accepted {run['accepted']})   "
        f"job/direct time {job_s / direct_s:.2f}×")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--indicators", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
