"""Batch-ingest benchmark (issue 14 item 6): ingest as a user runs it, against its floors, in one run on one Neo4j.

    flock /work/bench.lock .venv/bin/python bench/ingest.py [--rows 100000] [--heap 4g] [--page-cache 6g]
                                                           [--profile] [--no-offline]

1. `fenghuo serve` is started as `make run` starts it (default settings: the embedded Neo4j sized `auto`, the
   demo alliance seeded, the scheduler on) in a data directory of its own; --heap/--page-cache override the
   sizing and are printed as overrides.
2. End to end, as a user: a `fenghuo demo generate` file of rows/10, then one of --rows, each `POST /v1/batches`
   with the demo uploader's key (the file streamed as the body), then `GET /v1/batches/{id}` until the batch
   is committed and `checks_ready`. Phases, RSS and CPU of the API process, its batch worker and the Neo4j JVM
   are sampled from outside; --profile records the API process and its worker with py-spy during the large run
   (its figures are then labelled as profiled).
3. The bare floor: the large file's rows pre-normalized once by `ingest.prepare.Preparer` in a spawned process
   (timed apart), then written by a bare `UNWIND $rows … MERGE` in chunks of 5,000 into the same Neo4j.
4. The offline ceiling: the same pre-normalized rows as CSV (leads, distinct indicators, NAMES) through
   `neo4j-admin database import full` (the launcher's own Neo4j 5.26 jars) into an empty database.

Graph state: the leads, batches, indicators (not the benign ones), agents and networks are deleted before each
measured phase; members, keys, the audit chain and the schema stay. Figures are printed, not asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/ingest.py` puts bench/ first on sys.path, where this file would shadow the `ingest` package.
_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

# Only the standard library above the main guard: the bare process is spawned and re-imports this module.
import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import MB, exit_on_sigterm, free_port, graph_counts, mb, networks_assigned, on_graph, say  # noqa: E402

TARGET_RATIO = 0.8  # end-to-end lead rows/s ÷ bare lead rows/s, default settings
FLAT_FACTOR = 1.25  # "flat": the large file's peak RSS ≤ 1.25 × the small file's (+ 32 MB of noise)
FLAT_SLACK_MB = 32
SEED = 7
IMPORT_MAX = 2 * 1024 * MB
FENGHUO = str(Path(sys.executable).with_name("fenghuo"))

# Everything a batch (or a job's batch) leaves behind; members, API keys, the audit chain, benign numbers and migrations stay.
WIPE = ("MATCH (n) WHERE n:Lead OR n:Batch OR n:BatchReport OR n:Agent OR n:Network OR n:JobItem "
        "OR (n:Indicator AND NOT n.benign) "
        "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# -- the server as a user starts it ------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log_path: Path
    started_s: float
    jvm_pid: int
    bolt_uri: str
    token: str

    def memory_line(self) -> str:
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "embedded Neo4j memory:" in line:
                return line.split("embedded Neo4j memory:", 1)[1].strip()
        return "n/a (not in the server log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(work: Path, overrides: dict[str, str]) -> Server:
    import httpx

    data_dir, port = work / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
    env.update({"FENGHUO_DATA_DIR": str(data_dir), "FENGHUO_NEO4J_BOLT_PORT": str(free_port()), **overrides})
    if "FENGHUO_CACHE_DIR" in os.environ:
        env["FENGHUO_CACHE_DIR"] = os.environ["FENGHUO_CACHE_DIR"]
    log_path = work / "serve.log"
    began = time.perf_counter()
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([FENGHUO, "serve", "--port", str(port)], env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    token_file = data_dir / "demo-analyst.key"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"fenghuo serve exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            if token_file.exists() and httpx.get(f"{url}/healthz", timeout=3).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.perf_counter() - began > 900:
            process.kill()
            raise RuntimeError("fenghuo serve did not answer /healthz within 900 s")
        time.sleep(0.5)
    state = json.loads((data_dir / "neo4j.state.json").read_text())
    return Server(process, url, data_dir, log_path, time.perf_counter() - began, state["pid"], state["uri"],
                  token_file.read_text().strip())


# -- end to end ------------------------------------------------------------------------------------------------


@dataclass
class EndToEnd:
    label: str
    rows: int
    file_mb: float
    batch: dict[str, Any]
    upload_s: float  # POST until the 202: body streamed, spooled, hashed, batch created
    first_rows_s: float | None  # until rows_done > 0: worker spawned, first chunk written
    committed_s: float  # until status committed: every chunk written, report saved, commit
    ready_s: float  # until checks_ready: aggregated
    progress: list[tuple[float, int]]
    usage: Any
    counts: dict[str, int]
    load_before: str
    load_after: str
    profile: Any = None
    jvm_at_ready: Any = None  # bench.ingest_probe.JvmMemory at checks_ready, or None
    hook: Any = None  # bench.ingest_probe.Usage from checks_ready until the batch's agent networks are assigned

    @property
    def rate(self) -> float:
        return self.rows / self.ready_s

    @property
    def lead_rate(self) -> float:
        return self.batch["accepted"] / self.ready_s


def _body(path: Path):
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            yield data


def end_to_end(label: str, server: Server, path: Path, rows: int, profile_to: Path | None) -> EndToEnd:
    import httpx

    from bench.ingest_probe import ProcessTree, Profile, Sampler, jvm_memory

    file_mb = path.stat().st_size / MB
    say(f"\n== end to end as a user: {label} file, {rows:,} rows, {file_mb:,.1f} MB → POST /v1/batches → checks_ready ==")
    headers = {"authorization": f"Bearer {server.token}", "content-type": "text/csv"}
    tree = ProcessTree(server.process.pid, server.jvm_pid)
    load_before = load()
    profile = Profile(server.process.pid, profile_to) if profile_to else None
    with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client, Sampler(tree) as sampler:
        if profile:
            profile.__enter__()
        try:
            began = time.perf_counter()
            answer = client.post("/v1/batches", params={"filename": path.name}, content=_body(path))
            upload_s = time.perf_counter() - began
            if answer.status_code not in (200, 202):
                raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:500]}")
            batch_id = answer.json()["batch"]["id"]
            first_rows = committed = None
            progress: list[tuple[float, int]] = []
            while True:
                batch = client.get(f"/v1/batches/{batch_id}").json()
                now = time.perf_counter() - began
                progress.append((now, batch.get("rows_done") or 0))
                if first_rows is None and (batch.get("rows_done") or 0) > 0:
                    first_rows = now
                if batch["status"] == "failed":
                    raise RuntimeError(f"the {label} batch failed: {batch.get('error')}")
                if batch["status"] == "committed" and committed is None:
                    committed = now
                if batch["checks_ready"]:
                    ready = now
                    jvm_at_ready = jvm_memory(server.jvm_pid)
                    break
                time.sleep(0.5)  # the API answers each poll: keep them rare beside the work measured
        finally:
            if profile:
                profile.__exit__(None, None, None)
    seen = on_graph(server.bolt_uri, counts)
    result = EndToEnd(label, batch["rows_total"], file_mb, batch, upload_s, first_rows, committed or ready, ready,
                      progress, sampler.usage, seen, load_before, load(), profile, jvm_at_ready)
    report_end_to_end(result)
    # Agent networks are folded in after checks_ready by the server (a hook, run in a network process the API
    # spawns: graph/sideprocess.py); the next phase waits for them. The API's memory and the network process's are
    # sampled through it: what the API is left holding is in the next file's figures.
    with Sampler(tree) as hook:
        networks_s = on_graph(server.bolt_uri, lambda g: networks_assigned(g, batch_id)) + time.perf_counter() - began
    result.hook = hook.usage
    h = hook.usage
    say(f"networks assigned    {networks_s - ready:,.1f} s after checks_ready (the after-aggregation hook; not in the rate); "
        f"RSS peak: API {mb(h.api.peak)} ({mb(h.api.samples[-1])} when done), network process {mb(h.networks.peak or None)}, "
        f"their sum {mb(h.api_and_networks.peak)}; CPU s: API {h.cpu['api']:.1f}, network process {h.cpu['networks']:.1f}")
    if seen["leads"] != batch["accepted"]:
        raise RuntimeError(f"the {label} batch is not fully in Neo4j: {seen} vs {batch}")
    return result


def report_end_to_end(r: EndToEnd) -> None:
    b, u = r.batch, r.usage
    say(f"rows in file         {r.rows:,}  (accepted {b['accepted']:,}, rejected {b['rejected']:,}, "
        f"skipped {b['skipped']:,}, duplicate {b['duplicate']:,})")
    say(f"end to end           {r.ready_s:,.1f} s  →  {r.rate:,.0f} rows/s  ({r.lead_rate:,.0f} lead rows/s)")
    first = r.first_rows_s or r.committed_s
    say(f"  upload (202)       {r.upload_s:7.1f} s   (stream the body, spool + SHA-256, create the batch)")
    say(f"  first rows         {first - r.upload_s:7.1f} s   (worker spawn, first chunk parsed and written)")
    say(f"  writing → commit   {r.committed_s - first:7.1f} s   (chunks validated by the worker and written; totals, "
        f"report, commit) {_write_trend(r.progress, first, r.committed_s)}")
    say(f"  commit → ready     {r.ready_s - r.committed_s:7.1f} s   (aggregation: REPORTED, counters; "
        f"network hooks)")
    c = r.counts
    say(f"in Neo4j             {c['leads']:,} leads, {c['indicators']:,} indicators, {c['names']:,} NAMES, "
        f"{c['reported']:,} REPORTED")
    say(f"RSS peak (median)    API process {mb(u.api.peak)} ({mb(u.api.median)}), batch worker {mb(u.worker.peak or None)} "
        f"({mb(u.worker.median or None)}), Neo4j JVM {mb(u.jvm.peak)} ({mb(u.jvm.median)})  [{len(u.api.samples)} samples]")
    if (j := r.jvm_at_ready) is not None:
        say(f"JVM at checks_ready  RSS {mb(j.rss)} = heap committed {mb(j.heap_committed)} (in use {mb(j.heap_used)}) "
            f"+ metaspace {mb(j.metaspace)} + {mb(j.beyond_heap)} beyond them (the page cache as it holds store pages, "
            f"threads, code)  [jcmd GC.heap_info]")
    per_k = lambda s: f"{s * 1000 / b['accepted']:.2f}" if b["accepted"] else "n/a"  # noqa: E731
    say(f"CPU seconds          API {u.cpu['api']:.1f}, worker {u.cpu['worker']:.1f}, JVM {u.cpu['jvm']:.1f} "
        f"(per 1,000 lead rows: {per_k(u.cpu['api'])} / {per_k(u.cpu['worker'])} / {per_k(u.cpu['jvm'])}); "
        f"JVM by thread: " + ", ".join(f"{k[4:]} {v:.1f}" for k, v in u.cpu.items() if k.startswith("jvm ")))
    say(f"load average         {r.load_before} before, {r.load_after} after (1/5/15 min)")
    if r.profile is not None:
        own, inclusive, total = r.profile.top()
        if total:
            say(f"py-spy (API process + worker, {total:,} samples at 50 Hz; this run is PROFILED, its rates are lower)")
            say("  self time          " + "\n                     ".join(f"{n * 100 / total:5.1f}%  {f}" for f, n in own[:12]))
            say("  in project code    " + "\n                     ".join(f"{n * 100 / total:5.1f}%  {f}" for f, n in inclusive[:15]))
        else:
            say("py-spy               no samples (is the [bench] extra installed? py-spy needs ptrace rights)")


def _write_trend(progress: list[tuple[float, int]], start: float, end: float) -> str:
    points = [(t, n) for t, n in progress if start <= t <= end]
    if len(points) < 4:
        return ""
    tenth = max(len(points) // 10, 1)
    head, tail = points[:tenth + 1], points[-tenth - 1:]
    rate = lambda ps: (ps[-1][1] - ps[0][1]) / (ps[-1][0] - ps[0][0]) if ps[-1][0] > ps[0][0] else 0  # noqa: E731
    return f"[rows/s first tenth {rate(head):,.0f}, last tenth {rate(tail):,.0f}]"


async def counts(graph: Any) -> dict[str, int]:
    return await graph_counts(graph, {"leads": "Lead", "indicators": "Indicator"},
                              {"names": "NAMES", "reported": "REPORTED"})


async def wipe(graph: Any) -> float:
    from neo4j.exceptions import TransientError

    began = time.perf_counter()
    for attempt in range(10):  # a network hook of the previous batch may still hold locks
        try:
            async with graph.driver.session(database=graph.database) as session:
                await (await session.run(WIPE)).consume()
            break
        except TransientError:
            await asyncio.sleep(1 + attempt)
    return time.perf_counter() - began


# -- the floors ------------------------------------------------------------------------------------------------


@dataclass
class Bare:
    leads: int
    prepared: Any
    seconds: float  # transactions only
    wall_s: float  # transactions + unpickling
    tx_times: list[float]
    client_cpu: float
    usage: Any
    load_before: str
    load_after: str

    @property
    def rate(self) -> float:
        return self.leads / self.seconds


def prepare_and_bare(server: Server, path: Path, out_dir: Path) -> Bare:
    """Pre-normalize once in a spawned process (pickles for the bare writes, CSVs for the import tool), then
    the bare writes from the same process into the server's Neo4j."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from bench import ingest_offline as offline
    from bench.ingest_probe import ProcessTree, Sampler
    from graph import leads as leads_repo
    from ingest.pseudonym import AllianceKey
    from ingest.worker import CHUNK_ROWS

    say(f"\n== bare UNWIND … MERGE of the same rows, pre-normalized, chunks of {CHUNK_ROWS:,}, from a separate process ==")
    key = AllianceKey(version=1, secret=bytes.fromhex("ab" * 32))
    benign = frozenset(on_graph(server.bolt_uri, leads_repo.benign_keys))
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        prepared = pool.submit(offline.prepare_rows, str(path), str(out_dir), key, benign, "DEMO_A").result()
        say(f"pre-normalized       {prepared.leads:,} lead rows, {prepared.indicators:,} distinct indicators, "
            f"{prepared.names:,} NAMES in {prepared.seconds:,.1f} s ({prepared.leads / prepared.seconds:,.0f} rows/s, "
            f"one process, {prepared.cpu_s:.1f} CPU s; not counted in the bare rate) → pickles + CSVs")
        load_before = load()
        with Sampler(ProcessTree(server.process.pid, server.jvm_pid)) as sampler:
            tx_times, wall, client_cpu = pool.submit(offline.bare_writes, server.bolt_uri, "neo4j", str(out_dir),
                                                     "DEMO_A", key.version).result()
    result = Bare(prepared.leads, prepared, sum(tx_times), wall, tx_times, client_cpu, sampler.usage, load_before, load())
    seen = on_graph(server.bolt_uri, counts)
    q = sorted(tx_times)
    say(f"bare writes          {result.seconds:,.1f} s in {len(tx_times)} transactions → {result.rate:,.0f} lead rows/s "
        f"(wall with unpickling {wall:,.1f} s); per transaction p50 {q[len(q) // 2] * 1000:,.0f} ms, "
        f"max {q[-1] * 1000:,.0f} ms")
    say(f"in Neo4j             {seen['leads']:,} leads, {seen['indicators']:,} indicators, {seen['names']:,} NAMES")
    u = sampler.usage
    say(f"RSS peak             Neo4j JVM {mb(u.jvm.peak)}; CPU s: bare client {client_cpu:.1f}, JVM {u.cpu['jvm']:.1f} "
        f"(by thread: " + ", ".join(f"{k[4:]} {v:.1f}" for k, v in u.cpu.items() if k.startswith("jvm ")) + ")")
    say(f"load average         {load_before} before, {result.load_after} after")
    if seen["leads"] != prepared.leads:
        raise RuntimeError(f"bare run wrote {seen['leads']} leads, expected {prepared.leads}")
    return result


