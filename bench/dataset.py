"""The benchmark's graph, built as a user builds it: `fenghuo demo generate` → `fenghuo upload` to a running
`fenghuo serve` (embedded Neo4j, default settings) → `checksReady`.

The generated file and a snapshot of the server's data directory after the ingest are cached under
~/.cache/fenghuo/bench, keyed by the row count and a hash of the code that builds the graph, so a second run
starts the server on a copy of the snapshot instead of ingesting again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import psutil

from bench.common import free_port, networks_assigned, on_graph, say

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CACHE = Path.home() / ".cache" / "fenghuo" / "bench"
# What decides the ingested graph: the pipeline, the graph writes and migrations, network detection, the generator,
# the upload route, the demo seeding and key handling (not the check path: a new check path reuses the graph).
GRAPH_CODE = ("ingest", "graph", "networks", "api/batches_http.py", "api/demo.py", "access", "psi")
# The check query and the private-check setup's reads write nothing; the setup lives in the serving process's memory.
GRAPH_CODE_SKIP = ("graph/checks.py", "graph/psi.py", "psi/setup.py", "psi/keyset.py")
SNAPSHOT_SKIP = ("neo4j.state.json", "logs", "spool")
# 2: the snapshot is taken once the batch's agent networks are assigned. A snapshot taken at checksReady made every
# server started on it finish the network assignment first (minutes of CPU in the API's event loop at 100k rows),
# under the measurements.
SNAPSHOT_FORMAT = 2
MISS_SHARE = 0.2


def code_hash() -> str:
    digest = hashlib.sha256()
    for root in GRAPH_CODE:
        path = REPO / root
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if (f.is_file() and f.suffix in (".py", ".cypher", ".java", ".xml") and "__pycache__" not in f.parts
                    and str(f.relative_to(REPO)) not in GRAPH_CODE_SKIP):
                digest.update(str(f.relative_to(REPO)).encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def generated_file(rows: int) -> tuple[Path, bool]:
    """The `fenghuo demo generate --rows N` file (seed 7), generated once into the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo-{rows}.csv"
    if path.exists():
        return path, True
    partial = path.with_suffix(".partial.csv")
    began = time.perf_counter()
    subprocess.run([str(VENV_BIN / "fenghuo"), "demo", "generate", "--rows", str(rows), "--out", str(partial)],
                   check=True, stdout=subprocess.DEVNULL, cwd=CACHE)
    partial.rename(path)
    partial.with_name(partial.stem + ".truth.csv").unlink(missing_ok=True)  # ground truth: never uploaded
    say(f"generated            {path} by `fenghuo demo generate --rows {rows}` in {time.perf_counter() - began:.1f} s")
    return path, False


def phones_of(path: Path) -> list[str]:
    """The valid phones the file names (what the pipeline accepts: normalized, de-duplicated)."""
    from ingest.identifiers import Invalid, normalize

    seen: dict[str, None] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            normalized = normalize("phone", row.get("手机号") or "")
            if not isinstance(normalized, Invalid) and normalized.value.startswith("+861"):
                seen[normalized.value[3:]] = None  # as a risk engine sends it: 11 digits
    return list(seen)


def phone_pool(phones: list[str], size: int, seed: int = 11) -> list[str]:
    """`size` phones to check: ~80 % named by the ingested file, ~20 % never (valid mobiles not in it)."""
    from ingest.identifiers import Invalid, normalize

    rng = random.Random(seed)
    known = set(phones)
    pool = []
    for _ in range(size):
        if rng.random() >= MISS_SHARE:
            pool.append(rng.choice(phones))
            continue
        while True:
            miss = f"1{rng.choice('3578')}{rng.randrange(10)}{rng.randrange(100_000_000):08d}"
            if miss not in known and not isinstance(normalize("phone", miss), Invalid):
                break
        pool.append(miss)
    return pool


