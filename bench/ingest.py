"""Batch-ingest benchmark (DESIGN.md §9): a generated lead file end to end, against a bare UNWIND … MERGE.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--neo4j-uri URI] [--heap 2g] [--page-cache 1g] [--keep]

In one run, on one Neo4j 5.26 (an embedded one of its own in a temp dir, unless --neo4j-uri):

1. end to end, a file of rows/10 through `BatchRunner.submit_file(wait=True)` (spool → worker process
   validation → chunked writes → commit → aggregation), with rows/s, the phase split, CPU seconds and the
   peak RSS of the API process, the worker process and the Neo4j JVM (it also warms the JVM up);
2. the large file's rows pre-normalized by `ingest.prepare.Preparer` in a separate spawned process (timed
   on its own, kept on disk as pickled chunks), then written from that process by a bare
   `UNWIND $rows … CREATE (l:Lead) … MERGE (i:Indicator)` in chunks of 5,000 (the pipeline's chunk size),
   timed alone;
3. end to end, the `--rows` file, measured as in 1;
4. a summary with the targets (≥ 20,000 rows/s end to end, ≥ 0.5× the bare rate, memory flat in file size).

Figures are printed, not asserted: the exit code is 0 unless something crashed.
The database is wiped between phases: do not point --neo4j-uri at a database whose data you want to keep.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/ingest.py` puts bench/ first on sys.path, where this file would shadow the `ingest` package.
_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

# Only the standard library above the main guard: the batch worker is a spawned process that re-imports
# this module as __mp_main__, and its RSS should be what the service's worker costs, not this script's.
import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import MB, free_port, graph_counts, mb, say  # noqa: E402

TARGET_RATE = 20_000  # file rows/s end to end
TARGET_RATIO = 0.5  # end-to-end rate ÷ bare rate
FLAT_FACTOR = 1.25  # "flat": the large file's peak RSS ≤ 1.25 × the small file's (+ 32 MB of noise)
FLAT_SLACK_MB = 32
MEMBER = "BENCH"
HOTLINE = "400-819-6155"
SEED = 7

WIPE = ("MATCH (n) WHERE NOT n:Migration AND NOT n:Member AND NOT (n:Indicator AND n.benign = true) "
        "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS")

# The same lead and indicator properties as graph/leads.py WRITE_CHUNK, without the batch cursor guard,
# the FILED_BY / OPERATED_BY edges, the agent MERGE and the later aggregation pass.
BARE = """
UNWIND $rows AS row
CREATE (l:Lead {id: row.id, batch_id: $batch_id, seq: row.line, member_code: $member_code, category: row.category,
                observed_at: row.observed_at, confidence: row.confidence, tlp: row.tlp, attributed: false,
                agent: row.agent, note: row.note, reference: row.reference, content_hash: row.content_hash,
                status: 'active', created_at: datetime()})
WITH l, row
UNWIND row.indicators AS ind
MERGE (i:Indicator {key: ind.key})
ON CREATE SET i += ind.attrs, i.type = ind.type, i.key_version = $key_version, i.masked = ind.masked,
              i.status = 'active', i.benign = false, i.lead_count = 0