def offline_ceiling(out_dir: Path, work: Path, heap: int, page_cache: int, leads: int) -> Any:
    from bench.ingest_offline import offline_import
    from core.settings import Settings
    from graph.embedded import launcher_classpath

    # The server's sizes, at most 2 GiB each: the import runs beside the server's JVM on a shared machine.
    heap_arg, cache_arg = f"{min(heap, IMPORT_MAX) // MB}m", f"{min(page_cache, IMPORT_MAX) // MB}m"
    say(f"\n== offline ceiling: neo4j-admin database import full of the same rows into an empty database "
        f"(heap {heap_arg}, off-heap {cache_arg}) ==")
    load_before = load()
    done = offline_import(launcher_classpath(Settings().cache_dir), out_dir, work / "import-home", heap_arg, cache_arg)
    if done.returncode != 0:
        say(f"import FAILED (exit {done.returncode}):\n{done.output_tail}")
        return None
    say(f"import               {done.seconds:,.1f} s wall with JVM start ({leads / done.seconds:,.0f} lead rows/s); "
        f"the tool's own time {done.tool_seconds if done.tool_seconds is not None else 'n/a'} s; "
        f"{done.nodes or 0:,} nodes, {done.relationships or 0:,} relationships, store {done.store_mb:,.0f} MB")
    say(f"load average         {load_before} before, {load()} after")
    return done


