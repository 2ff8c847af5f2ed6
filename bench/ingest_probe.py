"""What bench/ingest.py measures around a `fenghuo serve` process tree: RSS and CPU of the API process, its batch
worker(s), its network process(es) (graph/sideprocess.py) and the Neo4j JVM (sampled from outside, as `ps` would), the JVM's CPU by thread group, and an optional
py-spy profile of the API process and its worker."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BATCH_WORKER, NETWORK_PROCESS = "fenghuo-batch", "fenghuo-network"  # ingest/worker.py, api/runtime.py


@dataclass
class Series:
    samples: list[int] = field(default_factory=list)

    def add(self, value: int) -> None:
        if value:
            self.samples.append(value)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)

    @property
    def median(self) -> int:
        return int(statistics.median(self.samples)) if self.samples else 0


@dataclass
class Usage:
    api: Series = field(default_factory=Series)
    worker: Series = field(default_factory=Series)
    networks: Series = field(default_factory=Series)  # the agent-network process, while one runs
    api_and_networks: Series = field(default_factory=Series)  # their sum at each sample: the work the API had held
    jvm: Series = field(default_factory=Series)
    cpu: dict[str, float] = field(default_factory=dict)  # api / worker / networks / jvm CPU seconds over the window


class ProcessTree:
    """The API process of `fenghuo serve` (pid), its spawned children (batch workers, network processes: told apart
    by the names core/children.py gives them), and the JVM it started."""

    def __init__(self, api_pid: int, jvm_pid: int | None) -> None:
        self.api = psutil.Process(api_pid)
        self.jvm = psutil.Process(jvm_pid) if jvm_pid else None

    def children(self, name: str) -> list[psutil.Process]:
        found = []
        for child in self.api.children(recursive=True):
            try:
                if child.name() == name:
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def workers(self) -> list[psutil.Process]:
        return self.children(BATCH_WORKER)

    def networks(self) -> list[psutil.Process]:
        return self.children(NETWORK_PROCESS)


def cpu_seconds(process: psutil.Process | None) -> float:
    try:
        t = process.cpu_times() if process else None
    except psutil.Error:
        return 0.0
    return (t.user + t.system) if t else 0.0


def _rss(process: psutil.Process | None) -> int:
    try:
        return process.memory_info().rss if process else 0
    except psutil.Error:
        return 0


class Sampler(threading.Thread):
    """Every `interval` s: RSS of each part of the tree; CPU seconds of each part between enter and exit
    (a worker's CPU is its last sample: it exits at the end of the batch)."""

    def __init__(self, tree: ProcessTree, interval: float = 0.25) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.tree, self.interval, self.usage = tree, interval, Usage()
        self._stop_event = threading.Event()
        self._worker_cpu: dict[int, float] = {}
        self._network_cpu: dict[int, float] = {}

    def __enter__(self) -> "Sampler":
        self._api0, self._jvm0 = cpu_seconds(self.tree.api), cpu_seconds(self.tree.jvm)
        self._threads0 = jvm_thread_cpu(self.tree.jvm.pid) if self.tree.jvm else {}
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(5)
        self.sample()
        u = self.usage
        u.cpu = {"api": cpu_seconds(self.tree.api) - self._api0, "worker": sum(self._worker_cpu.values()),
                 "networks": sum(self._network_cpu.values()), "jvm": cpu_seconds(self.tree.jvm) - self._jvm0}
        if self.tree.jvm:
            for tid, (kind, seconds) in jvm_thread_cpu(self.tree.jvm.pid).items():
                before = self._threads0.get(tid, (kind, 0.0))[1]
                u.cpu[f"jvm {kind}"] = u.cpu.get(f"jvm {kind}", 0.0) + seconds - before

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        api = _rss(self.tree.api)
        self.usage.api.add(api)
        self.usage.jvm.add(_rss(self.tree.jvm))
        self.usage.worker.add(self._children(self.tree.workers(), self._worker_cpu))
        networks = self._children(self.tree.networks(), self._network_cpu)
        self.usage.networks.add(networks)
        self.usage.api_and_networks.add(api + networks)

    @staticmethod
    def _children(children: list[psutil.Process], cpu_by_pid: dict[int, float]) -> int:
        """Their RSS summed; each one's CPU so far kept by pid (a child's CPU is its last sample: it exits)."""
        total = 0
        for child in children:
            total += _rss(child)
            cpu = cpu_seconds(child)
            if cpu:
                cpu_by_pid[child.pid] = cpu
        return total


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


@dataclass(frozen=True)
class JvmMemory:
    """Where the JVM's resident memory is, at one moment: its heap (committed, and in use), its metaspace, and the
    rest (mostly Neo4j's page cache, which allocates as it loads store pages, up to its size; then thread stacks,
    code cache, GC structures). The store files' size on disk is no measure of the page cache: pages written
    since the last checkpoint are not in the files yet (28 MB of files after 100k leads)."""

    rss: int
    heap_committed: int
    heap_used: int
    metaspace: int

    @property
    def beyond_heap(self) -> int:
        return self.rss - self.heap_committed - self.metaspace


def jvm_memory(pid: int) -> JvmMemory | None:
    """From `jcmd <pid> GC.heap_info` (the JDK's own tool; G1 prints `total …K, used …K`); None when jcmd is
    missing or the JVM does not answer."""
    tool = shutil.which("jcmd")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60).stdout
        rss = psutil.Process(pid).memory_info().rss
    except (OSError, subprocess.TimeoutExpired, psutil.Error):
        return None
    heap = re.search(r"heap\s+total (\d+)K, used (\d+)K", out)
    meta = re.search(r"Metaspace\s+used \d+K, committed (\d+)K", out)
    if not heap:
        return None
    return JvmMemory(rss, int(heap[1]) * 1024, int(heap[2]) * 1024, int(meta[1]) * 1024 if meta else 0)


class Profile:
    """py-spy (the `[bench]` extra) recording the API process and its subprocesses in raw (collapsed) form."""

    def __init__(self, pid: int, out: Path, rate: int = 50) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> str | None:
        beside = Path(sys.executable).with_name("py-spy")  # the venv's, from the [bench] extra
        return str(beside) if beside.exists() else shutil.which("py-spy")

    def __enter__(self) -> "Profile":
        tool = self.available()
        if tool:
            self.process = subprocess.Popen(
                [tool, "record", "--pid", str(self.pid), "--subprocesses", "--rate", str(self.rate), "--nonblocking",
                 "--format", "raw", "--output", str(self.out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def top(self, n: int = 15) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
        """(self time by function, inclusive time by project function, total samples) from the recording."""
        own: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        total = 0
        try:
            lines = self.out.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return [], [], 0
        for line in lines:
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            frames = [f for f in stack.split(";") if f]
            total += samples
            if frames:
                own[_short(frames[-1])] += samples
            for frame in {_short(f) for f in frames if _is_project(f)}:
                inclusive[frame] += samples
        return own.most_common(n), inclusive.most_common(n), total


# py-spy names a frame "function (path:line)", the path shortened to its importable form ("ingest/rows.py").
_PROJECT = re.compile(r"\((?:.*/)?(?:api|ingest|graph|core|audit|networks|check|access|jobs|psi)/[^/]")


def _is_project(frame: str) -> bool:
    return bool(_PROJECT.search(frame)) and "site-packages" not in frame


def _short(frame: str) -> str:
    """'fn (path/to/file.py:12)' → 'fn (file.py)'; py-spy's process/thread frames are kept as they are."""
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})"