CREATE (l)-[:NAMES]->(i)
"""




def per_k(seconds: float, rows: int) -> str:
    return f"{seconds * 1000 / rows:.2f} s" if rows else "n/a"


def trend(times: list[float]) -> str:
    """Median seconds of the first and last tenth of a sequence of chunk times (does it slow as the graph grows?)."""
    if len(times) < 2:
        return "n/a"
    tenth = max(len(times) // 10, 1)
    return (f"first {tenth} median {statistics.median(times[:tenth]) * 1000:,.0f} ms, "
            f"last {tenth} median {statistics.median(times[-tenth:]) * 1000:,.0f} ms")



# -- memory sampling --------------------------------------------------------------------------------------


@dataclass
class Peaks:
    api: int = 0
    worker: int = 0
    jvm: int = 0
    api_samples: list[int] = field(default_factory=list)
    worker_samples: list[int] = field(default_factory=list)
    worker_cpu: float = 0.0  # last seen user+system seconds of the worker(s)
    samples: int = 0


class RssSampler(threading.Thread):
    """Every `interval` s: RSS of this process, of spawned multiprocessing children (the batch worker) and of
    the Neo4j JVM; peaks kept. Daemon thread, mostly asleep, so it costs the measured run next to nothing."""

    def __init__(self, jvm_pid: int | None, interval: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.jvm = psutil.Process(jvm_pid) if jvm_pid else None
        self.interval = interval
        self.peaks = Peaks()
        self._stop_event = threading.Event()
        self._kinds: dict[int, tuple[Any, bool]] = {}  # pid → (Process, is the batch worker)
        self._worker_cpu: dict[int, float] = {}

    def __enter__(self) -> "RssSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(5)
        self.sample()  # one last sample after the phase

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        p, psutil = self.peaks, self.psutil
        try:
            api = self.me.memory_info().rss
            p.api = max(p.api, api)
            p.api_samples.append(api)
        except psutil.Error:
            pass
        worker_total = 0
        try:
            children = self.me.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            if self.jvm is not None and child.pid == self.jvm.pid:
                continue
            known = self._kinds.get(child.pid)
            if known is None:
                try:
                    cmdline = " ".join(child.cmdline())
                except psutil.Error:
                    continue
                known = (child, "--multiprocessing-fork" in cmdline and "resource_tracker" not in cmdline)
                self._kinds[child.pid] = known
            process, is_worker = known
            if not is_worker:
                continue
            try:
                worker_total += process.memory_info().rss
                cpu = process.cpu_times()
                self._worker_cpu[child.pid] = cpu.user + cpu.system
            except psutil.Error:
                continue
        if worker_total:
            p.worker = max(p.worker, worker_total)
            p.worker_samples.append(worker_total)
        p.worker_cpu = sum(self._worker_cpu.values())
        if self.jvm is not None:
            try:
                p.jvm = max(p.jvm, self.jvm.memory_info().rss)
            except psutil.Error:
                pass
        p.samples += 1


def jvm_thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Per-thread CPU seconds of the JVM by thread id, with the thread's group (Linux /proc; {} elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    threads: dict[int, tuple[str, float]] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return threads
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip().lower()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if name.startswith(("c1 compil", "c2 compil")):
            kind = "JIT"
        elif "gc" in name or name.startswith("g1 "):
            kind = "GC"
        elif name.startswith("neo4j.bolt"):
            kind = "queries"
        else:
            kind = "other"
        threads[int(tid)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return threads


class CpuClock:
    """CPU seconds (user+system) this process and the JVM spent between enter and exit, and the JVM's by
    thread group (queries = Bolt worker threads, GC, JIT compilers, other; threads that ended are missed)."""

    def __init__(self, jvm_pid: int | None) -> None:
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.jvm = psutil.Process(jvm_pid) if jvm_pid else None
        self.api = self.jvm_s = 0.0
        self.jvm_groups: dict[str, float] = {}

    def _read(self, process: Any) -> float:
        try:
            t = process.cpu_times()
            return t.user + t.system
        except self.psutil.Error:
            return 0.0

    def __enter__(self) -> "CpuClock":
        self._api0 = self._read(self.me)
        self._jvm0 = self._read(self.jvm) if self.jvm else 0.0
        self._threads0 = jvm_thread_cpu(self.jvm.pid) if self.jvm else {}
        return self

    def __exit__(self, *exc: object) -> None:
        self.api = self._read(self.me) - self._api0
        self.jvm_s = (self._read(self.jvm) - self._jvm0) if self.jvm else 0.0
        if self.jvm:
            for tid, (kind, seconds) in jvm_thread_cpu(self.jvm.pid).items():
                before = self._threads0.get(tid, (kind, 0.0))[1]
                self.jvm_groups[kind] = self.jvm_groups.get(kind, 0.0) + seconds - before

    def groups(self) -> str:
        order = ("queries", "GC", "JIT", "other")
        return ", ".join(f"{kind} {self.jvm_groups[kind]:.1f}" for kind in order if kind in self.jvm_groups) or "n/a"


# -- phases ------------------------------------------------------------------------------------------------


@dataclass
class Phases:
    """Wall-clock marks inside one submit_file, taken by wrapping the runner's own steps."""

    start: float = 0.0
    process_start: float | None = None  # spooled + batch created; the worker is being started
    first_chunk: float | None = None
    done: float | None = None  # the worker's 'done' message: every chunk written
    aggregate_start: float | None = None  # finish_writing + commit done
    aggregate_end: float | None = None
    end: float = 0.0
    write_s: float = 0.0  # awaiting the Neo4j writes of chunks (write_chunk + progress)
    write_times: list[float] = field(default_factory=list)  # per chunk, in order
    chunks: int = 0
    aggregate_steps: int = 0