# -- summary and main ----------------------------------------------------------------------------------------------


def summary(args: argparse.Namespace, server: Server, small: EndToEnd, large: EndToEnd, base: Bare,
            ceiling: Any, sizing: str, overrides: dict[str, str]) -> None:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def flat(a: int, b: int) -> bool:
        return b <= a * FLAT_FACTOR + FLAT_SLACK_MB * MB

    ratio = large.lead_rate / base.rate
    say("\n" + "=" * 110)
    say(f"SUMMARY  fenghuo batch ingest as run (issue 14)   {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, load average {load()} (1/5/15 min)")
    say("=" * 110)
    say(f"server               fenghuo serve, {'settings overridden: ' + ', '.join(f'{k}={v}' for k, v in overrides.items()) if overrides else 'default settings'}"
        f"{'; PROFILED with py-spy' if args.profile else ''}")
    say(f"Neo4j memory         {sizing}")
    say(f"file                 {large.rows:,} rows ({large.file_mb:,.1f} MB CSV); small file {small.rows:,} rows")
    say(f"end to end           {large.rate:,.0f} rows/s, {large.lead_rate:,.0f} lead rows/s ({large.ready_s:,.1f} s file → checks_ready)")
    say(f"bare UNWIND … MERGE  {base.rate:,.0f} lead rows/s ({base.seconds:,.1f} s; pre-normalizing {base.prepared.seconds:,.1f} s more, not counted)")
    say(f"ratio e2e ÷ bare     {ratio:.2f}   target ≥ {TARGET_RATIO}   {verdict(ratio >= TARGET_RATIO)}")
    first = large.first_rows_s or large.committed_s
    say(f"where e2e time goes  upload {large.upload_s:.1f} s, worker start + first chunk {first - large.upload_s:.1f} s, "
        f"writing + commit {large.committed_s - first:.1f} s, aggregation {large.ready_s - large.committed_s:.1f} s")
    e2e_jvm, bare_jvm = large.usage.cpu["jvm"] / large.batch["accepted"], base.usage.cpu["jvm"] / base.leads
    say(f"JVM CPU / 1,000 rows e2e {e2e_jvm * 1000:.2f} s, bare {bare_jvm * 1000:.2f} s → bare ÷ e2e {bare_jvm / e2e_jvm:.2f} "
        f"(the ratio's load-insensitive view: the Neo4j work per lead row the product adds)")
    if ceiling is not None:
        offline_rate = base.leads / ceiling.seconds
        say(f"offline ceiling      {offline_rate:,.0f} lead rows/s (neo4j-admin import, {ceiling.seconds:,.1f} s with JVM start; "
            f"no schema indexes, no aggregation)")
        say(f"ratio e2e ÷ ceiling  {large.lead_rate / offline_rate:.3f};  bare ÷ ceiling {base.rate / offline_rate:.3f}")
    else:
        say("offline ceiling      not measured" + (" (--no-offline)" if args.no_offline else " (the import failed, see above)"))
    for name, part in (("API process", "api"), ("batch worker", "worker"), ("Neo4j JVM", "jvm")):
        a, b = getattr(small.usage, part).peak, getattr(large.usage, part).peak
        say(f"RSS peak {name:<13}small {mb(a)} | large {mb(b)}   flat {verdict(flat(a, b))}")
    if small.hook is not None and large.hook is not None:
        a, b = small.hook.api.peak, large.hook.api.peak
        say(f"RSS peak API, hook   small {mb(a)} | large {mb(b)}   flat {verdict(flat(a, b))} (the agent networks after "
            f"checks_ready; when done: {mb(small.hook.api.samples[-1])} | {mb(large.hook.api.samples[-1])})")
        a, b = small.hook.networks.peak, large.hook.networks.peak
        say(f"RSS peak network pr. small {mb(a or None)} | large {mb(b or None)}   flat {verdict(flat(a, b))} (the process "
            f"the hook runs in; it exits when done)")
        a, b = small.hook.api_and_networks.peak, large.hook.api_and_networks.peak
        say(f"RSS peak API + netw. small {mb(a)} | large {mb(b)}   flat {verdict(flat(a, b))} (sampled together: what "
            f"the API process alone held through the hook before it ran in a process of its own)")
    a, b = small.jvm_at_ready, large.jvm_at_ready
    if a is not None and b is not None:
        say(f"Neo4j JVM split      at checks_ready, small | large: heap committed {mb(a.heap_committed)} | "
            f"{mb(b.heap_committed)} (flat {verdict(flat(a.heap_committed, b.heap_committed))}); beyond the heap "
            f"{mb(a.beyond_heap)} | {mb(b.beyond_heap)} (mostly the page cache: it grows with the store, up to its size)")
    say(f"(flat = large ≤ {FLAT_FACTOR} × small + {FLAT_SLACK_MB} MB; rates are wall-clock on {os.cpu_count()} shared CPUs; "
        f"server start with the demo seed took {server.started_s:.0f} s)")
    say("=" * 110)