@dataclass
class Server:
    """`fenghuo serve` as `make run` starts it, on its own data directory; every FENGHUO_ override is listed."""

    data_dir: Path
    overrides: dict[str, str] = field(default_factory=dict)
    serve_args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen | None = None
    tree: list[psutil.Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "serve.log"

    def start(self, timeout: float = 300.0) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
        env.update({"FENGHUO_DATA_DIR": str(self.data_dir), "FENGHUO_PORT": str(self.port), **self.overrides})
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:  # cwd: no stray .env is read
            self.process = subprocess.Popen([str(VENV_BIN / "fenghuo"), "serve", *self.serve_args], env=env, cwd=self.data_dir.parent,
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:  # a server that never answers is stopped here, not left running after the benchmark
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        self.tree = self._process_tree()

    def _process_tree(self) -> list[psutil.Process]:
        """serve and everything it started (its Neo4j first among them)."""
        assert self.process is not None
        api = psutil.Process(self.process.pid)
        return [api, *api.children(recursive=True)]

    def _wait_healthy(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fenghuo serve exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"fenghuo serve did not answer /healthz within {timeout:.0f}s:\n{self.tail()}")

    def settle(self, limit: float = 240.0) -> tuple[float, bool]:
        """Wait until the private-check setup's first build is done and serve and its Neo4j are idle: their CPU
        under 20 % of a core over 2 s. (Idle alone was not enough: twice on 5 Dec a 1M server on a freshly copied
        store, on a loaded machine, looked idle for 2 s while its setup still answered "being built".) Returns the
        seconds waited and whether it went idle."""
        began = time.monotonic()
        key = self.key()
        while time.monotonic() - began < limit:
            try:
                answer = httpx.get(self.url + "/v1/psi/setup", headers={"authorization": f"Bearer {key}"}, timeout=10)
            except httpx.HTTPError:
                answer = None
            if answer is None or answer.status_code == 503:  # "the private-check setup is being built"
                time.sleep(2)
                continue
            before = sum(sum(p.cpu_times()[:2]) for p in self.tree)
            time.sleep(2)
            if sum(sum(p.cpu_times()[:2]) for p in self.tree) - before < 0.4:
                return time.monotonic() - began, True
        return time.monotonic() - began, False

    @property
    def api(self) -> psutil.Process:
        return self.tree[0]

    @property
    def jvm(self) -> psutil.Process | None:
        return next((p for p in self.tree[1:] if "java" in p.name()), None)

    @property
    def bolt_uri(self) -> str:
        state = json.loads((self.data_dir / "neo4j.state.json").read_text())
        return state["uri"]

    def key(self, name: str = "demo-analyst.key") -> str:
        return (self.data_dir / name).read_text().strip()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 90.0) -> None:
        """SIGTERM serve (it stops its Neo4j); anything of its tree still alive afterwards is killed by pid."""
        tree = self.tree
        if not tree and self.process is not None and self.process.poll() is None:  # stopped before it answered
            try:
                tree = self._process_tree()
            except psutil.Error:
                tree = []
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for proc in tree[1:]:
            try:
                proc.kill()
            except psutil.Error:
                pass


def upload(server: Server, path: Path) -> dict:
    """`fenghuo upload FILE --json` with the demo analyst/uploader key: returns the batch report when checksReady."""
    began = time.perf_counter()
    out = server.data_dir.parent / "upload.json"
    with open(out, "wb") as f:
        done = subprocess.run([str(VENV_BIN / "fenghuo"), "upload", str(path), "--json", "--url", server.url,
                               "--key", server.key()], stdout=f, stderr=subprocess.PIPE, cwd=server.data_dir.parent)
    if done.returncode != 0:
        raise RuntimeError(f"fenghuo upload failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
    report = json.loads(out.read_text())
    report["seconds"] = time.perf_counter() - began
    return report


def snapshot_dir(rows: int) -> Path:
    return CACHE / f"graph-{rows}-{code_hash()}-v{SNAPSHOT_FORMAT}"


@contextmanager
def served(rows: int, overrides: dict[str, str], what: str = "default settings") -> Iterator[Server]:
    """`prepare` in a work directory of its own, the graph and the server said; stopped and removed on leaving."""
    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-"))
    server = None
    try:
        server, how = prepare(rows, work, overrides, [])
        say(f"graph                {how}")
        say(f"server               `fenghuo serve` pid {server.api.pid} at {server.url}, {what}; overrides: "
            + ", ".join(f"{k}={v}" for k, v in overrides.items()))
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def prepare(rows: int, work: Path, overrides: dict[str, str], serve_args: list[str]) -> tuple[Server, str]:
    """A running server on a copy of the ingested graph of `rows` rows, its start-up work done; returns it and how
    the graph was made."""
    how = ingested_graph(rows, work, overrides)
    server = serve_copy(rows, work, overrides, serve_args)
    # A fresh server encrypts every privately matchable key for the private-check setup (~0.25 ms of a core per
    # key: ~1 min at 100k rows, several at 1M): the figures are taken after it, not beside it.
    try:
        waited, idle = server.settle(limit=max(240.0, rows / 1000))
    except BaseException:  # interrupted (SIGTERM, Ctrl-C) before the caller holds the server: stop it here
        server.stop()
        raise
    say(f"settled              serve {'idle' if idle else 'STILL BUSY (figures below run beside it)'} after "
        f"{waited:.0f} s (start-up work such as the private-check setup)")
    return server, how


def ingested_graph(rows: int, work: Path, overrides: dict[str, str]) -> str:
    """Ingest `rows` rows through the product into a cached snapshot unless one exists; returns how it was made."""
    path, cached_file = generated_file(rows)
    snapshot = snapshot_dir(rows)
    if not snapshot.exists():
        build = Server(work / "ingest" / "data", overrides)
        say(f"ingest               {rows:,} rows ({path.name}{', cached' if cached_file else ''}) uploaded through "
            "POST /v1/batches (`fenghuo upload`) to a fresh `fenghuo serve` …")
        try:
            build.start()
            report = upload(build, path)
            batch_id = (report.get("batch") or {}).get("id")
            waited = time.perf_counter()
            on_graph(build.bolt_uri, lambda graph: networks_assigned(graph, batch_id))
            say(f"networks             assigned {time.perf_counter() - waited:,.0f} s after checksReady (the server's "
                "after-batch hook; the snapshot waits for it)")
        finally:
            build.stop()
        batch = report.get("batch") or {}
        say(f"ingested             in {report['seconds']:,.0f} s file → checksReady "
            f"({rows / report['seconds']:,.0f} rows/s); accepted {batch.get('accepted')}, rejected {batch.get('rejected')}")
        partial = snapshot.with_name(snapshot.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(build.data_dir, partial, ignore=shutil.ignore_patterns(*SNAPSHOT_SKIP))
        (partial / "bench-ingest.json").write_text(json.dumps({"rows": rows, "seconds": report["seconds"],
                                                               "batch": batch}, default=str))
        partial.rename(snapshot)
        shutil.rmtree(work / "ingest", ignore_errors=True)
        how = f"ingested now through POST /v1/batches in {report['seconds']:,.0f} s; snapshot cached in {snapshot}"
    else:
        meta = json.loads((snapshot / "bench-ingest.json").read_text())
        how = (f"CACHED graph {snapshot} (ingested through POST /v1/batches in {meta['seconds']:,.0f} s by an earlier run, "
               "same ingest code)")
    return how


def serve_copy(rows: int, work: Path, overrides: dict[str, str], serve_args: list[str]) -> Server:
    """`fenghuo serve` started on a copy of the cached snapshot (answering /healthz; its start-up work may go on)."""
    data = work / "serve" / "data"
    snapshot = snapshot_dir(rows)
    shutil.copytree(snapshot, data, ignore=shutil.ignore_patterns("bench-ingest.json"))
    # The copy leaves ~0.9 GB of dirty pages per 100k rows: written back before the server starts, not under the
    # first figures.
    os.sync()
    server = Server(data, overrides, serve_args)
    server.start()
    return server