def instrument(runner: Any, phases: Phases) -> None:
    """Wrap the runner's steps (instance attributes only; graph/ and ingest/ are untouched)."""
    process_file, write, finish, aggregate = runner._process_file, runner._write, runner._finish, runner.aggregate

    async def timed_process_file(*args: Any, **kwargs: Any) -> Any:
        phases.process_start = time.perf_counter()
        return await process_file(*args, **kwargs)

    async def timed_write(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        if phases.first_chunk is None:
            phases.first_chunk = began
        try:
            return await write(*args, **kwargs)
        finally:
            phases.write_times.append(time.perf_counter() - began)
            phases.write_s += phases.write_times[-1]
            phases.chunks += 1

    async def timed_finish(*args: Any, **kwargs: Any) -> Any:
        phases.done = time.perf_counter()
        return await finish(*args, **kwargs)

    async def timed_aggregate(*args: Any, **kwargs: Any) -> Any:
        phases.aggregate_start = time.perf_counter()
        try:
            return await aggregate(*args, **kwargs)
        finally:
            phases.aggregate_end = time.perf_counter()

    runner._process_file, runner._write = timed_process_file, timed_write
    runner._finish, runner.aggregate = timed_finish, timed_aggregate


@dataclass
class EndToEnd:
    label: str
    rows: int
    file_mb: float
    seconds: float
    batch: dict[str, Any]
    phases: Phases
    peaks: Peaks
    cpu: CpuClock
    leads_in_graph: int
    load: tuple[float, float]  # 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def lead_rate(self) -> float:
        return self.batch["accepted"] / self.seconds


@dataclass
class Bare:
    leads: int
    prepare_s: float
    pickle_mb: float
    seconds: float  # transactions only
    wall_s: float  # transactions + unpickling
    tx_times: list[float]
    peaks: Peaks
    cpu: CpuClock

    @property
    def rate(self) -> float:
        return self.leads / self.seconds


async def wipe(graph: Any) -> float:
    began = time.perf_counter()
    async with graph.driver.session(database=graph.database) as session:  # auto-commit: IN TRANSACTIONS
        await (await session.run(WIPE)).consume()
    return time.perf_counter() - began


async def counts(graph: Any) -> dict[str, int]:
    return await graph_counts(graph, {"leads": "Lead", "indicators": "Indicator"},
                              {"names": "NAMES", "reported": "REPORTED", "co_occurs": "CO_OCCURS"})


async def end_to_end(label: str, graph: Any, key: Any, path: Path, rows: int, spool: Path, jvm_pid: int | None) -> EndToEnd:
    from core.principal import Principal, Role
    from audit.log import AuditLog
    from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks

    audit = AuditLog(graph)
    runner = BatchRunner(graph, audit, key, spool)  # as api/app.py builds it
    phases = Phases()
    instrument(runner, phases)
    principal = Principal(id="key:bench-uploader", member_code=MEMBER, roles=frozenset({Role.UPLOADER}))
    file_mb = path.stat().st_size / MB
    say(f"\n== end to end: {label} file, {rows:,} rows, {file_mb:,.1f} MB ==")
    load0 = os.getloadavg()[0]
    with RssSampler(jvm_pid) as sampler, CpuClock(jvm_pid) as cpu:
        phases.start = time.perf_counter()
        outcome = await runner.submit_file(principal, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
        phases.end = time.perf_counter()
    await audit.flush()
    batch = outcome.batch
    if batch["status"] != "committed":
        raise RuntimeError(f"the {label} batch did not commit: status={batch['status']} error={batch.get('error')}")
    seen = await counts(graph)
    result = EndToEnd(label, batch["rows_total"], file_mb, phases.end - phases.start, batch, phases,
                      sampler.peaks, cpu, seen["leads"], (load0, os.getloadavg()[0]))
    report_end_to_end(result, seen)
    if seen["leads"] != batch["accepted"] or batch["aggregated_seq"] != batch["last_line"] + 1:
        raise RuntimeError(f"the {label} batch is not fully in Neo4j: {seen} vs {batch}")
    return result


def report_end_to_end(r: EndToEnd, seen: dict[str, int]) -> None:
    p, b = r.phases, r.batch
    say(f"rows in file         {r.rows:,}  (accepted {b['accepted']:,}, rejected {b['rejected']:,}, "
        f"skipped {b['skipped']:,}, duplicate {b['duplicate']:,})")
    say(f"end to end           {r.seconds:,.1f} s  →  {r.rate:,.0f} rows/s  ({r.lead_rate:,.0f} lead rows/s)")
    if p.process_start and p.done and p.aggregate_start and p.aggregate_end:
        writing = p.done - p.process_start
        say(f"  spool + batch      {p.process_start - p.start:7.1f} s   (copy + SHA-256 of the upload, create the batch)")
        say(f"  first chunk after  {(p.first_chunk or p.done) - p.process_start:7.1f} s   (worker spawn + first 5,000 rows)")
        say(f"  writing phase      {writing:7.1f} s   ({p.chunks} chunks; {p.write_s:.1f} s awaiting Neo4j writes, "
            f"{writing - p.write_s:.1f} s awaiting the worker)")
        say(f"    per chunk write  {trend(p.write_times)}")
        say(f"  report + commit    {p.aggregate_start - p.done:7.1f} s")
        say(f"  aggregation phase  {p.aggregate_end - p.aggregate_start:7.1f} s")
        say(f"  after aggregation  {p.end - p.aggregate_end:7.1f} s")
    say(f"in Neo4j             {seen['leads']:,} leads, {seen['indicators']:,} indicators, {seen['names']:,} NAMES, "
        f"{seen['reported']:,} REPORTED, {seen['co_occurs']:,} CO_OCCURS")
    pk = r.peaks
    say(f"peak RSS             API process {mb(pk.api)} (median {mb(statistics.median(pk.api_samples)) if pk.api_samples else 'n/a'}), "
        f"worker {mb(pk.worker or None)} (median {mb(statistics.median(pk.worker_samples)) if pk.worker_samples else 'n/a'}), "
        f"Neo4j JVM {mb(pk.jvm or None)}  [{pk.samples} samples]")
    say(f"CPU seconds          API process {r.cpu.api:.1f}, worker ≈{pk.worker_cpu:.1f}, Neo4j JVM {r.cpu.jvm_s:.1f} "
        f"(wall {r.seconds:.1f}, {os.cpu_count()} CPUs; per 1,000 lead rows: API {per_k(r.cpu.api, b['accepted'])}, "
        f"worker {per_k(pk.worker_cpu, b['accepted'])}, JVM {per_k(r.cpu.jvm_s, b['accepted'])})")
    say(f"JVM CPU by thread    {r.cpu.groups()} s")
    say(f"load average         {r.load[0]:.1f} before, {r.load[1]:.1f} after")


def _prepare_rows(path: str, pickled: str, key: Any, benign: frozenset[str]) -> tuple[int, float, float]:
    """In the bare process: pre-normalize the file with the pipeline's Preparer, pickling each chunk's lead rows
    to `pickled` (not held in memory). Returns (lead rows, wall s, CPU s)."""
    from ingest.columns import ColumnError, map_header
    from ingest.formats import open_table
    from ingest.prepare import Preparer
    from ingest.worker import CHUNK_ROWS, detect

    began, cpu0 = time.perf_counter(), time.process_time()
    written = 0
    with open(path, "rb") as raw, open(pickled, "wb") as out:
        table = open_table(raw, detect(Path(path), Path(path).name, None))
        columns = map_header(table.headers)
        if isinstance(columns, ColumnError):
            raise RuntimeError(columns.message)
        preparer = Preparer("bench-bare", key, benign)
        for chunk in preparer.chunks(table.rows, columns, datetime.now(timezone.utc), size=CHUNK_ROWS):
            if chunk.leads:
                pickle.dump(chunk.leads, out, protocol=pickle.HIGHEST_PROTOCOL)
                written += len(chunk.leads)
    return written, time.perf_counter() - began, time.process_time() - cpu0


def _bare_writes(target: Any, database: str, pickled: str, key_version: int) -> tuple[list[float], float, float]:
    """In the bare process: each pickled chunk in its own write transaction of BARE, one after the other.
    Returns (seconds per transaction, wall s including unpickling, CPU s of this process)."""

    async def run() -> tuple[list[float], float, float]:
        from graph.database import Graph

        graph = Graph.connect(target, database)
        tx_times: list[float] = []
        began, cpu0 = time.perf_counter(), time.process_time()
        try:
            with open(pickled, "rb") as f:
                while True:
                    try:
                        rows = pickle.load(f)
                    except EOFError:
                        break

                    async def work(tx: Any) -> None:
                        await (await tx.run(BARE, rows=rows, batch_id="bench-bare", member_code=MEMBER,
                                            key_version=key_version)).consume()

                    t0 = time.perf_counter()
                    async with graph.driver.session(database=graph.database) as session:
                        await session.execute_write(work)
                    tx_times.append(time.perf_counter() - t0)
        finally:
            await graph.close()
        return tx_times, time.perf_counter() - began, time.process_time() - cpu0

    return asyncio.run(run())


async def bare(graph: Any, target: Any, key: Any, path: Path, work_dir: Path, jvm_pid: int | None) -> Bare:
    """The bare baseline, run in a spawned process of its own so the API process's memory figures of the
    end-to-end runs are not inflated by it (its RSS is printed as the bare process's)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from graph import leads as leads_repo
    from ingest.worker import CHUNK_ROWS

    say(f"\n== bare UNWIND … MERGE of the same rows, chunks of {CHUNK_ROWS:,}, from a separate process ==")
    benign = frozenset(await leads_repo.benign_keys(graph))
    pickled = work_dir / "bare-rows.pickle"
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        leads, prepare_s, prepare_cpu = await loop.run_in_executor(pool, _prepare_rows, str(path), str(pickled), key, benign)
        pickle_mb = pickled.stat().st_size / MB
        say(f"pre-normalized       {leads:,} lead rows in {prepare_s:,.1f} s ({leads / prepare_s:,.0f} rows/s, one process, "
            f"{prepare_cpu:.1f} CPU s; not counted below) → {pickle_mb:,.0f} MB of pickled chunks on disk")
        load0 = os.getloadavg()[0]
        with RssSampler(jvm_pid) as sampler, CpuClock(jvm_pid) as cpu:
            tx_times, wall, client_cpu = await loop.run_in_executor(
                pool, _bare_writes, target, graph.database, str(pickled), key.version)
    pickled.unlink(missing_ok=True)
    result = Bare(leads, prepare_s, pickle_mb, sum(tx_times), wall, tx_times, sampler.peaks, cpu)
    seen = await counts(graph)
    say(f"bare writes          {result.seconds:,.1f} s in {len(tx_times)} transactions → {result.rate:,.0f} lead rows/s "
        f"(wall with unpickling {wall:,.1f} s)")
    if tx_times:
        q = sorted(tx_times)
        say(f"  per transaction    p50 {q[len(q) // 2] * 1000:,.0f} ms, p90 {q[int(len(q) * 0.9)] * 1000:,.0f} ms, "
            f"max {q[-1] * 1000:,.0f} ms; {trend(tx_times)}")
    say(f"in Neo4j             {seen['leads']:,} leads, {seen['indicators']:,} indicators, {seen['names']:,} NAMES")
    say(f"peak RSS             bare process {mb(sampler.peaks.worker or None)}, Neo4j JVM {mb(sampler.peaks.jvm or None)}")
    say(f"CPU seconds          bare process {client_cpu:.1f}, Neo4j JVM {cpu.jvm_s:.1f} (wall {wall:.1f}; per 1,000 lead rows: "
        f"client {per_k(client_cpu, leads)}, JVM {per_k(cpu.jvm_s, leads)})")
    say(f"JVM CPU by thread    {cpu.groups()} s")
    say(f"load average         {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    if seen["leads"] != leads:
        raise RuntimeError(f"bare run wrote {seen['leads']} leads, expected {leads}")
    return result


def summary(rows: int, small: EndToEnd, large: EndToEnd, base: Bare) -> None:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    ratio = large.lead_rate / base.rate

    def flat(a: int, b: int) -> bool:
        return b <= a * FLAT_FACTOR + FLAT_SLACK_MB * MB

    say("\n" + "=" * 100)
    say("SUMMARY  fenghuo batch ingest (DESIGN.md §9)")
    say("=" * 100)
    say(f"rows                         {rows:,} ({large.file_mb:,.1f} MB CSV); small file {small.rows:,} ({small.file_mb:,.1f} MB)")
    say(f"end to end                   {large.rate:,.0f} rows/s ({large.seconds:,.1f} s)   "
        f"target ≥ {TARGET_RATE:,}   {verdict(large.rate >= TARGET_RATE)}")
    say(f"bare UNWIND … MERGE          {base.rate:,.0f} lead rows/s ({base.seconds:,.1f} s; pre-normalizing "
        f"took {base.prepare_s:,.1f} s more, not counted)")
    say(f"ratio end to end ÷ bare      {ratio:.2f}  (lead rows/s {large.lead_rate:,.0f} ÷ {base.rate:,.0f})   "
        f"target ≥ {TARGET_RATIO}   {verdict(ratio >= TARGET_RATIO)}")
    say(f"peak RSS API process         small {mb(small.peaks.api)} | large {mb(large.peaks.api)}   "
        f"flat {verdict(flat(small.peaks.api, large.peaks.api))}")
    say(f"peak RSS worker process      small {mb(small.peaks.worker or None)} | large {mb(large.peaks.worker or None)}   "
        f"flat {verdict(flat(small.peaks.worker, large.peaks.worker))}")
    say(f"CPU s per 1,000 lead rows    end to end: JVM {per_k(large.cpu.jvm_s, large.batch['accepted'])}, "
        f"worker {per_k(large.peaks.worker_cpu, large.batch['accepted'])}, API {per_k(large.cpu.api, large.batch['accepted'])}"
        f" | bare: JVM {per_k(base.cpu.jvm_s, base.leads)}")
    if large.cpu.jvm_s and base.cpu.jvm_s:
        jvm_ratio = (base.cpu.jvm_s / base.leads) / (large.cpu.jvm_s / large.batch["accepted"])
        say(f"JVM CPU ratio bare ÷ e2e     {jvm_ratio:.2f}  (Neo4j work per lead row, bare over end to end; "
            f"not a target, a load-insensitive view of the ratio)")
    if large.peaks.jvm:
        say(f"peak RSS Neo4j JVM           small {mb(small.peaks.jvm)} | large {mb(large.peaks.jvm)} | bare {mb(base.peaks.jvm)}")
    say(f"(flat = large ≤ {FLAT_FACTOR} × small + {FLAT_SLACK_MB} MB; rates are wall-clock on {os.cpu_count()} CPUs, "
        f"load average at end {os.getloadavg()[0]:.1f})")
    say("=" * 100)


# -- setup -------------------------------------------------------------------------------------------------


def ensure_file(cache: Path, rows: int) -> Path:
    from ingest import demo

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"leads-{rows}-seed{SEED}.csv"
    if path.exists():
        made = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        say(f"file                 {path} ({path.stat().st_size / MB:,.1f} MB, reused; generated {made})")
        return path
    partial = path.with_suffix(f".csv.part-{os.getpid()}")
    stats = demo.generate(partial, rows, seed=SEED)
    partial.replace(path)
    say(f"file                 {path} ({path.stat().st_size / MB:,.1f} MB, generated in {stats.elapsed_s:.1f} s: "
        f"{stats.dirty_rows:,} dirty rows, {stats.planted_networks} planted networks)")
    return path


async def bench(args: argparse.Namespace, target: Any, jvm_pid: int | None, work_dir: Path) -> None:
    from access import service
    from core.principal import cli_principal
    from audit.log import AuditLog
    from core.settings import Settings
    from graph.database import Graph
    from graph.migrate import migrate
    from ingest.pseudonym import AllianceKey

    key = AllianceKey(version=1, secret=bytes.fromhex("ab" * 32))
    graph = Graph.connect(target)
    try:
        say(f"Neo4j                {await graph.server_version(10)} at {target.uri}")
        await migrate(graph)
        wiped = await wipe(graph)
        audit = AuditLog(graph)
        await service.add_member(graph, audit, cli_principal("bench"), key, code=MEMBER, name=f"{MEMBER} 消费金融",
                                 hotlines=[HOTLINE])
        await audit.flush()
        say(f"setup                migrations applied, database wiped ({wiped:.1f} s), member {MEMBER} added")

        cache = Settings().cache_dir / "bench"
        small_rows = max(args.rows // 10, 1)
        small_path = ensure_file(cache, small_rows)
        large_path = ensure_file(cache, args.rows)
        spool = work_dir / "spool"

        # small first (it also warms the JVM's JIT up), then bare, then large: the bare rows are cheaper to
        # wipe than an aggregated batch, and no wipe is needed after the last phase.
        small = await end_to_end("small", graph, key, small_path, small_rows, spool, jvm_pid)
        say(f"\nwiped                {await wipe(graph):.1f} s")
        base = await bare(graph, target, key, large_path, work_dir, jvm_pid)
        say(f"\nwiped                {await wipe(graph):.1f} s")
        large = await end_to_end("large", graph, key, large_path, args.rows, spool, jvm_pid)
        summary(args.rows, small, large, base)
    finally:
        await graph.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/ingest.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the large file (the small one has rows/10)")
    ap.add_argument("--neo4j-uri", help="use this Neo4j (it is WIPED) instead of starting an embedded one; "
                                        "auth from FENGHUO_NEO4J_USER/FENGHUO_NEO4J_PASSWORD")
    ap.add_argument("--heap", default="2g", help="embedded Neo4j JVM heap (default 2g)")
    ap.add_argument("--page-cache", default="1g", help="embedded Neo4j page cache (default 1g)")
    ap.add_argument("--keep", action="store_true", help="leave the embedded Neo4j running (detached) and its data")
    args = ap.parse_args(argv)
    if args.rows < 10:
        ap.error("--rows must be at least 10")

    import psutil

    from core.settings import Settings
    from graph.database import Target, resolve_target
    from graph.embedded import EmbeddedNeo4j

    work_dir = Path(tempfile.mkdtemp(prefix="fenghuo-bench-ingest-"))
    server = None
    jvm_pid = None
    say(f"fenghuo ingest benchmark: {args.rows:,} rows, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 1024 ** 3:.0f} GiB RAM, load average {os.getloadavg()[0]:.1f}")
    try:
        if args.neo4j_uri:
            target = resolve_target(Settings(neo4j_uri=args.neo4j_uri))
        else:
            server = EmbeddedNeo4j(work_dir / "neo4j-data", free_port(), cache_dir=Settings().cache_dir,
                                   heap=args.heap, page_cache=args.page_cache)
            began = time.perf_counter()
            running = server.start(detached=args.keep)
            jvm_pid = running.pid
            say(f"embedded Neo4j       pid {jvm_pid}, heap {args.heap}, page cache {args.page_cache}, "
                f"started in {time.perf_counter() - began:.1f} s, data in {server.data_dir}")
            target = Target(server.uri, None)
        asyncio.run(bench(args, target, jvm_pid, work_dir))
        return 0
    finally:
        if server is not None and not args.keep:
            server.stop()
            shutil.rmtree(work_dir, ignore_errors=True)
        elif server is not None:
            say(f"\nkept: Neo4j at {server.uri} (pid {jvm_pid}), data in {server.data_dir}; stop it with "
                f"`kill {jvm_pid}` and remove {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