def ensure_file(cache: Path, rows: int) -> Path:
    """A `fenghuo demo generate` file (cached: same rows and seed, same file)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"leads-{rows}-seed{SEED}.csv"
    if path.exists():
        say(f"file                 {path} ({path.stat().st_size / MB:,.1f} MB, reused)")
        return path
    partial = path.with_suffix(f".part-{os.getpid()}.csv")
    began = time.perf_counter()
    subprocess.run([FENGHUO, "demo", "generate", "--rows", str(rows), "--out", str(partial), "--seed", str(SEED)],
                   check=True, stdout=subprocess.DEVNULL)
    partial.replace(path)
    say(f"file                 {path} ({path.stat().st_size / MB:,.1f} MB, `fenghuo demo generate` in "
        f"{time.perf_counter() - began:.1f} s)")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/ingest.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the large file (the small one has rows/10)")
    ap.add_argument("--heap", help="override FENGHUO_NEO4J_HEAP (default: the product's auto sizing)")
    ap.add_argument("--page-cache", help="override FENGHUO_NEO4J_PAGE_CACHE (default: the product's auto sizing)")
    ap.add_argument("--profile", action="store_true", help="py-spy the API process and its worker during the large run")
    ap.add_argument("--no-offline", action="store_true", help="skip the neo4j-admin import ceiling")
    args = ap.parse_args(argv)
    exit_on_sigterm()
    if args.rows < 10:
        ap.error("--rows must be at least 10")

    import psutil

    from core.settings import Settings
    from graph.sizing import choose

    overrides = {k: v for k, v in (("FENGHUO_NEO4J_HEAP", args.heap), ("FENGHUO_NEO4J_PAGE_CACHE", args.page_cache)) if v}
    say(f"fenghuo ingest benchmark: {args.rows:,} rows, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 1024 ** 3:.1f} GiB RAM, load average {load()}")
    cache = Settings(_env_file=None).cache_dir / "bench"
    small_path, large_path = ensure_file(cache, max(args.rows // 10, 1)), ensure_file(cache, args.rows)
    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-ingest-"))
    server = None
    try:
        server = start_server(work, overrides)
        sizing = choose(args.heap or "auto", args.page_cache or "auto")
        say(f"fenghuo serve        pid {server.process.pid}, {server.url}, up in {server.started_s:.0f} s (Neo4j start, "
            f"migrations, demo seed); JVM pid {server.jvm_pid}")
        say(f"Neo4j memory         {server.memory_line()}")
        say(f"wiped                {on_graph(server.bolt_uri, wipe):.1f} s (the demo seed's leads)")
        small = end_to_end("small", server, small_path, max(args.rows // 10, 1), None)
        say(f"\nwiped                {on_graph(server.bolt_uri, wipe):.1f} s")
        rows_dir = work / "rows"
        rows_dir.mkdir()
        base = prepare_and_bare(server, large_path, rows_dir)
        say(f"\nwiped                {on_graph(server.bolt_uri, wipe):.1f} s")
        large = end_to_end("large", server, large_path, args.rows, work / "py-spy.raw" if args.profile else None)
        ceiling = None if args.no_offline else offline_ceiling(rows_dir, work, sizing.heap, sizing.page_cache, base.leads)
        summary(args, server, small, large, base, ceiling, server.memory_line(), overrides)
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
