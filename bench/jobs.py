"""Scheduled ingest vs a direct upload of the same data, as a user runs both (issue 11: the connector ≤ 10 % more).

    flock /work/bench.lock .venv/bin/python bench/jobs.py [--rows 100000] [--indicators 10000]
        [--taxii-max-page 10000] [--repeat 6] [--stock-indicators 1000] [--heap 2g --page-cache 2g]

`fenghuo serve` is started as `make run` starts it (default settings: the embedded Neo4j sized `auto`, the demo
alliance seeded, the scheduler running in the same process); --heap/--page-cache override the sizing and are
printed. The demo's DEMO_A uploader uploads; the jobs file for DEMO_A too. Between any two measured runs the leads,
batches, indicators, networks and job items are wiped through Bolt (members, keys, jobs, run history stay), after
the server's after-upload work (agent networks) is done; then the bench waits until the server is idle (its
processes and the JVM below 15 % of a core over 1 s).

- direct: `POST /v1/batches` with the file as the body (what `fenghuo upload` and curl do), until the batch is
  checkable (committed and aggregated — `checks_ready`), observed by polling the Batch node over Bolt every 20 ms.
- job: `fenghuo jobs add … --paused` (the CLI, untimed), then the run requested as `fenghuo jobs run` requests it
  (the same write, `graph.jobs.request_run`, made over Bolt so that the CLI process's own start-up and exit do
  not share the CPU with the run); the scheduler in the server picks the request up (within its 2 s poll, printed,
  not counted) and the time is its JobRun's `started_at` until the run is seen finished (same 20 ms polling). A
  job's run ends when its batch is checkable, as the upload's does.

1. TAXII: --indicators STIX indicators as one bundle uploaded directly (default category DEVICE_FARM as a query
   parameter), and the same indicators served by medallion (OASIS TAXII 2.1 server, max_page_size
   --taxii-max-page) and filed by a TAXII job with the same default. A warm-up pair first (unmeasured: a fresh
   JVM's first runs are the slowest), then --repeat pairs in alternating order: the second run of a pair is
   faster whichever path it is, so the summary is the geometric mean of the pair ratios over an even number of
   pairs (each order as often; a constant order factor cancels), with the median beside it. The server's own
   time to serve the collection is measured apart (the job's fetch in this process, no ingest) and printed beside
   the ratio. Medallion runs with bench/medallion_indexed.py (its memory backend with an indexed filter,
   LABELLED): the stock memory backend is O(n²) per listing (~20 min for 10k objects).
2. the same with the STOCK memory backend at --stock-indicators (0 skips it), to show what that backend costs.
3. drop folder: a `fenghuo demo generate` file of --rows rows uploaded directly, and the same file dropped into a
   folder and filed by a drop-folder job.
Housekeeping runs that overlapped a measurement are named beside it (they keep their own schedules, as run).
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench.common import say  # noqa: E402
from bench.ingest import FENGHUO, Server, load, start_server, wipe  # noqa: E402
from bench.ingest_probe import ProcessTree, cpu_seconds  # noqa: E402
from graph import jobs as jobs_repo  # noqa: E402
from graph.database import Graph, Target  # noqa: E402
from ingest import demo  # noqa: E402
from jobs.connectors.taxii import TaxiiCollection, fetch  # noqa: E402

MEMBER = "DEMO_A"  # the demo uploader's member
INDEXED = ("bench.medallion_indexed", "IndexedMemoryBackend")
STOCK = ("medallion.backends.memory_backend", "MemoryBackend")
POLL = 0.02
READY = ("MATCH (b:Batch {id: $id}) RETURN b.status AS status, b.error AS error, "
         "b.status = 'committed' AND b.aggregated_seq > b.last_line AS ready, b.accepted AS accepted")
RUN = ("MATCH (j:IngestJob {name: $name}) MATCH (r:JobRun {job_id: j.id}) "
       "RETURN r.status AS status, r.started_at.epochMillis / 1000.0 AS started, r.error AS error, "
       "r.accepted AS accepted, r.batch_ids AS batch_ids, r.trigger AS trigger ORDER BY r.started_at DESC LIMIT 1")
OVERLAPPING = ("MATCH (j:IngestJob) WHERE j.builtin MATCH (r:JobRun {job_id: j.id}) "
               "WHERE r.started_at.epochMillis / 1000.0 < $until AND coalesce(r.finished_at.epochMillis / 1000.0, $until) > $since "
               "RETURN j.name AS name, r.status AS status, "
               "(coalesce(r.finished_at.epochMillis, timestamp()) - r.started_at.epochMillis) / 1000.0 AS seconds")
UNASSIGNED = "MATCH (b:Batch) WHERE b.status = 'committed' AND b.networks_assigned_at IS NULL RETURN count(b) AS n"


@dataclass
class Measured:
    seconds: float
    accepted: int
    note: str = ""


class Bench:
    def __init__(self, server: Server, work: Path) -> None:
        self.server, self.work = server, work
        self.graph = Graph.connect(Target(server.bolt_uri, None))
        self.http = httpx.AsyncClient(base_url=server.url, timeout=900,
                                      headers={"authorization": f"Bearer {server.token}"})
        self.tree = ProcessTree(server.process.pid, server.jvm_pid)
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")},
                    "FENGHUO_DATA_DIR": str(server.data_dir)}

    async def close(self) -> None:
        await self.http.aclose()
        await self.graph.close()

    def cli(self, *args: str) -> str:
        done = subprocess.run([FENGHUO, *args], env=self.env, cwd=self.work, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"fenghuo {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    async def settle(self) -> None:
        """Wait for the server's after-upload work (agent networks) on every batch, wipe, then wait until the
        server (API process, its workers, the JVM) is idle: the next run must not meet the last one's leftovers
        (private-check catch-up, JVM garbage collection)."""
        for _ in range(3600):
            if not (await self.graph.read(UNASSIGNED))[0]["n"]:
                break
            await asyncio.sleep(0.5)
        await wipe(self.graph)
        await self.idle()

    async def idle(self, below: float = 0.15, window: float = 1.0, limit: float = 120.0) -> None:
        """Until the server's processes used less than `below` of one core over `window` seconds (at most `limit`)."""
        began = time.monotonic()
        while time.monotonic() - began < limit:
            before = self._cpu()
            await asyncio.sleep(window)
            if (self._cpu() - before) / window < below:
                return

    def _cpu(self) -> float:
        return sum(cpu_seconds(p) for p in [self.tree.api, self.tree.jvm, *self.tree.api.children(recursive=True)])

    async def direct(self, path: Path, params: dict[str, str], content_type: str) -> Measured:
        async def body():
            with open(path, "rb") as f:
                while data := f.read(1 << 20):
                    yield data

        began = time.time()
        answer = await self.http.post("/v1/batches", params={"filename": path.name, **params}, content=body(),
                                      headers={"content-type": content_type})
        if answer.status_code not in (200, 202):
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:500]}")
        batch_id = answer.json()["batch"]["id"]
        while True:
            row = (await self.graph.read(READY, {"id": batch_id}))[0]
            if row["status"] == "failed":
                raise RuntimeError(f"the direct batch failed: {row['error']}")
            if row["ready"]:
                return Measured(time.time() - began, row["accepted"], f"direct overlapped by: {await self.overlapping(began)}")
            await asyncio.sleep(POLL)

    async def job(self, name: str, kind: str, config: dict[str, Any], *extra: str) -> Measured:
        self.cli("jobs", "add", name, "--kind", kind, "--member", MEMBER, "--config", json.dumps(config),
                 "--every", "86400", "--paused", *extra)
        await self.idle()
        job_id = (await self.graph.read("MATCH (j:IngestJob {name: $name}) RETURN j.id AS id", {"name": name}))[0]["id"]
        requested = time.time()
        await jobs_repo.request_run(self.graph, job_id)  # what `fenghuo jobs run` writes, without its process
        while True:
            rows = await self.graph.read(RUN, {"name": name})
            if rows and rows[0]["status"] != "running":
                run = rows[0]
                seconds = time.time() - run["started"]
                if run["status"] != "succeeded":
                    raise RuntimeError(f"the job's run {run['status']}: {run['error']}")
                return Measured(seconds, run["accepted"] or 0,
                                f"run requested → started {run['started'] - requested:.1f} s (the scheduler's poll, not "
                                f"counted); job overlapped by: {await self.overlapping(run['started'])}")
            await asyncio.sleep(POLL)

    async def overlapping(self, since: float) -> str:
        """The housekeeping runs (they keep their own schedules, as run) that overlapped a measurement since `since`."""
        rows = await self.graph.read(OVERLAPPING, {"since": since, "until": time.time()})
        return "; ".join(f"{r['name']} {r['status']} {r['seconds']:.1f} s" for r in rows) or "none"


def _stix(count: int, path: Path) -> list[dict]:
    objects = []
    for n in range(count):
        pattern = f"[x-fenghuo-phone:value = '139{n:08d}']" if n % 2 else f"[ipv4-addr:value = '47.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']"
        objects.append({"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
                        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "pattern": pattern,
                        "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"})
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": objects}))
    return objects


async def taxii_pair(bench: Bench, count: int, backend: tuple[str, str], max_page: int, *, job_first: bool,
                     label: str) -> tuple[float, float]:
    """One direct/job pair (wiped between); returns job/direct and (job − serving)/direct."""
    from tests.jobs.taxii_server import PASSWORD, USER, Medallion, store  # the tests' medallion wrapper

    bundle = bench.work / f"bundle-{count}.json"
    objects = _stix(count, bundle)
    (bench.work / "store.json").write_text(json.dumps(store(objects)))
    password = bench.work / "taxii-password"
    password.write_text(PASSWORD)
    with Medallion(bench.work / "store.json", bench.work, page_size=max_page, backend=backend) as taxii:
        config = {"collection_url": taxii.collection_url(), "username": USER, "timeout_seconds": 600}
        serve_s = time.perf_counter()
        fetched = await asyncio.to_thread(fetch, TaxiiCollection().validate(config, {"password": PASSWORD}),
                                          {"password": PASSWORD}, None)
        serve_s = time.perf_counter() - serve_s
        runs: dict[str, Measured] = {}
        await bench.idle()
        for side in (("job", "direct") if job_first else ("direct", "job")):
            if side == "direct":
                runs[side] = await bench.direct(bundle, {"category": "DEVICE_FARM"}, "application/json")
            else:
                runs[side] = await bench.job(f"bench-taxii-{uuid.uuid4().hex[:8]}", "taxii", config,
                                             "--category", "DEVICE_FARM", "--password-from", str(password))
            await bench.settle()
    direct, job = runs["direct"], runs["job"]
    _report(label + (" (job first)" if job_first else ""), count, direct, job)
    say(f"{'':<6}medallion serving the {len(fetched[0]):,} objects alone (the job's fetch, no ingest): {serve_s:.2f} s; "
        f"(job − serving)/direct {(job.seconds - serve_s) / direct.seconds:.2f}×; {job.note}; {direct.note}")
    return job.seconds / direct.seconds, (job.seconds - serve_s) / direct.seconds


async def drop_pair(bench: Bench, rows: int) -> None:
    csv_path = bench.work / "leads.csv"
    demo.generate(csv_path, rows, seed=7)
    direct = await bench.direct(csv_path, {}, "text/csv")
    await bench.settle()
    folder = bench.work / "drop"
    folder.mkdir()
    shutil.copy(csv_path, folder / "leads.csv")
    os.utime(folder / "leads.csv", (time.time() - 60, time.time() - 60))
    job = await bench.job("bench-drop", "drop_folder", {"path": str(folder), "settle_seconds": 1})
    await bench.settle()
    _report("drop folder", rows, direct, job)
    say(f"{'':<6}{job.note}; {direct.note}")


def _report(what: str, rows: int, direct: Measured, job: Measured) -> None:
    say(f"{what}: {rows:,} rows   direct upload {rows / direct.seconds:>7,.0f} rows/s ({direct.seconds:.2f} s, "
        f"accepted {direct.accepted:,})   job {rows / job.seconds:>7,.0f} rows/s ({job.seconds:.2f} s, accepted "
        f"{job.accepted:,})   job/direct time {job.seconds / direct.seconds:.2f}×   load {load()}")


async def run(args: argparse.Namespace, server: Server, work: Path) -> None:
    bench = Bench(server, work)
    try:
        warmup = work / "warmup.csv"  # the first batch of a fresh JVM pays its warm-up; neither side should
        demo.generate(warmup, 1000, seed=3)
        await bench.direct(warmup, {}, "text/csv")
        await bench.settle()
        say("# after a 1,000-row warm-up upload; the demo's leads wiped with it. TAXII warm-up pair (not counted):")
        await taxii_pair(bench, args.indicators, INDEXED, args.taxii_max_page, job_first=False, label="  warm-up")
        label = f"TAXII, indexed medallion (LABELLED), max_page_size {args.taxii_max_page:,}"
        ratios = [await taxii_pair(bench, args.indicators, INDEXED, args.taxii_max_page, job_first=bool(n % 2),
                                   label=label) for n in range(args.repeat)]
        if ratios:
            say(f"TAXII {args.indicators:,} indicators, {len(ratios)} pairs (order alternating): job/direct time "
                f"geometric mean {statistics.geometric_mean(r[0] for r in ratios):.2f}×, median "
                f"{statistics.median(r[0] for r in ratios):.2f}× [{', '.join(f'{r[0]:.2f}' for r in ratios)}]; "
                f"(job − serving)/direct geometric mean {statistics.geometric_mean(r[1] for r in ratios):.2f}×, median "
                f"{statistics.median(r[1] for r in ratios):.2f}× [{', '.join(f'{r[1]:.2f}' for r in ratios)}]")
        if args.stock_indicators:
            await taxii_pair(bench, args.stock_indicators, STOCK, args.taxii_max_page, job_first=False,
                             label="TAXII, STOCK medallion memory backend")
        if args.rows:
            await drop_pair(bench, args.rows)
    finally:
        await bench.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000, help="drop-folder file rows; 0 skips")
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--taxii-max-page", type=int, default=10_000, help="medallion's max_page_size")
    parser.add_argument("--repeat", type=int, default=6,
                        help="TAXII direct/job pairs, order alternating (keep it even); geometric mean and median printed")
    parser.add_argument("--stock-indicators", type=int, default=1_000, help="indicators served by the stock backend; 0 skips")
    parser.add_argument("--heap", help="override the embedded Neo4j heap (printed)")
    parser.add_argument("--page-cache", help="override the embedded Neo4j page cache (printed)")
    args = parser.parse_args()
    overrides = {k: v for k, v in (("FENGHUO_NEO4J_HEAP", args.heap), ("FENGHUO_NEO4J_PAGE_CACHE", args.page_cache)) if v}
    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-jobs-"))
    say(f"# bench/jobs.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  load {load()}  cpus {os.cpu_count()}")
    server = start_server(work, overrides)
    try:
        say(f"# fenghuo serve as `make run` starts it (scheduler in the same process), up in {server.started_s:.0f} s; "
            f"embedded Neo4j {server.memory_line()}; overrides: {overrides or 'none'}")
        asyncio.run(run(args, server, work))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
